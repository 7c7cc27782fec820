// Package local emulates an API Gateway WebSocket API in front of a Lambda
// handler, so that the code deployed to AWS runs unchanged on a laptop and in
// tests.
//
// A [Gateway] is an http.Handler. WebSocket clients connect to it (on any
// path); each connection, message and disconnection becomes an
// events.APIGatewayWebsocketProxyRequest marshalled to JSON and passed to a
// lambda.Handler, exactly as Lambda would, and the JSON
// events.APIGatewayProxyResponse it returns is interpreted as API Gateway
// does. The same address serves the management API at
// /{stage}/@connections/{connectionId}, so the real aws-sdk-go-v2
// apigatewaymanagementapi client works against http://{host}/{stage}:
//
//	h := lambda.NewHandler(ws.Handler)
//	err := local.ListenAndServe(ctx, "", h, nil) // ws://127.0.0.1:8080
//
// What it copies from AWS:
//
//   - $connect runs before the handshake completes: a 2xx status accepts
//     (with the Sec-WebSocket-Protocol header the handler returned, never
//     negotiated by the gateway), another status refuses the handshake with
//     that status and the response body, a failed invocation (error, panic,
//     output that is not JSON, 29 s timeout) refuses it with 502. Without a
//     $connect route every handshake is accepted.
//   - Events carry the fields API Gateway sends: 16-character ids such as
//     "R1kmxc2VNjMCFIA=", connectedAt and requestTimeEpoch in ms, requestTime
//     in UTC Common Log Format, messageId on MESSAGE only, handshake headers
//     and query parameters on CONNECT only, the stub headers and
//     disconnectStatusCode / disconnectReason on DISCONNECT. domainName is
//     the gateway's own address (the local end of the client's connection,
//     127.0.0.1 on the same port for a listener on every interface), never
//     the client's Host header, so a client cannot redirect the handlers'
//     management API calls.
//   - Route selection evaluates Options.RouteSelectionExpression with package
//     registry; unmatched or non-JSON messages go to $default, and without
//     $default the client receives {"message": "Forbidden", ...}. A failed
//     invocation sends {"message": "Internal server error", ...}. A non-empty
//     response body is sent back (two-way routes; see Options.OneWay).
//   - Limits: a binary message closes the connection with 1003, a frame over
//     32 KB or a message over 128 KB with 1009, no message for
//     Options.IdleTimeout (10 min) or Options.MaxLifetime (2 h) with 1001.
//     A handshake that cannot succeed (bad Sec-WebSocket-Key or version, not
//     GET) is refused before $connect runs. $disconnect runs once, after the
//     connection closed, with the close code and reason (the client's, the
//     gateway's, 1002 after a protocol error, or 1006 for a dropped
//     connection).
//   - Management API: POST sends the body as a text frame (413 over 131072
//     bytes), GET returns connectedAt / identity / lastActiveAt, DELETE closes
//     the connection (204) once the frames already accepted are written, as
//     do timeouts and Close. Unknown and closed ids, and ids still in
//     $connect, give 410 GoneException. Errors carry X-Amzn-ErrorType and a JSON
//     {"__type", "message"} body, which the SDKs turn into typed errors.
//
// Where it deliberately differs from AWS:
//
//   - Invocations run one at a time, as in a single Lambda instance, so the
//     messages of a connection are handled in arrival order; API Gateway
//     invokes concurrently and Lambda scales out. (Running them in parallel
//     is not possible with aws-lambda-go v1.54.0: the Invoke method of
//     lambda.NewHandler returns a slice of a pooled buffer that it has
//     already put back for the next Invoke to overwrite; aws/aws-lambda-go
//     pull request 639 fixes it.) Time spent waiting
//     for the previous invocation counts against the 29 s timeout.
//     Connections themselves (reads, writes, the management API) are served
//     in parallel.
//   - Ping and pong frames do not reset the idle timer (unverified on AWS).
//   - Routes are two-way unless Options.OneWay is set; a deployed route only
//     returns the body if it has a route response.
//   - The WebSocket endpoint answers on every path, not only /{stage}, and
//     there is no authentication, authorizer, SigV4 check, throttling, custom
//     domain or API mapping. Origins are not checked.
//   - DeleteConnection closes with 1000 and an empty reason; the code AWS
//     sends is not documented. Close reasons for 1003 and 1009 are the
//     emulator's own.
//   - Frames queued for a client that does not read: beyond 128 frames or
//     1 MiB PostToConnection answers 429 LimitExceededException ("client side
//     buffer is full") instead of blocking. A close waits at most 5 s for the
//     queue to drain.
//   - A $connect response without statusCode (for example JSON null) is
//     treated as 200.
//   - ListenAndServe binds 127.0.0.1 unless given an explicit host.
//
// Roadmap: run unmodified Lambda binaries through the Lambda Runtime API
// (AWS_LAMBDA_RUNTIME_API); Lambda authorizers on $connect with their
// context repeated on later events; concurrent invocations for handlers
// that allow them; stage variables; throttling.
package local
