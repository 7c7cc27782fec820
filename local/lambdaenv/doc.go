// Package lambdaenv runs Lambda functions on this machine with Lambda's
// execution model: the Lambda half of the local emulator. Package local's
// Gateway invokes them as API Gateway invokes Lambda, and package local
// documents what differs from AWS.
//
// A [Function] is a pool of execution environments, each running one
// invocation at a time: an invocation that finds every environment busy
// starts a new one, up to Options.Concurrency (default 10); idle
// environments are reused warm, the most recently used first. [New] runs a
// handler in-process, a fresh lambda.NewHandler per environment, so
// environments run in parallel; [NewBinary] runs an unmodified Lambda binary
// (a bootstrap built with aws-lambda-go's lambda.Start, or any custom
// runtime), one process per environment, each served through a Lambda
// Runtime API of its own; [NewRuntime] runs a function of a Node.js or
// Python managed runtime from its code folder the same way, each process
// an interpreter running lambdaws's runtime interface client.
// [Function.Invoke] runs one invocation
// ([Function.InvokeFunc] without holding a goroutine while it waits). An
// invocation that runs past Options.Timeout fails and its environment is
// discarded (a process is killed); a process that exits mid-invocation
// fails it, and the next invocation starts a fresh environment.
// [Function.Reset] retires the environments (after a rebuild),
// [Function.Close] ends them.
//
// # Binaries and the Lambda Runtime API
//
// NewBinary starts each environment as a process of the binary, in its own
// process group and in the binary's directory. Each process has its own
// Lambda Runtime API on a loopback port, named by AWS_LAMBDA_RUNTIME_API,
// which is 127.0.0.1:{port} as on Lambda (runtimes such as npm
// aws-lambda-ric refuse anything else). Only the environment may use it:
// requests with another Host (DNS rebinding) or with headers that browsers
// add (Origin, Referer, Sec-Fetch-*) are refused, and on Linux so are
// connections that do not come from the process or its descendants, found
// through /proc (the socket's inode in /proc/net/tcp, then the process
// holding it). On other systems another local program that finds the port
// could take an invocation. GET /2018-06-01/runtime/invocation/next returns the next event with
// Lambda's Lambda-Runtime-Aws-Request-Id, -Deadline-Ms,
// -Invoked-Function-Arn and -Trace-Id headers; POST
// .../invocation/{id}/response takes the result (202, or 400 for an unknown
// id and 413 over 6 MB) and .../invocation/{id}/error a failure; POST
// /2018-06-01/runtime/init/error reports a failed init. A process gets the
// variables Lambda sets (_HANDLER, LAMBDA_TASK_ROOT,
// AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
// AWS_LAMBDA_FUNCTION_VERSION, the log group and stream, AWS_REGION, TZ=UTC
// and others) but not _LAMBDA_SERVER_PORT (but see go1.x below), then the
// caller's PATH, HOME, AWS credentials, AWS_PROFILE and AWS_ENDPOINT_URL*
// variables, then Options.Env. Its stdout and stderr go to Options.Output
// one whole line at a time, each prefixed with the function's name and ": ".
//
// A failed invocation is an [InvokeError] typed as Lambda types it:
// Sandbox.Timedout (past the timeout; the process is killed),
// Runtime.ExitError (the process exited during the invocation),
// Runtime.InitError (the process exited or did not ask for its first
// invocation within 10 s; an init error it reports keeps the runtime's own
// errorType; the message of a timeout says what the process did instead:
// never called the Runtime API, listens on a TCP port, made other requests,
// or is a Go binary built for go1.x's RPC protocol), Runtime.InvalidEntrypoint (the binary could not be started),
// Function.ResponseSizeTooLarge.
//
// # Node.js and Python
//
// NewRuntime runs Options.Runtime nodejs18.x and later or python3.N with
// Options.Interpreter (default node, python3), in the code folder, which is
// LAMBDA_TASK_ROOT. The interpreter runs a runtime interface client that
// lambdaws embeds (standard library only; written once to
// $XDG_CACHE_HOME/lambdaws/ric-{hash}, found by LAMBDA_RUNTIME_DIR) and that
// behaves as AWS's clients (npm aws-lambda-ric, PyPI awslambdaric): it
// loads _HANDLER, then loops on the Runtime API's /next, so an environment
// stays warm, its module state kept between invocations.
//
// Node.js: Handler "dir/file.a.b" is the export a.b of dir/file (tried as
// is, .js, .mjs, .cjs, then as a package name), loaded with import(), so
// .js files are ES modules under a package.json with "type": "module";
// handlers are async, return a promise or call back (event, context,
// callback), with context.callbackWaitsForEmptyEventLoop as on Lambda
// (callbacks fail from nodejs24.x on, as there). Python: Handler
// "pkg.module.function", LAMBDA_TASK_ROOT first on sys.path, then
// PYTHONPATH; no __pycache__ is written into the code folder
// (PYTHONDONTWRITEBYTECODE). The context objects have Lambda's fields (awsRequestId,
// getRemainingTimeInMillis(), ... / aws_request_id,
// get_remaining_time_in_millis(), ...), _X_AMZN_TRACE_ID is each
// invocation's trace header. A handler's error is reported with its
// errorType, errorMessage and stack; a failed init through
// /runtime/init/error as Runtime.ImportModuleError,
// Runtime.HandlerNotFound, Runtime.UserCodeSyntaxError or
// Runtime.MalformedHandlerName (else the thrown error's type). NODE_PATH
// folders (in Options.ExtraEnv) serve ES modules' bare imports too, after
// the code's own node_modules: the AWS SDK that Lambda's Node.js runtimes
// provide can be supplied that way, and boto3 through PYTHONPATH.
//
// Logs are written as Lambda's runtimes write them: Node.js's console.*
// as "{timestamp}\t{requestId}\t{LEVEL}\t{message}", Python's logging as
// "[LEVEL]\t{timestamp}\t{requestId}\t{message}" (the root logger at
// WARNING unless AWS_LAMBDA_LOG_LEVEL says otherwise, as on Lambda); with
// AWS_LAMBDA_LOG_FORMAT=JSON as JSON objects with timestamp, level,
// message and requestId, filtered by AWS_LAMBDA_LOG_LEVEL. Unlike Lambda,
// a message's newlines stay newlines (Lambda turns them into \r), for
// terminals.
//
// # The go1.x protocol
//
// With Options.Runtime "go1.x", NewBinary runs the binary as AWS's go1.x
// runtime did, for functions built with aws-lambda-go before v1.18, which
// speak nothing else: instead of AWS_LAMBDA_RUNTIME_API a process gets
// _LAMBDA_SERVER_PORT, a loopback port on which aws-lambda-go serves net/rpc,
// and AWS_EXECUTION_ENV=AWS_Lambda_go1.x. Its init ends when Function.Ping
// answers there; each invocation is a call of Function.Invoke with
// aws-lambda-go's messages.InvokeRequest (payload, request id, trace id,
// deadline, function ARN), answered by a messages.InvokeResponse whose Error
// becomes the InvokeError. A panic (the response's ShouldExit) ends the
// process, as the go1.x runtime ended it. Timeouts, exits, init failures and
// the response limit are as above, the init timeout message naming the RPC
// protocol; a response is refused as soon as it exceeds the limit on the
// connection, not once read. A connection that breaks during an invocation
// (closed, or carrying what is not an answer) fails it at once with
// Runtime.Unknown and the process is replaced.
package lambdaenv
