// Command chat is a multi-channel chat server written with lambdaws: a struct
// embedding ws.Server, a connection store with channels, and a browser page.
//
// Inside AWS Lambda (AWS_LAMBDA_RUNTIME_API is set) it serves API Gateway's
// events; anywhere else it serves the same handlers behind the local API
// Gateway emulator, with the chat page at GET / on the same address:
//
//	go run ./examples/chat                  # ws://127.0.0.1:8080/, page http://127.0.0.1:8080/
//	go run ./examples/chat -addr :9000
//
// Connections are kept in memory unless CONNECTIONS_TABLE names a DynamoDB
// table. The AWS SDK's usual configuration applies (AWS_REGION, credentials,
// AWS_ENDPOINT_URL_DYNAMODB for a local DynamoDB); -create-table or
// CREATE_TABLE=1 creates the table first:
//
//	CONNECTIONS_TABLE=chat AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 go run ./examples/chat -create-table
package main
