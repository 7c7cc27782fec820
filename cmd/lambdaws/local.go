package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
	"github.com/lambdaws/lambdaws/internal/inspect"
	"github.com/lambdaws/lambdaws/local"
	"github.com/lambdaws/lambdaws/local/lambdaenv"
)

const localUsage = `Usage: lambdaws local [flags]

Serves the WebSocket API of a SAM or CloudFormation template on this machine,
with its functions as they are deployed, in Go, Node.js and Python: Go
functions are built from source (and rebuilt when their sources change),
other custom-runtime functions run their bootstrap through the Lambda Runtime
API, and go1.x functions run the executable their Handler names through
aws-lambda-go's RPC protocol. Node.js (nodejs18.x and later) and Python
(python3.x) functions run on node / python3 (the runtime's version, such as
node22 or python3.12, when installed), with the AWS SDK their runtime
provides: the @aws-sdk/* packages they import, installed once with npm into
lambdaws's cache, and boto3 as the interpreter (or Debian's python3-boto3)
has it. Builds are sam build's, into the cache: npm install of package.json's
dependencies, pip install of requirements.txt, and make build-<LogicalId> for
Metadata BuildMethod makefile; code is rebuilt or reloaded when it changes.
An edit of the template
is applied while serving (an invalid one is reported, and the previous
version keeps serving); open connections stay open.

When the template has DynamoDB tables, lambdaws starts a local DynamoDB
(dynalite, installed with npm into the user's cache on first use), creates
the tables there and points the functions at it; --dynamodb chooses another
one, or the account's. An AWS_ENDPOINT_URL_DYNAMODB set in the shell is
used as it is.

Functions receive Lambda's environment variables, their template's
Environment.Variables, and this shell's AWS_ENDPOINT_URL*, AWS_PROFILE,
AWS_REGION and credential variables. A function's reserved concurrency
(ReservedConcurrentExecutions) is the most environments it runs at once;
10 without one.
The same port serves the Lambda Invoke API for the template's functions,
which get AWS_ENDPOINT_URL_LAMBDA pointing at it (ws.AfterConnect uses it).

Flags:
`

// localFlags are the flags of lambdaws local.
type localFlags struct {
	template, addr, params, envVars, api string
	createTables, inspect                bool
	logFormat                            string
	dynamodb, dynamoDir                  string
	sources                              sourceFlag
}

func parseLocalFlags(args []string, stderr io.Writer) (*localFlags, error) {
	f := &localFlags{sources: sourceFlag{}}
	fs := flag.NewFlagSet("lambdaws local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, localUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.template, "template", "", "the template `FILE`; default .aws-sam/build/template.yaml when it exists (after sam build), else template.yaml, else template.yml")
	fs.StringVar(&f.addr, "addr", local.DefaultAddr, "`HOST:PORT` to serve the API on (\":8080\" is 127.0.0.1:8080; 0.0.0.0:8080 serves every interface)")
	fs.StringVar(&f.params, "parameter-overrides", "", "template parameters, as `'Key=Value Key2=Value2'` (or SAM's ParameterKey=K,ParameterValue=V)")
	fs.StringVar(&f.envVars, "env-vars", "", "a JSON `FILE` of environment variables, as for sam local: {\"FunctionLogicalId\": {\"VAR\": \"value\"}, \"Parameters\": {\"VAR\": \"for every function\"}}")
	fs.StringVar(&f.dynamodb, "dynamodb", "", "`WHERE` the functions' DynamoDB is: local (the default: dynalite, started when the template has tables, unless AWS_ENDPOINT_URL_DYNAMODB is set), an endpoint URL (its missing tables are created), or aws (the account's)")
	fs.StringVar(&f.dynamoDir, "dynamodb-dir", "", "keep the local DynamoDB's tables in `DIR` across runs (default: in memory)")
	fs.BoolVar(&f.createTables, "create-tables", false, "with AWS_ENDPOINT_URL_DYNAMODB set in the shell, create the template's tables that do not exist there (the local DynamoDB and --dynamodb URL get them anyway)")
	fs.BoolVar(&f.inspect, "inspect", true, "serve the inspector, a page showing connections, frames, invocations and environments live, at /@inspector/ on the API's address (loopback clients only)")
	fs.StringVar(&f.api, "api", "", "the `LOGICAL_ID` of the WebSocket API to serve, when the template has several")
	fs.StringVar(&f.logFormat, "log-format", "text", "`FORMAT` of the output: text, or json (every line one JSON object, with timestamp, level and message as Lambda's JSON format; a function's lines wrapped with its name unless they are JSON objects)")
	fs.Var(f.sources, "source", "`LOGICAL_ID=DIR`, repeatable: the Go source of a function whose binary is built for another machine (a CDK GoFunction's linux/arm64 bootstrap), when the binary does not name it")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return nil, fmt.Errorf("local: unexpected argument %q: lambdaws local takes flags only; for a template, write --template %s", fs.Arg(0), fs.Arg(0))
	}
	if f.logFormat = strings.ToLower(f.logFormat); f.logFormat != "text" && f.logFormat != "json" {
		return nil, fmt.Errorf("local: --log-format %q: want text or json", f.logFormat)
	}
	if f.template == "" {
		var err error
		if f.template, err = defaultTemplate(); err != nil {
			return nil, err
		}
	}
	return f, checkAddr(f.addr)
}

