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
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
	"github.com/lambdaws/lambdaws/internal/inspect"
	"github.com/lambdaws/lambdaws/local"
	"github.com/lambdaws/lambdaws/local/lambdaenv"
)

const localUsage = `Usage: lambdaws local [flags]

Serves the WebSocket API of a SAM or CloudFormation template on this machine,
with its functions as they are deployed: Go functions are built from source
(and rebuilt when their sources change), other functions run their bootstrap
through the Lambda Runtime API, and go1.x functions run the executable their
Handler names through aws-lambda-go's RPC protocol.

Functions receive Lambda's environment variables, their template's
Environment.Variables, and this shell's AWS_ENDPOINT_URL*, AWS_PROFILE,
AWS_REGION and credential variables, so they can reach a local DynamoDB.

Flags:
`

// localFlags are the flags of lambdaws local.
type localFlags struct {
	template, addr, params, envVars, api string
	createTables, inspect                bool
	logFormat                            string
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
	fs.BoolVar(&f.createTables, "create-tables", false, "create the template's DynamoDB tables that do not exist at AWS_ENDPOINT_URL_DYNAMODB")
	fs.BoolVar(&f.inspect, "inspect", true, "serve the inspector, a page showing connections, frames, invocations and environments live, at /@inspector/ on the API's address (loopback clients only)")
	fs.StringVar(&f.api, "api", "", "the `LOGICAL_ID` of the WebSocket API to serve, when the template has several")
	fs.StringVar(&f.logFormat, "log-format", "text", "`FORMAT` of this command's per-invocation lines: text, or json (one object per line with timestamp, level and message, as Lambda's JSON format)")
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

func runLocal(ctx context.Context, hurry <-chan struct{}, args []string, stdout, stderr io.Writer) error {
	f, err := parseLocalFlags(args, stderr)
	if err != nil {
		return err
	}
	// Listen first: the template's values that name the API's address on
	// AWS name this one instead.
	ln, err := local.Listen(f.addr)
	if err != nil {
		return err
	}
	served := false
	defer func() {
		if !served {
			ln.Close()
		}
	}()
	addr := ln.Addr().String()
	opts := &sam.Options{API: f.api, Region: os.Getenv("AWS_REGION"), Endpoint: localEndpoint(ln.Addr())}
	if opts.Region == "" {
		opts.Region = os.Getenv("AWS_DEFAULT_REGION")
	}
	if opts.Parameters, err = parseParameterOverrides(f.params); err != nil {
		return err
	}
	if f.envVars != "" {
		if opts.EnvVars, err = readEnvVars(f.envVars); err != nil {
			return err
		}
	}
	tpl, err := sam.Load(f.template, opts)
	if err != nil {
		return err
	}
	out := &syncWriter{w: stdout}
	for _, w := range tpl.Warnings {
		fmt.Fprintln(out, "warning:", w)
	}
	for _, r := range tpl.Rewrites {
		fmt.Fprintln(out, "local address:", r)
	}
	logger := slog.New(slog.NewTextHandler(out, nil))
	if f.logFormat == "json" {
		logger = slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{ReplaceAttr: lambdacontext.ReplaceAttr}))
	}

	if err := localCode(tpl, f, out); err != nil {
		return err
	}
	builds, err := prepare(ctx, tpl, out)
	if err != nil {
		return err
	}
	for _, w := range awsReach(tpl, builds.binary, os.Environ()) {
		fmt.Fprintln(out, "warning:", w)
	}
	trust, err := setupTLS(f.addr, out)
	if err != nil {
		fmt.Fprintf(out, "warning: serving plain HTTP only: %v\n", err)
		trust = &localTLS{}
	}
	var rec *inspect.Recorder
	if f.inspect {
		rec = inspect.New()
	}
	fns := map[string]*lambdaenv.Function{}
	defer func() {
		for _, fn := range fns {
			fn.Close()
		}
	}()
	for _, id := range slices.Sorted(maps.Keys(tpl.Functions)) {
		fn := tpl.Functions[id]
		env, extra := trust.functionEnv(fn)
		f, err := lambdaenv.NewBinary(builds.binary(fn), &lambdaenv.Options{
			Name: id, Runtime: fn.Runtime, Timeout: fn.Timeout, MemorySize: fn.MemorySize, Env: env, ExtraEnv: extra, Output: out, Logger: logger,
			Inspector: rec,
		})
		if err != nil {
			return err
		}
		fns[id] = f
	}

	api := tpl.API
	gopts := &local.Options{
		Stage:                    api.Stage,
		APIID:                    api.ID,
		StageVariables:           api.StageVariables,
		RouteSelectionExpression: api.RouteSelectionExpression,
		Routes:                   map[string]local.Route{},
		Logger:                   logger,
		TLS:                      trust.config,
		Inspector:                rec,
	}
	for _, r := range api.Routes {
		gopts.Routes[r.Key] = local.Route{Function: fns[r.Function], TwoWay: r.TwoWay}
	}
	if a := api.Authorizer; a != nil {
		gopts.Authorizer = &local.Authorizer{Function: fns[a.Function], IdentitySource: a.IdentitySource}
	}
	if err := gopts.Validate(); err != nil {
		return err
	}
	// Last: nothing is created before the template, its functions and the
	// gateway's options are found good.
	if f.createTables {
		if err := createTables(ctx, tpl.Tables, out); err != nil {
			return err
		}
	}

	fmt.Fprintf(out, "API %s: ws://%s/ (stage %s), management API http://%s/%s/@connections\n",
		api.LogicalID, addr, api.Stage, addr, api.Stage)
	trust.print(out, addr, api.Stage)
	if rec != nil {
		fmt.Fprintf(out, "inspector: http://%s%s/ (this machine only; --inspect=false turns it off)\n", loopbackAddr(addr), inspect.Path)
	}
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

	watchCtx, stopWatching := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		builds.watch(watchCtx, func(codeURI string) {
			for id, fn := range tpl.Functions {
				if fn.CodeURI == codeURI {
					fns[id].Reset()
				}
			}
		})
	}()
	served = true
	result := make(chan error, 1)
	go func() { result <- local.Serve(ctx, ln, nil, gopts) }()
	select {
	case err = <-result:
	case <-hurry:
		stopWatching()
		// The deferred Function.Close calls kill the processes.
		return errors.New("second signal: stopped at once, the functions' processes killed")
	}
	stopWatching()
	wg.Wait()
	fmt.Fprintln(out, "stopped")
	return err
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
