package lambdaenv

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/internal/testenv"
)

// needInterpreter skips the test when name (node, python3) is not on PATH,
// or fails it under LAMBDAWS_INTEGRATION=1.
func needInterpreter(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		testenv.Require(t, name+" is not on PATH", "install it to test the "+name+" runtime interface client")
	}
}

// newManaged is NewRuntime of testdata/dir, closed by the test's cleanup,
// with its output and log in the returned buffer.
func newManaged(t *testing.T, dir string, opts *Options) (*Function, *testenv.LockedBuffer) {
	t.Helper()
	switch language(opts.Runtime) {
	case "node":
		needInterpreter(t, "node")
	case "python":
		needInterpreter(t, "python3")
	}
	var out testenv.LockedBuffer
	opts.Output = &out
	opts.Logger = slog.New(slog.NewTextHandler(&out, nil))
	f, err := NewRuntime(filepath.Join("testdata", dir), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, &out
}

// invokeJSON invokes f with payload and decodes its response into v.
func invokeJSON(t *testing.T, f *Function, payload string, v any) {
	t.Helper()
	out, err := f.Invoke(context.Background(), []byte(payload))
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("response %q: %v", out, err)
	}
}

// managedInvokeError invokes f and returns its *InvokeError.
func managedInvokeError(t *testing.T, f *Function, payload string) *InvokeError {
	t.Helper()
	out, err := f.Invoke(context.Background(), []byte(payload))
	var ie *InvokeError
	if !errors.As(err, &ie) {
		t.Fatalf("Invoke = %q, %v; want an *InvokeError", out, err)
	}
	return ie
}

// contextReply is what the fixtures' "handler" functions return.
type contextReply struct {
	Count              int             `json:"count"`
	Pid                int             `json:"pid"`
	Event              json.RawMessage `json:"event"`
	AwsRequestID       string          `json:"awsRequestId"`
	FunctionName       string          `json:"functionName"`
	FunctionVersion    string          `json:"functionVersion"`
	InvokedFunctionArn string          `json:"invokedFunctionArn"`
	MemoryLimitInMB    string          `json:"memoryLimitInMB"`
	LogGroupName       string          `json:"logGroupName"`
	LogStreamName      string          `json:"logStreamName"`
	Remaining          int64           `json:"remaining"`
	Trace              string          `json:"trace"`
	HandlerEnv         string          `json:"handlerEnv"`
	Cwd                string          `json:"cwd"`
}