// session is one run of lambdaws local: what stays the same while the
// template is reloaded.
type session struct {
	f      *localFlags
	out    io.Writer // stdout, whole lines at a time
	logger *slog.Logger
	db     *dynamoDB
	trust  *localTLS
	ln     net.Listener      // the API's address, open before the functions start
	rec    *inspect.Recorder // the inspector's, unless --inspect=false
	read   string            // the fingerprint of the template when last read
}

// runLocal loads the template, prepares what it needs (a local DynamoDB,
// the functions' binaries and environments) and serves it: load → prepare
// → serve.
func runLocal(ctx context.Context, hurry <-chan struct{}, args []string, stdout, stderr io.Writer) error {
	f, err := parseLocalFlags(args, stderr)
	if err != nil {
		return err
	}
	s := &session{f: f}
	if f.logFormat == "json" {
		stdout = &jsonLines{w: stdout, now: time.Now}
	}
	s.out = &syncWriter{w: stdout}
	s.logger = newLogger(f.logFormat, s.out)
	if f.inspect {
		s.rec = inspect.New()
	}
	// Listen first: the template's values that name the API's address on
	// AWS name this one instead (sam.Options.Endpoint).
	if s.ln, err = local.Listen(f.addr); err != nil {
		return err
	}
	defer s.ln.Close() // when returning early; Serve closes it

	tpl, err := s.load()
	if err != nil {
		return err
	}
	s.db, err = startDynamoDB(ctx, f, environ(), tpl.Tables, s.out)
	if err != nil {
		return err
	}
	defer s.db.stop()
	if s.trust, err = setupTLS(f.addr, s.out); err != nil {
		fmt.Fprintf(s.out, "warning: serving plain HTTP only: %v\n", err)
		s.trust = &localTLS{}
	}
	a, err := s.prepare(ctx, tpl, nil)
	if err != nil {
		return err
	}
	return s.serve(ctx, hurry, a)
}

// load reads and validates the template with the flags' parameters and
// --env-vars file, and prints its warnings.
func (s *session) load() (*sam.Template, error) {
	opts := &sam.Options{API: s.f.api, Region: os.Getenv("AWS_REGION"), Endpoint: localEndpoint(s.ln.Addr())}
	if opts.Region == "" {
		opts.Region = os.Getenv("AWS_DEFAULT_REGION")
	}
	var err error
	if opts.Parameters, err = parseParameterOverrides(s.f.params); err != nil {
		return nil, err
	}
	if s.f.envVars != "" {
		if opts.EnvVars, err = readEnvVars(s.f.envVars); err != nil {
			return nil, err
		}
	}
	s.read = s.fingerprint() // before reading: an edit from now on is seen
	tpl, err := sam.Load(s.f.template, opts)
	if err != nil {
		return nil, err
	}
	if _, _, err := gatewayOptions(tpl.API, nil); err != nil {
		return nil, err
	}
	for _, w := range tpl.Warnings {
		fmt.Fprintln(s.out, "warning:", w)
	}
	for _, r := range tpl.Rewrites {
		fmt.Fprintln(s.out, "local address:", r)
	}
	if err := localCode(tpl, s.f, s.out); err != nil {
		return nil, err
	}
	return tpl, nil
}

