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
	"os"
	"slices"
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
}

func parseLocalFlags(args []string, stderr io.Writer) (*localFlags, error) {
	f := &localFlags{}
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
	opts := &sam.Options{API: f.api, Region: os.Getenv("AWS_REGION")}
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
	logger := slog.New(slog.NewTextHandler(out, nil))
	if f.logFormat == "json" {
		logger = slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{ReplaceAttr: lambdacontext.ReplaceAttr}))
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

	ln, err := local.Listen(f.addr)
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
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
		fmt.Fprintf(out, "  route %s → %s (%s)\n", r.Key, r.Function, how)
	}
	if a := api.Authorizer; a != nil {
		fmt.Fprintf(out, "  authorizer on $connect → %s (%s)\n", a.Function, strings.Join(a.IdentitySource, ", "))
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
	served := make(chan error, 1)
	go func() { served <- local.Serve(ctx, ln, nil, gopts) }()
	select {
	case err = <-served:
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
