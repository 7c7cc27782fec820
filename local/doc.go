// Package local emulates an API Gateway WebSocket API in front of Lambda
// functions, with Lambda's execution model, so that the code deployed to AWS
// runs unchanged on a laptop and in tests, and what passes here passes there.
//
// A [Gateway] is an http.Handler. WebSocket clients connect to it (on any
// path); each connection, message and disconnection becomes an
// events.APIGatewayWebsocketProxyRequest marshalled to JSON and passed to the
// route's [lambdaenv.Function], exactly as Lambda would, and the JSON
// events.APIGatewayProxyResponse it returns is interpreted as API Gateway
// does. The same address serves the management API at
// /{stage}/@connections/{connectionId}, so the real aws-sdk-go-v2
// apigatewaymanagementapi client works against http://{host}/{stage}:
//
//	err := local.ListenAndServe(ctx, "", ws.Handler, nil) // ws://127.0.0.1:8080
//
// # The model
//
// Each route is served by a [lambdaenv.Function], a pool of execution
// environments with Lambda's execution model: in-process handlers
// (lambdaenv.New) or unmodified Lambda binaries served through the Lambda
// Runtime API (lambdaenv.NewBinary). Package lambdaenv documents them.
//
// Options.Routes maps route keys to Functions, one-way or two-way each; by
// default New's handler serves $connect, $disconnect and $default, all
// one-way as on AWS without a route response (two-way is Route.TwoWay).
// Concurrent messages, also from one connection, run on separate
// environments, so a connection's messages may be invoked and answered in
// another order than the client sent them; AWS does not guarantee that order
// either. An Options.Authorizer is a Lambda REQUEST authorizer on $connect
// (see [Authorizer]).
//
// # How close to AWS
//
// The emulator copies what API Gateway and Lambda do wherever it is
// documented or was observed: the events' fields, route selection, the
// authorizer's policy evaluation, status codes, limits, close codes,
// timeouts and the management API's errors. Where AWS's behaviour is
// undocumented it chooses the safe behaviour. Both lists, what it copies
// and where it differs, are in AWS.md in the package's directory
// (https://github.com/lambdaws/lambdaws/blob/main/local/AWS.md).
//
// The same address serves the Lambda Invoke API to this machine's processes
// (POST /2015-03-31/functions/{name}/invocations, for the Functions of the
// routes, the authorizer and Options.Functions), so functions that invoke
// each other, and ws.AfterConnect's asynchronous self-invocation, work
// unchanged: a function serving the Gateway's events finds it from their
// requestContext.domainName, the Gateway's own loopback address.
//
// With Options.Inspector, which the lambdaws command sets, the Gateway
// publishes its connections, frames, invocations and management API calls
// to bounded rings and serves a page showing them live at /@inspector/, to
// this machine's browser only (inspect.go; docs/inspector.md in the
// repository).
//
// The lambdaws command (cmd/lambdaws) builds a Gateway from a SAM template:
// its stage, stage variables, routes and authorizer, and its functions run
// with lambdaenv.NewBinary (Go functions built from source).
package local