// app is what one version of the template serves: its functions'
// binaries and environments, and the gateway's routes.
type app struct {
	tpl    *sam.Template
	builds *builds
	fns    map[string]*lambdaenv.Function
	made   map[string]sam.Function // what each of fns was made from, with its binary as CodeURI
}

// close closes the functions of a that next does not use (nil: all).
func (a *app) close(next *app) {
	for id, fn := range a.fns {
		if next == nil || next.fns[id] != fn {
			fn.Close()
		}
	}
}

// prepare builds the functions, makes their environments and, last (when
// all went well), creates the template's tables in the local DynamoDB.
// Functions of prev (the version served so far, or nil) that did not change
// are kept, with their warm environments.
func (s *session) prepare(ctx context.Context, tpl *sam.Template, prev *app) (*app, error) {
	builds, err := prepare(ctx, tpl, s.out)
	if err != nil {
		return nil, err
	}
	env := environ()
	maps.Copy(env, s.db.env)
	for _, w := range awsReach(tpl, builds.binary, envList(env)) {
		fmt.Fprintln(s.out, "warning:", w)
	}
	if s.trust.config != nil {
		builds.executeAPI = &executeAPI{addr: s.ln.Addr().String(), apiID: tpl.API.ID}
	}
	a := &app{tpl: tpl, builds: builds, fns: map[string]*lambdaenv.Function{}, made: map[string]sam.Function{}}
	for _, id := range slices.Sorted(maps.Keys(tpl.Functions)) {
		fn := tpl.Functions[id]
		made := *fn
		made.CodeURI = builds.binary(fn)
		if prev != nil && prev.fns[id] != nil && reflect.DeepEqual(prev.made[id], made) {
			a.fns[id], a.made[id] = prev.fns[id], made
			continue
		}
		f, err := s.newFunction(builds, fn, made.CodeURI)
		if err != nil {
			a.close(prev)
			return nil, err
		}
		a.fns[id], a.made[id] = f, made
	}
	if s.db.create {
		if err := createTables(ctx, s.db, tpl.Tables, s.out); err != nil {
			a.close(prev)
			return nil, err
		}
	}
	return a, nil
}

// newFunction makes the environments of a function running binary.
func (s *session) newFunction(b *builds, fn *sam.Function, binary string) (*lambdaenv.Function, error) {
	env, extra := s.trust.functionEnv(fn)
	maps.Copy(extra, s.db.env)
	if s.ln != nil { // the Invoke API, on the gateway's port
		extra["AWS_ENDPOINT_URL_LAMBDA"] = "http://" + loopbackAddr(s.ln.Addr().String())
	}
	opts := &lambdaenv.Options{
		Name: fn.LogicalID, Runtime: fn.Runtime, Timeout: fn.Timeout, MemorySize: fn.MemorySize,
		Env: env, ExtraEnv: extra,
		Output: newFunctionOutput(fn.LogicalID, s.f.logFormat, s.out), Logger: s.logger, Inspector: s.rec,
	}
	if r := fn.ReservedConcurrency; r != nil {
		if *r == 0 {
			fmt.Fprintf(s.out, "note: function %s has ReservedConcurrentExecutions 0: as on Lambda, every invocation is throttled (TooManyRequestsException), and the client gets what API Gateway answers for a failed integration\n", fn.LogicalID)
			return lambdaenv.New(throttled, &lambdaenv.Options{Name: fn.LogicalID, Logger: s.logger, Inspector: s.rec}), nil
		}
		opts.Concurrency = *r
	}
	if n := fn.ProvisionedConcurrency; n > 0 {
		fmt.Fprintf(s.out, "note: function %s: provisioned concurrency (%d) is not emulated: its environments start on first use, so first invocations are cold starts\n", fn.LogicalID, n)
	}
	if b != nil { // Node.js and Python functions, _HANDLER
		return b.newFunction(fn, opts)
	}
	return lambdaenv.NewBinary(binary, opts)
}

// TooManyRequestsException is the error of every invocation of a function
// whose reserved concurrency is 0; aws-lambda-go names the error type
// after it, as Lambda's Invoke names its throttle.
type TooManyRequestsException struct{}

func (TooManyRequestsException) Error() string {
	return "Rate Exceeded. (ReservedConcurrentExecutions is 0: Lambda throttles every invocation)"
}

// throttled is the handler of a function whose reserved concurrency is 0.
func throttled(context.Context, json.RawMessage) (json.RawMessage, error) {
	return nil, TooManyRequestsException{}
}

