// Command lambdaws is the lambdaws command line. lambdaws version prints
// its module version and VCS revision. Its main subcommand,
// lambdaws local, serves the WebSocket API of an AWS SAM or CloudFormation
// template on this machine, with the functions as they are deployed:
//
//	go install github.com/lambdaws/lambdaws/cmd/lambdaws@latest # in a clone: go install ./cmd/lambdaws
//	lambdaws local [--template FILE] [--addr HOST:PORT] [--parameter-overrides 'K=V K2=V2']
//	               [--env-vars FILE.json] [--api LOGICAL_ID] [--log-format text|json]
//	               [--dynamodb local|URL|aws] [--dynamodb-dir DIR] [--create-tables] [--inspect=false]
//
// It reads the template (default .aws-sam/build/template.yaml after sam
// build, else template.yaml, else template.yml): the WebSocket API (AWS::ApiGatewayV2::Api with
// its routes, integrations, authorizer, route responses and stage, or
// AWS::Serverless::WebSocketApi), the functions its routes and authorizer
// invoke, and the DynamoDB tables; parameters take their Default or
// --parameter-overrides, and intrinsic functions are resolved. What it
// cannot resolve where it matters is an error naming the resource and
// property; in environment variables it is empty, with a warning, and
// --env-vars (SAM CLI's JSON format) overrides it.
//
// A Go function (Metadata BuildMethod go1.x, or Go source in CodeUri) is
// built with go build for this machine into the user's cache folder (the
// functions at once, as many as the machine has cores; folders of functions
// not built for 30 days are removed), and rebuilt when its sources change (polling the *.go files of its packages
// outside the module cache, and go.mod / go.sum): new execution environments
// run the new binary, a build error is printed and the last good binary keeps
// serving. A function whose CodeUri holds a bootstrap runs it as is.
//
// Node.js (nodejs18.x and later) and Python (python3.x) functions run on
// this machine's interpreter through the runtime interface clients of
// package lambdaenv: the runtime's version when installed (node22,
// python3.12 on PATH, or a pyenv version providing it), else node /
// python3, with a warning; an older python3.x takes the nearest version
// Lambda runs. Each candidate is run once, outside the function's CodeUri,
// to learn its real path and version, so that a version manager's shim (and
// a .python-version in CodeUri naming a Python that is not installed) never
// stands between lambdaws and the interpreter. The start-up lines say which
// interpreter serves which function. What the runtime provides is made
// importable as on Lambda: the @aws-sdk/* packages a Node.js function's
// sources import and its node_modules lack are installed with npm at the
// pinned version nodeSDKVersion (each at the newest version not above it),
// once per set of packages, into the cache folder lambdaws/sdk/node, then
// passed as NODE_PATH; boto3 is what the interpreter imports, else Debian's
// python3-boto3 (/usr/lib/python3/dist-packages, as PYTHONPATH) when its
// Python version matches, else an error saying how to install it.
//
// Builds are sam build's, into the cache folder lambdaws/build, never into
// CodeUri: Metadata BuildMethod makefile runs make build-<LogicalId> in
// CodeUri with ARTIFACTS_DIR set (any runtime: the artifact is a bootstrap
// for provided.*, the code folder for Node.js and Python); a package.json
// with dependencies is installed with npm install --omit=dev (npm ci with
// a lockfile) in a copy of CodeUri; a requirements.txt with pip install -r
// -t in a copy, unless it lists only boto3 and botocore, which the runtime
// provides. A change of a file in CodeUri rebuilds it (npm and pip run
// again only when package.json, the lockfile or requirements.txt changed),
// and code run in place is reloaded: new environments load the new code.
// Node.js functions that build their management API endpoint from the
// event's apiId (https://{apiId}.execute-api.{region}.amazonaws.com, as
// AWS's sample chat does) reach the local gateway: a preloaded script
// (NODE_OPTIONS --require, preload/executeapi.cjs) sends HTTPS requests for
// that host there. Other runtimes are refused.
//
// Each function runs as Lambda runs it (package local): a process per
// execution environment, served through the Lambda Runtime API, with
// Lambda's environment variables, its template's Environment.Variables,
// Timeout and MemorySize, and this shell's AWS_ENDPOINT_URL*, AWS_PROFILE,
// AWS_REGION and credential variables. ReservedConcurrentExecutions is the
// most environments a function runs at once (10 without it); 0 throttles
// every invocation, as on Lambda. Provisioned concurrency is not emulated
// (said at start).
//
// A template with DynamoDB tables gets a local DynamoDB (dynamodb.go):
// dynalite, installed once with npm ci into the user's cache
// (lambdaws/dynalite/VERSION, from the package.json and lock file embedded
// in the binary, the version tools/package.json pins), started on a free
// loopback port, in memory or in --dynamodb-dir, with the template's tables;
// the functions get AWS_ENDPOINT_URL_DYNAMODB (and placeholder credentials
// when the shell has none). It ends with lambdaws, also when lambdaws is
// killed (its stdin closes; on Linux it also gets SIGKILL). --dynamodb URL
// uses another endpoint (its missing tables are created), --dynamodb aws the
// account's. An AWS_ENDPOINT_URL_DYNAMODB (or AWS_ENDPOINT_URL) set in the
// shell is used as before: --create-tables creates the tables there.
// Without node or npm, the functions use the account's tables, with a
// warning saying how to get a local one.
//
// An edit of the template (or of the --env-vars file) is applied while
// serving (reload.go): the template is read and validated again, and the
// gateway's routes replaced at once; open connections stay open, new and
// changed functions get new environments, removed ones are closed. An
// invalid edit is printed and the previous version keeps serving. The
// API's stage, stage variables and RouteSelectionExpression need a restart.
//
// The port serves TLS as well as plain HTTP (the first byte of a connection
// tells them apart), so that functions that build their management API URL
// as "https://" + domainName + "/" + stage, or let aws-sdk-go v1 add
// https://, work unmodified, and so do wss:// clients. The certificate, made
// at each start for 127.0.0.1, ::1, localhost and the --addr host, is signed
// by a local CA that lambdaws creates once in the user's config folder
// (lambdaws/ca/cert.pem; its key.pem has mode 0600 and never leaves it). The
// CA is name-constrained to loopback and private addresses, localhost and
// .local names. Functions trust it without trusting anything else:
// SSL_CERT_FILE and AWS_CA_BUNDLE name a bundle of the system's roots (as Go
// reads them on Linux) plus the CA (AWS_CA_BUNDLE: the AWS profile's
// ca_bundle plus the CA when it has one, since the SDKs trust it alone),
// NODE_EXTRA_CA_CERTS the CA; a template variable of the same name wins. Clients trust it with that file (curl
// --cacert, SSL_CERT_FILE, NODE_EXTRA_CA_CERTS). Outside Linux only Node.js
// functions trust it. When the CA cannot be used, the port serves plain HTTP
// only, with a warning.
//
// It warns at start of a function whose binary links aws-sdk-go v1 while an
// AWS_ENDPOINT_URL* is set (v1 ignores them: its calls reach AWS).
//
// The inspector, a page at http://{addr}/@inspector/ printed at start, shows
// the API live (connections, frames, invocations, management API calls,
// environments) to this machine's browser and no other site's page;
// --inspect=false turns it off (docs/inspector.md, internal/inspect).
//
// It prints the API's ws:// URL, stage and management API URL, a line per
// build, a line per invocation, and the functions' output prefixed with
// their names. With --log-format json every line of its stdout is one JSON
// object (logfmt.go): a function's lines wrapped with its name, or passed
// through when they are JSON objects. Durations are in milliseconds
// (durationMs) in both formats; in text, a stack a function logs
// (stack="...") is printed as its lines. SIGINT or SIGTERM closes every connection (their $disconnect
// runs) and ends the functions' processes. A second one, while that waits
// for a function, kills the functions' processes at once and exits with
// status 2.
//
// Roadmap: main.go (subcommands), local.go (flags; load → prepare →
// serve), reload.go (template edits), build.go (building and watching Go
// functions), runtimes.go (Node.js and Python functions, their
// interpreters), sdk.go (the AWS SDK the runtimes provide), codebuild.go
// (make, npm and pip builds), dynamodb.go and dynalite/ (the local
// DynamoDB), tables.go (creating tables), logfmt.go (output formats), ca.go
// (the local CA and TLS), awsreach.go (the warnings about real AWS),
// inspect.go (the inspector's address); the template reader is
// internal/sam.
package main
