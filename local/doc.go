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
// two-way. Concurrent messages, also from one connection, run on separate
// environments, so a connection's messages may be invoked and answered in
// another order than the client sent them; AWS does not guarantee that order
// either.
// An Options.Authorizer is a Lambda REQUEST authorizer on $connect.
//
// # What it copies from AWS
//
//   - $connect runs before the handshake completes: a 2xx status accepts
//     (with the Sec-WebSocket-Protocol header the handler returned, never
//     negotiated by the gateway), another status refuses the handshake with
//     that status and the response body, a failed invocation (error, panic,
//     output that is not JSON, timeout) refuses it with 502. Without a
//     $connect route every handshake is accepted. A handshake that cannot
//     succeed (bad Sec-WebSocket-Key or version, not GET) is refused before
//     anything runs.
//   - The authorizer: identity sources missing or empty → 401 without
//     invoking it; its event has type REQUEST, methodArn
//     arn:aws:execute-api:{region}:123456789012:{apiId}/{stage}/$connect, the
//     handshake's headers and query, the stage variables and $connect's
//     requestContext; its events.APIGatewayCustomAuthorizerResponse is read
//     as API Gateway does: the error "Unauthorized" → 401, a policy that
//     denies or does not allow execute-api:Invoke on methodArn → 403, any
//     other failure, a response over 8 KB or a context value that is not a
//     string, number or boolean → 500. The principalId and context become
//     requestContext.authorizer on $connect and every later event.
//   - Events carry the fields API Gateway sends (package internal/apigw
//     builds them): 16-character ids such as "R1kmxc2VNjMCFIA=", connectedAt
//     and requestTimeEpoch in ms, requestTime in UTC Common Log Format,
//     messageId on MESSAGE only, handshake headers and query parameters on
//     CONNECT only, the stub headers and disconnectStatusCode /
//     disconnectReason on DISCONNECT, the stage variables on every event.
//     domainName is the gateway's own address (the local end of the client's
//     connection, 127.0.0.1 on the same port for a listener on every
//     interface), never the client's Host header, so a client cannot
//     redirect the handlers' management API calls.
//   - Route selection evaluates Options.RouteSelectionExpression with package
//     registry; unmatched or non-JSON messages go to $default, and without
//     $default the client receives {"message": "Forbidden", ...}. A failed
//     invocation sends {"message": "Internal server error", ...}; one that
//     API Gateway stops waiting for after 29 s (queue time included) sends
//     {"message": "Endpoint request timed out", ...}. A two-way route sends
//     a non-empty response body back.
//   - Limits: a binary message closes the connection with 1003, a frame over
//     32 KB or a message over 128 KB with 1009, no message for
//     Options.IdleTimeout (10 min) or Options.MaxLifetime (2 h) with 1001.
//     $disconnect runs once, after the connection closed, with the close code
//     and reason of the side that closed first (the client's even when the
//     gateway closes just after the client's close handshake), 1002 after a
//     protocol error, or 1006 for a dropped connection.
//   - Management API: POST sends the body as a text frame (413 over 131072
//     bytes), GET returns connectedAt / identity / lastActiveAt, DELETE closes
//     the connection (204) once the frames already accepted are written, as
//     do timeouts and Close. Unknown and closed ids, and ids still in
//     $connect, give 410 GoneException. Errors carry X-Amzn-ErrorType and a
//     JSON {"__type", "message"} body, which the SDKs turn into typed errors.
//
// # Where it still differs from AWS
//
//   - A Function's environments share the process (in-process) or the
//     machine (binaries): lambdaenv.Options.MemorySize is not enforced, there
//     is no freezing between invocations and no cold-start delay beyond the
//     process's own start, and idle environments live until Function.Reset
//     or Close.
//   - A binary's AWS_LAMBDA_RUNTIME_API is 127.0.0.1:{port}/{secret}, not
//     host:port alone: a runtime that keeps only its host and port, rather
//     than appending the API's paths as aws-lambda-go and curl-based
//     bootstraps do, is refused (404).
//   - What a binary's process started ends with it, as the sandbox is reset:
//     its process group, and on Linux the processes that left the group
//     (setsid) but descend from it or kept its AWS_LAMBDA_LOG_STREAM_NAME. On
//     other systems those survive, and a process that both left the tree
//     and cleared its environment survives everywhere.
//   - lambdaenv.Options refuse what Lambda refuses (reserved variable names,
//     Timeout over 15 min, MemorySize outside 128–10240), and also
//     _LAMBDA_SERVER_PORT in Env, but accept a Timeout under Lambda's
//     minimum of 1 s, for tests.
//   - Binaries have no Extensions API (aws-lambda-go's
//     lambda.WithEnableSIGTERM only logs a warning) and no response
//     streaming; LAMBDA_RUNTIME_DIR and the working directory are the
//     binary's directory rather than /var/runtime and /var/task.
//   - A go1.x function (lambdaenv.Options.Runtime) still runs, though AWS
//     retired that runtime. lambdaenv picks its _LAMBDA_SERVER_PORT and
//     closes it before the process listens there, so another program could
//     take the port in between (the init then fails); its response is read
//     whole before the 6 MB limit is checked.
//   - An in-process handler that outlives its timeout keeps its goroutine
//     until it returns (its environment is never used again); a process is
//     killed. A handler given as a lambda.Handler value (rather than the
//     function lambda.Start takes) runs one invocation at a time, so one that
//     hangs makes every later invocation time out until it returns.
//   - $disconnect does not wait for the connection's messages still being
//     invoked; on AWS it is best-effort and unordered too.
//   - An invocation that finds every environment busy waits, in arrival
//     order and up to the 29 s integration timeout, instead of being
//     throttled with 429. A connection's reader stops reading while its
//     messages in flight (invoked or waiting) reach 32 or 1 MiB of bodies.
//   - Ping and pong frames do not reset the idle timer (unverified on AWS).
//   - The WebSocket endpoint answers on every path, not only /{stage}; there
//     is no SigV4 check on the management API, no IAM or Cognito
//     authorization, no authorizer result caching (WebSocket APIs have none
//     either), no throttling, custom domain or API mapping. Origins are not
//     checked.
//   - DeleteConnection closes with 1000 and an empty reason; the code AWS
//     sends is not documented. Close reasons for 1003 and 1009 are the
//     emulator's own. The status of a $connect that times out is 502 (AWS's
//     is unverified).
//   - Frames queued for a client that does not read: beyond 128 frames or
//     1 MiB PostToConnection answers 429 LimitExceededException ("client side
//     buffer is full") instead of blocking. Options.FaultRate makes a share
//     of all management API calls fail with 429 or 500, to exercise retries. A close waits at most 5 s for the
//     queue to drain.
//   - A $connect response without statusCode (for example JSON null) is
//     treated as 200.
//   - Each invocation gets a new X-Ray trace header (Lambda-Runtime-Trace-Id,
//     and "x-amzn-trace-id" in an in-process handler's context), never
//     sampled: there is no X-Ray, and API Gateway's own trace segment is not
//     emulated, so the trace does not start at the client's request.
//   - Listen and ListenAndServe bind 127.0.0.1 unless given an explicit host.
//   - Plain HTTP (ws://, http://) is served, and is the only scheme unless
//     Options.TLS is set; then Serve serves TLS on the same port too, with
//     the caller's certificate (lambdaws local's comes from a local CA).
//     AWS serves TLS only.
//   - Slow clients: a request's body must arrive within 10 s of its
//     headers, unless it is a handshake without one (a PostToConnection
//     whose body does not is refused with 400 BadRequestException); the
//     connection is then closed. Serve also gives headers 10 s, closes an
//     HTTP connection idle between requests after 2 min, and when stopping
//     closes those with a request still running after 5 s. A Fallback that
//     reads longer bodies can extend its request's deadline with
//     http.NewResponseController(w).SetReadDeadline.
//
// The lambdaws command (cmd/lambdaws) builds a Gateway from a SAM template:
// its stage, stage variables, routes and authorizer, and its functions run
// with lambdaenv.NewBinary (Go functions built from source).
//
// Roadmap: throttling (429 from a Function at its concurrency).
package local