// gatewayOptions returns the routes and authorizer of api with the
// functions of fns (nil: validation only).
func gatewayOptions(api *sam.API, fns map[string]*lambdaenv.Function) (map[string]local.Route, *local.Authorizer, error) {
	routes := map[string]local.Route{}
	for _, r := range api.Routes {
		routes[r.Key] = local.Route{Function: fns[r.Function], TwoWay: r.TwoWay}
	}
	var auth *local.Authorizer
	if a := api.Authorizer; a != nil {
		auth = &local.Authorizer{Function: fns[a.Function], IdentitySource: a.IdentitySource}
		if fns == nil {
			auth.Function = &lambdaenv.Function{} // checked for presence only
		}
	}
	err := (&local.Options{RouteSelectionExpression: api.RouteSelectionExpression, Routes: routes, Authorizer: auth}).Validate()
	return routes, auth, err
}

// serve serves a until ctx is done, applying edits of the template and
// rebuilding functions whose sources change meanwhile. If hurry is closed
// while it stops, it kills the functions' processes and returns at once.
func (s *session) serve(ctx context.Context, hurry <-chan struct{}, a *app) error {
	api := a.tpl.API
	routes, auth, _ := gatewayOptions(api, a.fns)
	g := local.New(nil, &local.Options{
		Stage:                    api.Stage,
		APIID:                    api.ID,
		StageVariables:           api.StageVariables,
		RouteSelectionExpression: api.RouteSelectionExpression,
		Routes:                   routes,
		Authorizer:               auth,
		Logger:                   s.logger,
		TLS:                      s.trust.config,
		Inspector:                s.rec,
		Functions:                slices.Collect(maps.Values(a.fns)), // for the Invoke API; the routes' are found after a reload too
	})
	addr := s.ln.Addr().String()
	fmt.Fprintf(s.out, "API %s: ws://%s/ (stage %s), management API http://%s/%s/@connections\n",
		api.LogicalID, addr, api.Stage, addr, api.Stage)
	s.trust.print(s.out, addr, api.Stage)
	fmt.Fprintf(s.out, "Lambda Invoke API for the functions: http://%s (AWS_ENDPOINT_URL_LAMBDA)\n", loopbackAddr(addr))
	if s.rec != nil {
		fmt.Fprintf(s.out, "inspector: http://%s%s/ (this machine only; --inspect=false turns it off)\n", loopbackAddr(addr), inspect.Path)
	}
	printRoutes(s.out, a.tpl)

	watchCtx, stopWatching := context.WithCancel(ctx)
	last := make(chan *app, 1) // the version served last, for closing
	go func() { last <- s.watch(watchCtx, g, a) }()
	served := make(chan error, 1)
	go func() { served <- g.Serve(ctx, s.ln) }()
	select {
	case err := <-served:
		stopWatching()
		(<-last).close(nil)
		fmt.Fprintln(s.out, "stopped")
		return err
	case <-hurry:
		stopWatching()
		(<-last).close(nil) // kills the processes
		return errors.New("second signal: stopped at once, the functions' processes killed")
	}
}

// printRoutes prints the routes and the authorizer of tpl's API, with the
// CDK construct of each function.
func printRoutes(out io.Writer, tpl *sam.Template) {
	api := tpl.API
	for _, r := range api.Routes {
		how := "one-way"
		if r.TwoWay {
			how = "two-way"
		}
		fmt.Fprintf(out, "  route %s → %s (%s)%s\n", r.Key, r.Function, how, construct(tpl.Functions[r.Function]))
	}
	if a := api.Authorizer; a != nil {
		fmt.Fprintf(out, "  authorizer on $connect → %s (%s)%s\n", a.Function, strings.Join(a.IdentitySource, ", "), construct(tpl.Functions[a.Function]))
	}
}

// environ returns this process's environment variables.
func environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// envList returns env as "KEY=value" strings.
func envList(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	return list
}

