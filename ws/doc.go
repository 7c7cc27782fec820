// Package ws is the user-facing API of lambdaws: WebSocket back ends on AWS
// API Gateway WebSocket APIs and AWS Lambda, written as plain functions.
//
// Register handlers, then hand [Handler] to lambda.Start:
//
//	ws.OnConnect(func(ctx context.Context, req *ws.Request) error {
//		if req.Query("token") == "" {
//			return ws.Reject(http.StatusUnauthorized, "missing token")
//		}
//		return nil
//	})
//	ws.OnMessage(func(ctx context.Context, req *ws.Request) error {
//		return ws.Reply(ctx, req.Body)
//	})
//	lambda.Start(ws.Handler)
//
// Or embed [Server] in a struct, override the methods you need and
// [Register] a pointer to it. [Router] is the explicit form of the
// package-level functions, for tests and for several APIs in one binary.
//
// [AfterConnect] registers a handler that runs right after a connection
// opened, for welcome messages, which $connect cannot send: the function
// invokes itself asynchronously (docs/afterconnect.md in the repository).
//
// Handlers send with [SendMessage], [Reply], [Close], [Info] and
// [Broadcast], through a [Sender]: on API Gateway a *sender.Client for the
// endpoint found from the event, with no configuration; [Router.Sender] and
// [ContextWithSender] choose another (package grip, tests, a worker outside a
// handler). [Channels] groups connections so that one call reaches a group.
//
// Outcomes: a handler returning nil answers 200; [Reject] answers its
// status; any other error, or a panic, answers 500 and is logged through
// log/slog with the connection id, route and request id (in Lambda's JSON
// log format when AWS_LAMBDA_LOG_FORMAT is JSON: see [Router.Logger]), never
// the message body and never sending the error's text to the client; the
// cause of a DecodeJSON rejection is logged the same way. With
// [Router.MetricsNamespace] or POWERTOOLS_METRICS_NAMESPACE set, each
// invocation also prints its metrics as one CloudWatch Embedded Metric Format
// document on stdout. Without an
// OnConnect handler $connect is accepted (200), as API Gateway accepts a
// connection when the API has no $connect route; without an OnDisconnect
// handler $disconnect is answered 200. A router with handlers but none that
// receives messages (no $default handler and no custom route) is
// misconfigured: [Router.Validate] says how to fix it, and Handler answers 500
// until fixed.
package ws
