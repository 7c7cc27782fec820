// Package lambdaws is the module root of lambdaws, a Go framework for
// WebSocket back ends on AWS API Gateway WebSocket APIs and AWS Lambda.
// It has no code: start with package ws.
//
//   - ws: register handlers, lambda.Start(ws.Handler), send messages.
//   - ws/wstest: the test kit for handlers: a gateway harness, event builders, a recording Sender.
//   - sender: the API Gateway management API client, paced to the account's quota.
//   - connstore: the connection store (memory, DynamoDB) with channels.
//   - connstore/storetest: the contract suite every Store passes.
//   - local: the API Gateway WebSocket emulator for local runs and tests.
//   - local/lambdaenv: Lambda's execution model: pools of environments, in-process
//     handlers, binaries over the Runtime API or go1.x's RPC protocol.
//   - grip: the same handlers behind Pushpin / Fanout.
//   - registry: the route table and route selection shared by ws, local and grip.
//   - cmd/lambdaws: `lambdaws local`, a SAM template's WebSocket API on a laptop.
//   - examples/echo, examples/chat, examples/auth: runnable programs with deploy templates.
//   - integration: end-to-end tests against real components.
//
// Under internal/: apigw (event shapes shared by local and wstest), logs (the
// log field names and Lambda's JSON log format), emf (CloudWatch Embedded
// Metric Format), testenv (test components), peerbench (the peer benchmark).
package lambdaws
