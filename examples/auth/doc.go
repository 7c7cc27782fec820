// Command auth is a WebSocket API whose $connect is guarded by a Lambda
// REQUEST authorizer written with ws.Authorizer (package authorizer, next to
// it): a client connects with ?token=..., the authorizer maps the token to a
// user, and every handler reads that user through ws.Request.AuthorizerContext.
// Each message is answered with "USER: MESSAGE".
//
// Both functions run in AWS Lambda behind API Gateway (template.yaml), or on
// this machine, built from source and served as deployed:
//
//	go run ./cmd/lambdaws local --template examples/auth/template.yaml
//	wscat -c 'ws://127.0.0.1:8080/?token=demo-token'
package main
