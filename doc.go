// Package lambdaws is the module root of lambdaws, a Go framework for
// WebSocket back ends on AWS API Gateway WebSocket APIs and AWS Lambda.
// It has no code: start with package ws.
//
//   - ws: register handlers, lambda.Start(ws.Handler), send messages.
//   - sender: the API Gateway management API client.
//   - connstore: the connection store (memory, DynamoDB) with channels.
//   - local: the API Gateway WebSocket emulator for local runs and tests.
//   - grip: the same handlers behind Pushpin / Fanout.
//   - registry: the route table and route selection shared by ws, local and grip.
package lambdaws