// parseParameterOverrides reads --parameter-overrides: "Key=Value" pairs
// separated by spaces, values optionally quoted, or SAM's
// "ParameterKey=Key,ParameterValue=Value".
func parseParameterOverrides(s string) (map[string]string, error) {
	params := map[string]string{}
	for _, field := range splitQuoted(s) {
		if rest, ok := strings.CutPrefix(field, "ParameterKey="); ok {
			k, v, ok := strings.Cut(rest, ",ParameterValue=")
			if !ok {
				return nil, fmt.Errorf("--parameter-overrides: %q is not ParameterKey=K,ParameterValue=V", field)
			}
			params[k] = v
			continue
		}
		k, v, ok := strings.Cut(field, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--parameter-overrides: %q is not Key=Value", field)
		}
		params[k] = v
	}
	return params, nil
}

// splitQuoted splits s on spaces outside single or double quotes, and drops
// the quotes.
func splitQuoted(s string) []string {
	var fields []string
	var cur strings.Builder
	var quote rune
	in := false
	for _, c := range s {
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\''):
			quote, in = c, true
		case quote == 0 && (c == ' ' || c == '\t' || c == '\n'):
			if in {
				fields = append(fields, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(c)
			in = true
		}
	}
	if in {
		fields = append(fields, cur.String())
	}
	return fields
}

// readEnvVars reads an --env-vars file in SAM CLI's format.
func readEnvVars(path string) (map[string]map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw map[string]map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // 1000000 stays 1000000, not 1e+06
	err = dec.Decode(&raw)
	if err == nil && dec.More() {
		err = errors.New("text after the JSON object")
	}
	if err != nil {
		return nil, fmt.Errorf("--env-vars %s: %w (want {\"FunctionLogicalId\": {\"VAR\": \"value\"}, \"Parameters\": {...}})", path, err)
	}
	vars := map[string]map[string]string{}
	for fn, m := range raw {
		vars[fn] = map[string]string{}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				vars[fn][k] = v
			case json.Number, bool:
				vars[fn][k] = fmt.Sprint(v)
			default:
				return nil, fmt.Errorf("--env-vars %s: %s.%s is not a string, number or boolean", path, fn, k)
			}
		}
	}
	return vars, nil
}

// syncWriter serializes writes of whole lines from several goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// localEndpoint is the host:port at which the functions reach the API
// listening on a: its address, with 127.0.0.1 (or ::1) for an unspecified
// one (0.0.0.0 serves loopback too).
func localEndpoint(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.IP
	switch {
	case ip.IsUnspecified() && ip.To4() != nil:
		ip = net.IPv4(127, 0, 0, 1)
	case ip.IsUnspecified():
		ip = net.IPv6loopback
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(tcp.Port))
}

// construct names the CDK construct a function belongs to, for a start-up
// line: " [Stack/Handler/Resource]", or "" outside CDK.
func construct(fn *sam.Function) string {
	if fn == nil || fn.ConstructPath == "" {
		return ""
	}
	return " [" + fn.ConstructPath + "]"
}

// localCode makes the code of every function of tpl runnable here: a .zip
// package is unpacked, and a Go binary built for another machine (CDK's
// GoFunction builds linux binaries, often arm64) is replaced by its source,
// which lambdaws local then builds for this machine and rebuilds on save.
func localCode(tpl *sam.Template, f *localFlags, out io.Writer) error {
	for _, id := range slices.Sorted(maps.Keys(tpl.Functions)) {
		fn := tpl.Functions[id]
		if strings.HasSuffix(fn.CodeURI, ".zip") {
			dir, err := unzipCode(fn.CodeURI)
			if err != nil {
				return fmt.Errorf("function %s: %w", id, err)
			}
			fn.CodeURI = dir
		}
		bin := filepath.Join(fn.CodeURI, "bootstrap")
		if fn.Runtime == "go1.x" {
			bin = filepath.Join(fn.CodeURI, fn.Handler)
		}
		dir := f.sources[id]
		if dir == "" {
			foreign := runnable(bin)
			if foreign == nil || hasGoSource(fn.CodeURI) {
				continue
			}
			var err error
			if dir, err = goSourceOf(bin, filepath.Dir(f.template)); err != nil {
				return fmt.Errorf("function %s: %s %v, and lambdaws local cannot build it for this machine: %v; name its Go source with --source %s=DIR", id, bin, foreign, err, id)
			}
		}
		if !hasGoSource(dir) {
			return fmt.Errorf("function %s: --source %s holds no Go source", id, dir)
		}
		fmt.Fprintf(out, "function %s: building it for this machine from %s\n", id, dir)
		fn.CodeURI, fn.BuildMethod = dir, "go1.x"
	}
	return nil
}