// TestRuntimeHandler runs a handler of each language twice: the second
// invocation reuses the warm process (its module-level counter goes on), and
// the context and variables are Lambda's.
func TestRuntimeHandler(t *testing.T) {
	for _, tc := range []struct {
		name, dir string
		opts      Options
	}{
		{"node ESM async", "node/esm", Options{Runtime: "nodejs20.x", Handler: "app.handler"}},
		{"python package", "python", Options{Runtime: "python3.11", Handler: "pkg.handlers.handler"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Name = "chat"
			tc.opts.MemorySize = 256
			tc.opts.Timeout = time.Minute
			f, out := newManaged(t, tc.dir, &tc.opts)
			var r1, r2 contextReply
			invokeJSON(t, f, `{"action":"hello"}`, &r1)
			invokeJSON(t, f, `{"action":"again"}`, &r2)
			if r1.Count != 1 || r2.Count != 2 || r1.Pid != r2.Pid {
				t.Errorf("counts %d, %d in processes %d, %d; want 1, 2 in one warm process", r1.Count, r2.Count, r1.Pid, r2.Pid)
			}
			var event map[string]string
			if json.Unmarshal(r2.Event, &event); event["action"] != "again" {
				t.Errorf("event %s", r2.Event)
			}
			dir, _ := filepath.Abs(filepath.Join("testdata", tc.dir))
			for _, c := range []struct{ name, got, want string }{
				{"functionName", r1.FunctionName, "chat"},
				{"functionVersion", r1.FunctionVersion, "$LATEST"},
				{"invokedFunctionArn", r1.InvokedFunctionArn, f.arn},
				{"memoryLimitInMB", r1.MemoryLimitInMB, "256"},
				{"logGroupName", r1.LogGroupName, "/aws/lambda/chat"},
				{"_HANDLER", r1.HandlerEnv, tc.opts.Handler},
				{"cwd", r1.Cwd, dir},
			} {
				if c.got != c.want {
					t.Errorf("%s = %q; want %q", c.name, c.got, c.want)
				}
			}
			if len(r1.AwsRequestID) != 36 || r1.AwsRequestID == r2.AwsRequestID {
				t.Errorf("request ids %q, %q; want two UUIDs", r1.AwsRequestID, r2.AwsRequestID)
			}
			if !strings.Contains(r1.LogStreamName, "[$LATEST]") {
				t.Errorf("logStreamName %q", r1.LogStreamName)
			}
			if r1.Remaining <= 0 || r1.Remaining > time.Minute.Milliseconds() {
				t.Errorf("remaining time %d ms; want within the 1 min timeout", r1.Remaining)
			}
			if !strings.HasPrefix(r1.Trace, "Root=1-") || r1.Trace == r2.Trace {
				t.Errorf("_X_AMZN_TRACE_ID %q then %q; want one per invocation", r1.Trace, r2.Trace)
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// TestRuntimeNodeModules checks Node.js handler resolution: CommonJS
// callbacks, a module in a folder, .mjs, .cjs, a nested export path.
func TestRuntimeNodeModules(t *testing.T) {
	for _, tc := range []struct {
		dir, handler, payload, want string
	}{
		{"node/cjs", "lib/app.handler", `{"x":1}`, `{"from":"lib/app.js","event":{"x":1}}`},
		{"node/cjs", "mod.handler", `{}`, `"mjs"`}, // .mjs before .cjs, as AWS's client tries them
		{"node/esm", "app.nested.deep.fn", `{}`, `"nested"`},
	} {
		t.Run(tc.handler, func(t *testing.T) {
			f, out := newManaged(t, tc.dir, &Options{Runtime: "nodejs20.x", Handler: tc.handler})
			got, err := f.Invoke(context.Background(), []byte(tc.payload))
			if err != nil || string(got) != tc.want {
				t.Errorf("Invoke = %s, %v; want %s\n%s", got, err, tc.want, out)
			}
		})
	}
	t.Run("cjs file", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "only.cjs"), []byte(`exports.handler = async () => "cjs";`), 0o644); err != nil {
			t.Fatal(err)
		}
		needInterpreter(t, "node")
		f, err := NewRuntime(dir, &Options{Runtime: "nodejs20.x", Handler: "only.handler", Output: &testenv.LockedBuffer{}, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if got, err := f.Invoke(context.Background(), []byte(`{}`)); err != nil || string(got) != `"cjs"` {
			t.Errorf("Invoke = %s, %v; want \"cjs\"", got, err)
		}
	})
	t.Run("callback", func(t *testing.T) {
		f, _ := newManaged(t, "node/cjs", &Options{Runtime: "nodejs18.x", Handler: "index.handler"})
		var r1, r2 struct {
			Count int
			Pid   int
			Style string
			ID    string
		}
		invokeJSON(t, f, `{}`, &r1)
		invokeJSON(t, f, `{}`, &r2)
		if r1.Style != "callback" || r1.Count != 1 || r2.Count != 2 || r1.Pid != r2.Pid || r1.ID == "" {
			t.Errorf("got %+v then %+v; want callback replies 1, 2 from one process", r1, r2)
		}
	})
	t.Run("callback waits for the event loop", func(t *testing.T) {
		f, _ := newManaged(t, "node/cjs", &Options{Runtime: "nodejs20.x", Handler: "index.lingers", Timeout: 20 * time.Second})
		// By default the response waits for the handler's timer.
		start := time.Now()
		if got, err := f.Invoke(context.Background(), []byte(`{"wait":true,"ms":300}`)); err != nil || string(got) != `"done"` {
			t.Fatalf("Invoke = %s, %v", got, err)
		}
		if took := time.Since(start); took < 300*time.Millisecond {
			t.Errorf("callbackWaitsForEmptyEventLoop=true: answered after %v, before the 300 ms timer", took)
		}
		// With callbackWaitsForEmptyEventLoop false it does not: waiting
		// for the 60 s timer would time out.
		if got, err := f.Invoke(context.Background(), []byte(`{"wait":false,"ms":60000}`)); err != nil || string(got) != `"done"` {
			t.Errorf("callbackWaitsForEmptyEventLoop=false: Invoke = %s, %v; want \"done\" at once", got, err)
		}
	})
	t.Run("no answer", func(t *testing.T) {
		// A callback handler that never calls back answers null when the
		// event loop empties, as Lambda's runtime does.
		f, _ := newManaged(t, "node/cjs", &Options{Runtime: "nodejs20.x", Handler: "index.silent"})
		if got, err := f.Invoke(context.Background(), []byte(`{}`)); err != nil || string(got) != "null" {
			t.Errorf("Invoke = %s, %v; want null", got, err)
		}
	})
}

// TestRuntimeNodePath imports, from an ES module, a package present only in
// a NODE_PATH folder, as the AWS SDK is provided; the code's own
// node_modules win over it.
func TestRuntimeNodePath(t *testing.T) {
	sdk := filepath.Join(t.TempDir(), "node_modules")
	writePackage := func(root, name string) {
		dir := filepath.Join(root, "lambdaws-fake-sdk")
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"lambdaws-fake-sdk","type":"module","exports":"./index.js"}`), 0o644)
		os.WriteFile(filepath.Join(dir, "index.js"), []byte(`export const name = "`+name+`";`), 0o644)
	}
	writePackage(sdk, "from NODE_PATH")
	f, out := newManaged(t, "node/esm", &Options{Runtime: "nodejs20.x", Handler: "sdk.handler", ExtraEnv: map[string]string{"NODE_PATH": sdk}})
	if got, err := f.Invoke(context.Background(), []byte(`{}`)); err != nil || string(got) != `"from NODE_PATH"` {
		t.Errorf("Invoke = %s, %v; want \"from NODE_PATH\"\n%s", got, err, out)
	}

	// The code's own node_modules come first.
	code := t.TempDir()
	for _, name := range []string{"package.json", "sdk.js"} {
		b, _ := os.ReadFile(filepath.Join("testdata", "node", "esm", name))
		os.WriteFile(filepath.Join(code, name), b, 0o644)
	}
	writePackage(filepath.Join(code, "node_modules"), "from the code")
	g, err := NewRuntime(code, &Options{Runtime: "nodejs20.x", Handler: "sdk.handler", ExtraEnv: map[string]string{"NODE_PATH": sdk}, Output: out, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if got, err := g.Invoke(context.Background(), []byte(`{}`)); err != nil || string(got) != `"from the code"` {
		t.Errorf("Invoke = %s, %v; want \"from the code\"", got, err)
	}

	// Without NODE_PATH the import fails at init.
	h, _ := newManaged(t, "node/esm", &Options{Runtime: "nodejs20.x", Handler: "sdk.handler"})
	if ie := managedInvokeError(t, h, `{}`); ie.Type != "Runtime.ImportModuleError" || !strings.Contains(ie.Message, "lambdaws-fake-sdk") {
		t.Errorf("without NODE_PATH: %+v; want Runtime.ImportModuleError naming the package", ie)
	}
}

// TestRuntimePythonPath imports a module present only in a PYTHONPATH
// folder, as boto3 is provided.
func TestRuntimePythonPath(t *testing.T) {
	sdk := t.TempDir()
	os.WriteFile(filepath.Join(sdk, "lambdaws_fake_sdk.py"), []byte(`NAME = "from PYTHONPATH"`+"\n"), 0o644)
	f, out := newManaged(t, "python", &Options{Runtime: "python3.11", Handler: "sdkuser.handler", ExtraEnv: map[string]string{"PYTHONPATH": sdk}})
	if got, err := f.Invoke(context.Background(), []byte(`{}`)); err != nil || string(got) != `"from PYTHONPATH"` {
		t.Errorf("Invoke = %s, %v; want \"from PYTHONPATH\"\n%s", got, err, out)
	}
	filepath.WalkDir(filepath.Join("testdata", "python"), func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "__pycache__" {
			t.Errorf("the runtime wrote %s: the code folder must stay as it is", path)
		}
		return nil
	})
}

// TestRuntimeErrors checks the errors of handlers and of inits, as Lambda's
// runtimes report them.
func TestRuntimeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, dir, runtime, handler string
		typ, msg                    string // msg: a part of the message
	}{
		{"node handler error", "node/esm", "nodejs20.x", "app.fails", "ChatError", "no such room"},
		{"node callback error", "node/cjs", "nodejs20.x", "index.fails", "TypeError", "bad input"},
		{"node missing module", "node/cjs", "nodejs20.x", "nosuch.handler", "Runtime.ImportModuleError", "Cannot find module 'nosuch'"},
		{"node missing package", "node/esm", "nodejs20.x", "missingdep.handler", "Runtime.ImportModuleError", "lambdaws-no-such-package"},
		{"node missing handler", "node/esm", "nodejs20.x", "app.nosuch", "Runtime.HandlerNotFound", "app.nosuch is undefined or not exported"},
		{"node not a function", "node/cjs", "nodejs20.x", "index.notAFunction", "Runtime.HandlerNotFound", "index.notAFunction is not a function"},
		{"node syntax error", "node/esm", "nodejs20.x", "syntax.handler", "Runtime.UserCodeSyntaxError", "SyntaxError"},
		{"node throw at init", "node/cjs", "nodejs20.x", "throwsatinit.handler", "RangeError", "config missing"},
		{"node malformed", "node/cjs", "nodejs20.x", "index", "Runtime.MalformedHandlerName", "Bad handler"},
		{"node callback on 24", "node/cjs", "nodejs24.x", "index.handler", "Runtime.CallbackHandlerDeprecated", "Node.js 24"},
		{"python handler error", "python", "python3.11", "pkg.handlers.fails", "ChatError", "no such room"},
		{"python missing module", "python", "python3.11", "pkg.nosuch.handler", "Runtime.ImportModuleError", "Unable to import module 'pkg.nosuch'"},
		{"python broken import", "python", "python3.11", "broken_import.handler", "Runtime.ImportModuleError", "lambdaws_no_such_module"},
		{"python missing handler", "python", "python3.11", "pkg.handlers.nosuch", "Runtime.HandlerNotFound", "Handler 'nosuch' missing on module 'pkg.handlers'"},
		{"python syntax error", "python", "python3.11", "syntax_err.handler", "Runtime.UserCodeSyntaxError", "Syntax error in module 'syntax_err'"},
		{"python malformed", "python", "python3.11", "handler", "Runtime.MalformedHandlerName", "Bad handler 'handler'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, out := newManaged(t, tc.dir, &Options{Runtime: tc.runtime, Handler: tc.handler})
			ie := managedInvokeError(t, f, `{}`)
			if ie.Type != tc.typ || !strings.Contains(ie.Message, tc.msg) {
				t.Errorf("got %+v; want type %s and a message containing %q\n%s", ie, tc.typ, tc.msg, out)
			}
		})
	}
}

// TestRuntimeExitAndTimeout checks that a process exiting mid-invocation
// fails it with Runtime.ExitError and one running past the timeout is
// killed, each replaced at the next invocation.
func TestRuntimeExitAndTimeout(t *testing.T) {
	for _, tc := range []struct {
		name, dir, runtime, prefix string
	}{
		{"node", "node/esm", "nodejs20.x", "app."},
		{"python", "python", "python3.11", "pkg.handlers."},
	} {
		t.Run(tc.name+" crash", func(t *testing.T) {
			f, _ := newManaged(t, tc.dir, &Options{Runtime: tc.runtime, Handler: tc.prefix + "crash"})
			ie := managedInvokeError(t, f, `{}`)
			if ie.Type != "Runtime.ExitError" || !strings.Contains(ie.Message, "exit status 3") {
				t.Errorf("got %+v; want Runtime.ExitError with exit status 3", ie)
			}
			// The next invocation starts a new process.
			_, cold, err := f.invoke(context.Background(), []byte(`{}`))
			if !cold || err == nil {
				t.Errorf("second invocation: cold %v, err %v; want a new process that crashes too", cold, err)
			}
		})
		t.Run(tc.name+" timeout", func(t *testing.T) {
			f, _ := newManaged(t, tc.dir, &Options{Runtime: tc.runtime, Handler: tc.prefix + "sleep", Timeout: 2 * time.Second})
			ie := managedInvokeError(t, f, `{}`)
			if ie.Type != "Sandbox.Timedout" {
				t.Errorf("got %+v; want Sandbox.Timedout", ie)
			}
			if _, cold, _ := f.invoke(context.Background(), []byte(`{}`)); !cold {
				t.Error("the timed-out process was reused")
			}
		})
	}
}

// TestRuntimeUncaught checks that an exception thrown outside a Node.js
// handler's promise fails the invocation with its type and message, and that
// the process, which exits, is replaced; and that an unhandled rejection
// fails it as Runtime.UnhandledPromiseRejection.
func TestRuntimeUncaught(t *testing.T) {
	f, out := newManaged(t, "node/esm", &Options{Runtime: "nodejs20.x", Handler: "app.uncaught"})
	ie := managedInvokeError(t, f, `{}`)
	if ie.Type != "URIError" || ie.Message != "thrown from a timer" {
		t.Errorf("got %+v; want URIError: thrown from a timer\n%s", ie, out)
	}
	if _, cold, _ := f.invoke(context.Background(), []byte(`{}`)); !cold {
		t.Error("the process that threw was reused")
	}
	g, out := newManaged(t, "node/esm", &Options{Runtime: "nodejs20.x", Handler: "app.rejects"})
	ie = managedInvokeError(t, g, `{}`)
	if ie.Type != "Runtime.UnhandledPromiseRejection" || ie.Message != "Error: nobody listens" {
		t.Errorf("got %+v; want Runtime.UnhandledPromiseRejection: Error: nobody listens\n%s", ie, out)
	}
}

// TestRuntimeLogs checks the log lines of console.* and logging, in
// Lambda's text and JSON formats, filtered by AWS_LAMBDA_LOG_LEVEL.
func TestRuntimeLogs(t *testing.T) {
	type record struct {
		Timestamp string `json:"timestamp"`
		Level     string `json:"level"`
		Message   any    `json:"message"`
		RequestID string `json:"requestId"`
		ErrorType string `json:"errorType"`
	}
	for _, tc := range []struct {
		name, dir, runtime, handler string
		env                         map[string]string
		want                        []string // levels of the JSON lines, in order
		text                        []string // parts of text lines, in order
	}{
		{name: "node JSON", dir: "node/esm", runtime: "nodejs20.x", handler: "app.logs",
			env: map[string]string{"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"}, want: []string{"INFO", "INFO", "WARN", "ERROR"}},
		{name: "node JSON debug", dir: "node/esm", runtime: "nodejs20.x", handler: "app.logs",
			env: map[string]string{"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "DEBUG"}, want: []string{"DEBUG", "INFO", "INFO", "WARN", "ERROR"}},
		{name: "node text", dir: "node/esm", runtime: "nodejs20.x", handler: "app.logs",
			text: []string{"\t{id}\tDEBUG\tdebug line", "\t{id}\tINFO\tinfo line { n: 1 }", "\t{id}\tINFO\tlog line 2", "\t{id}\tWARN\twarn line", "\t{id}\tERROR\terror line Error: inner"}},
		{name: "python JSON", dir: "python", runtime: "python3.11", handler: "pkg.handlers.logs",
			env: map[string]string{"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"}, want: []string{"INFO", "WARNING", "ERROR"}},
		{name: "python text", dir: "python", runtime: "python3.11", handler: "pkg.handlers.logs",
			// Python's root logger keeps its WARNING level, as on Lambda.
			text: []string{"[WARNING]\t", "Z\t{id}\twarn line", "[ERROR]\t", "Z\t{id}\terror line", "printed line"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, out := newManaged(t, tc.dir, &Options{Runtime: tc.runtime, Handler: tc.handler, ExtraEnv: tc.env})
			if got, err := f.Invoke(context.Background(), []byte(`{}`)); err != nil || string(got) != `"logged"` {
				t.Fatalf("Invoke = %s, %v\n%s", got, err, out)
			}
			f.Close() // all output written
			var id string
			var levels []string
			lines := strings.Split(out.String(), "\n")
			for _, line := range lines {
				line, ok := strings.CutPrefix(line, "function: ")
				if !ok || !strings.HasPrefix(line, "{") {
					continue
				}
				var r record
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Errorf("line %q: %v", line, err)
					continue
				}
				if _, err := time.Parse(time.RFC3339Nano, r.Timestamp); err != nil || !strings.HasSuffix(r.Timestamp, "Z") {
					t.Errorf("line %q: timestamp %q", line, r.Timestamp)
				}
				if r.RequestID == "" || id != "" && r.RequestID != id {
					t.Errorf("line %q: requestId %q", line, r.RequestID)
				}
				id = r.RequestID
				levels = append(levels, r.Level)
			}
			if tc.want != nil && strings.Join(levels, " ") != strings.Join(tc.want, " ") {
				t.Errorf("JSON lines of levels %v; want %v\n%s", levels, tc.want, out)
			}
			if tc.text != nil {
				s := out.String()
				// The request id is the one text lines carry.
				if i := strings.Index(s, "line"); i >= 0 {
					fields := strings.Split(s[strings.LastIndex(s[:i], "function: "):i], "\t")
					for _, fl := range fields {
						if len(fl) == 36 && strings.Count(fl, "-") == 4 {
							id = fl
						}
					}
				}
				if id == "" {
					t.Fatalf("no request id in the text lines:\n%s", s)
				}
				for _, part := range tc.text {
					part = strings.ReplaceAll(part, "{id}", id)
					i := strings.Index(s, part)
					if i < 0 {
						t.Errorf("output lacks %q (in order):\n%s", part, out)
						break
					}
					s = s[i+len(part):]
				}
				if strings.Contains(out.String(), "debug line") && tc.runtime == "python3.11" {
					t.Errorf("python's DEBUG line was printed:\n%s", out)
				}
			}
		})
	}
}

// TestNewRuntimeErrors checks what NewRuntime refuses.
func TestNewRuntimeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"no runtime", Options{Handler: "app.handler"}, `Runtime "provided.al2023" is not a Node.js or Python runtime`},
		{"go", Options{Runtime: "go1.x", Handler: "app.handler"}, "not a Node.js or Python runtime"},
		{"old node", Options{Runtime: "nodejs16.x", Handler: "app.handler"}, `Runtime "nodejs16.x"`},
		{"java", Options{Runtime: "java21", Handler: "app.handler"}, `Runtime "java21"`},
		{"python2", Options{Runtime: "python2.7", Handler: "app.handler"}, `Runtime "python2.7"`},
		{"no handler", Options{Runtime: "nodejs20.x"}, "empty Handler"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRuntime(t.TempDir(), &tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "lambdaenv: ") {
				t.Errorf("NewRuntime: %v; want an error containing %q", err, tc.want)
			}
		})
	}
	for _, rt := range []string{"nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x", "nodejs100.x", "python3.7", "python3.13", "python3.14"} {
		f, err := NewRuntime(t.TempDir(), &Options{Runtime: rt, Handler: "app.handler"})
		if err != nil {
			t.Errorf("NewRuntime(%s): %v", rt, err)
			continue
		}
		f.Close()
	}
	if _, err := NewBinary("bootstrap", &Options{Runtime: "nodejs20.x"}); err == nil || !strings.Contains(err.Error(), "use NewRuntime") {
		t.Errorf("NewBinary with nodejs20.x: %v; want an error naming NewRuntime", err)
	}
}

// TestRuntimeMissingInterpreter checks that a missing interpreter fails
// invocations with Runtime.InvalidEntrypoint.
func TestRuntimeMissingInterpreter(t *testing.T) {
	f, err := NewRuntime(t.TempDir(), &Options{Runtime: "python3.12", Handler: "app.handler", Interpreter: filepath.Join(t.TempDir(), "python3.12"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ie := managedInvokeError(t, f, `{}`); ie.Type != "Runtime.InvalidEntrypoint" {
		t.Errorf("got %+v; want Runtime.InvalidEntrypoint", ie)
	}
}

// BenchmarkRuntime measures an invocation of a warm Node.js or Python
// environment (the Runtime API round trip and the client's work), and a cold
// one: process start, client and handler load, first invocation.
func BenchmarkRuntime(b *testing.B) {
	for _, tc := range []struct{ name, interp, dir, runtime, handler string }{
		{"node", "node", "node/esm", "nodejs20.x", "app.nested.deep.fn"},
		{"python", "python3", "python", "python3.11", "pkg.handlers.handler"},
	} {
		if _, err := exec.LookPath(tc.interp); err != nil {
			b.Logf("%s is not on PATH", tc.interp)
			continue
		}
		interp, _ := exec.LookPath(tc.interp)
		// A real path, not a version manager's shim, as lambdaws local runs.
		if real, err := exec.Command(interp, "-e", "console.log(process.execPath)").Output(); err == nil && tc.interp == "node" {
			interp = strings.TrimSpace(string(real))
		} else if real, err := exec.Command(interp, "-c", "import sys; print(sys.executable)").Output(); err == nil && tc.interp == "python3" {
			interp = strings.TrimSpace(string(real))
		}
		opts := &Options{Runtime: tc.runtime, Handler: tc.handler, Interpreter: interp, Output: &testenv.LockedBuffer{}, Logger: quiet, Concurrency: 1}
		b.Run(tc.name+"/warm", func(b *testing.B) {
			f, err := NewRuntime(filepath.Join("testdata", tc.dir), opts)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			for b.Loop() {
				if _, err := f.Invoke(context.Background(), []byte(`{"action":"x"}`)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/cold", func(b *testing.B) {
			f, err := NewRuntime(filepath.Join("testdata", tc.dir), opts)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			for b.Loop() {
				f.Reset()
				if _, err := f.Invoke(context.Background(), []byte(`{}`)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
