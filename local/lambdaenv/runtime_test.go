package lambdaenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/internal/apigw"
	"github.com/lambdaws/lambdaws/internal/testenv"
)

// binDir holds the testdata programs, built once per test binary run by
// testBinary and removed by TestMain.
var (
	binDir    string
	buildOnce sync.Once
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if go1xBin != "" {
		os.RemoveAll(filepath.Dir(go1xBin))
	}
	os.Exit(code)
}

// testBinary returns the path of the program in testdata/name, building
// every testdata/*/main.go the first time.
func testBinary(t testing.TB, name string) string {
	t.Helper()
	testenv.Integration(t, "builds and runs Lambda binaries")
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH: cannot build the testdata Lambda binaries")
	}
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "lambdaws-lambdaenv-"); buildErr != nil {
			return
		}
		args := []string{"build", "-o", binDir + string(filepath.Separator)}
		dirs, _ := os.ReadDir("testdata")
		for _, d := range dirs {
			if _, err := os.Stat(filepath.Join("testdata", d.Name(), "main.go")); err == nil {
				args = append(args, "./testdata/"+d.Name())
			}
		}
		out, err := exec.Command("go", args...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

// newTestBinary is NewBinary of testdata program name, closed by the test's
// cleanup; its output and log go to the returned buffer.
func newTestBinary(t *testing.T, name string, opts *Options) (*Function, *testenv.LockedBuffer) {
	t.Helper()
	return newBinaryAt(t, testBinary(t, name), opts)
}

// newBinaryAt is newTestBinary of the program at path.
func newBinaryAt(t *testing.T, path string, opts *Options) (*Function, *testenv.LockedBuffer) {
	t.Helper()
	var out testenv.LockedBuffer
	if opts == nil {
		opts = &Options{}
	}
	opts.Output = &out
	opts.Logger = slog.New(slog.NewTextHandler(&out, nil))
	f, err := NewBinary(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, &out
}

// echoReply is what testdata/echo returns.
type echoReply struct {
	Arg       string            `json:"arg"`
	Pid       int               `json:"pid"`
	Start     int64             `json:"start"`
	End       int64             `json:"end"`
	RequestID string            `json:"requestId"`
	ARN       string            `json:"arn"`
	Deadline  int64             `json:"deadline"`
	Env       map[string]string `json:"env"`
}

// echo invokes testdata/echo with payload and decodes its reply.
func echo(t *testing.T, f *Function, payload string) (echoReply, bool) {
	t.Helper()
	out, cold := mustInvoke(t, f, payload)
	var r echoReply
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("reply %q: %v", out, err)
	}
	return r, cold
}

// echoAll runs n invocations of payload at once and decodes their replies.
func echoAll(t *testing.T, f *Function, n int, payload string) []echoReply {
	t.Helper()
	replies := make([]echoReply, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, _, err := f.invoke(context.Background(), []byte(payload))
			if err == nil {
				err = json.Unmarshal(out, &replies[i])
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return replies
}

// reaped reports whether process pid has ended and been waited for.
func reaped(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestBinaryEcho(t *testing.T) {
	f, _ := newTestBinary(t, "echo", &Options{Name: "echo", Timeout: 5 * time.Second})
	r1, cold := echo(t, f, `{"arg":"hi"}`)
	if r1.Arg != "hi" || !cold {
		t.Errorf("first invoke: %+v, cold %v; want the echo, cold", r1, cold)
	}
	if len(r1.RequestID) != 36 || !strings.HasSuffix(r1.ARN, ":function:echo") {
		t.Errorf("lambda context: request id %q, ARN %q", r1.RequestID, r1.ARN)
	}
	if r1.Deadline <= 0 || r1.Deadline > 5000 {
		t.Errorf("ctx deadline %d ms away; want within the 5 s timeout", r1.Deadline)
	}
	r2, cold := echo(t, f, `{}`)
	if cold || r2.Pid != r1.Pid {
		t.Errorf("second invoke: pid %d, cold %v; want pid %d reused warm", r2.Pid, cold, r1.Pid)
	}
	if r2.RequestID == r1.RequestID {
		t.Error("two invocations with one request id")
	}
}

// TestBinaryParallel: two slow invocations run at the same time in two
// processes, as the times the function reports show.
func TestBinaryParallel(t *testing.T) {
	f, _ := newTestBinary(t, "echo", nil)
	r := echoAll(t, f, 2, `{"op":"sleep","ms":300}`)
	a, b := r[0], r[1]
	if a.Pid == b.Pid {
		t.Errorf("both invocations ran in process %d", a.Pid)
	}
	if a.Start >= b.End || b.Start >= a.End {
		t.Errorf("invocations did not overlap: [%d, %d] and [%d, %d]", a.Start, a.End, b.Start, b.End)
	}
}

// TestBinaryConcurrencyCap: six slow invocations on a function of
// concurrency 2 run in two processes, never more than two at a time.
func TestBinaryConcurrencyCap(t *testing.T) {
	f, _ := newTestBinary(t, "echo", &Options{Concurrency: 2})
	all := echoAll(t, f, 6, `{"op":"sleep","ms":50}`)
	pids := map[int]bool{}
	for _, r := range all {
		pids[r.Pid] = true
	}
	if len(pids) > 2 {
		t.Errorf("%d processes; want at most 2", len(pids))
	}
	for _, r := range all {
		n := 0
		for _, o := range all {
			if o.Start <= r.Start && r.Start < o.End {
				n++
			}
		}
		if n > 2 {
			t.Errorf("%d invocations running at %d; want at most 2", n, r.Start)
		}
	}
}

func TestBinaryTimeout(t *testing.T) {
	f, _ := newTestBinary(t, "echo", &Options{Timeout: 500 * time.Millisecond})
	r1, _ := echo(t, f, `{}`)
	ie := invokeError(t, f, `{"op":"hang"}`)
	if ie.Type != "Sandbox.Timedout" || ie.Message != "Task timed out after 0.50 seconds" {
		t.Errorf("hung invocation: %+v; want Sandbox.Timedout", ie)
	}
	if !reaped(r1.Pid) {
		t.Errorf("process %d still exists after its invocation timed out", r1.Pid)
	}
	if r2, cold := echo(t, f, `{}`); !cold || r2.Pid == r1.Pid {
		t.Errorf("after a timeout: pid %d, cold %v; want a fresh process", r2.Pid, cold)
	}
}

func TestBinaryExit(t *testing.T) {
	f, log := newTestBinary(t, "echo", nil)
	r1, _ := echo(t, f, `{}`)
	ie := invokeError(t, f, `{"op":"exit"}`)
	if ie.Type != "Runtime.ExitError" || ie.Message != "Runtime exited with error: exit status 1" {
		t.Errorf("exit mid-invoke: %+v; want Runtime.ExitError", ie)
	}
	if r2, cold := echo(t, f, `{}`); !cold || r2.Pid == r1.Pid {
		t.Errorf("after an exit: pid %d, cold %v; want a fresh process", r2.Pid, cold)
	}
	if want := fmt.Sprintf("pid=%d status=\"exit status 1\"", r1.Pid); !strings.Contains(log.String(), want) {
		t.Errorf("log does not say %s:\n%s", want, log)
	}
}

func TestBinaryErrors(t *testing.T) {
	f, _ := newTestBinary(t, "echo", nil)
	for _, tc := range []struct {
		op, typ string
		fresh   bool // the next invocation needs a new process
	}{
		{"error", "errorString", false},
		{"panic", "string", true}, // aws-lambda-go exits after reporting a panic
	} {
		t.Run(tc.op, func(t *testing.T) {
			r1, _ := echo(t, f, `{}`)
			ie := invokeError(t, f, `{"op":"`+tc.op+`","arg":"boom"}`)
			if ie.Type != tc.typ || ie.Message != "boom" {
				t.Errorf("got %+v; want {Type:%s Message:boom}", ie, tc.typ)
			}
			r2, cold := echo(t, f, `{}`)
			if fresh := r2.Pid != r1.Pid; fresh != tc.fresh || cold != tc.fresh {
				t.Errorf("next invocation in a new process: %v, cold %v; want %v", fresh, cold, tc.fresh)
			}
		})
	}
}

func TestBinaryInitError(t *testing.T) {
	for _, tc := range []struct {
		mode, typ, msg string
	}{
		{"hang", "Runtime.InitError", "Runtime did not ask for an invocation within 0.30 seconds of starting; it never called the Runtime API"},
		{"exit", "Runtime.InitError", "Runtime exited with error: exit status 3"},
		{"error", "Config.Missing", "no config"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			f, _ := newTestBinary(t, "badinit", &Options{Env: map[string]string{"BADINIT": tc.mode}})
			if tc.mode == "hang" {
				// Only the hang waits for the init timeout: the other modes
				// end on their event (the exit, the error report), however
				// slow a loaded machine starts the process.
				f.initTimeout = 300 * time.Millisecond
			}
			ie := invokeError(t, f, `{}`)
			if ie.Type != tc.typ || ie.Message != tc.msg {
				t.Errorf("got %+v; want {Type:%s Message:%s}", ie, tc.typ, tc.msg)
			}
		})
	}
	// A process that did something else says what, at its init timeout.
	for _, tc := range []struct {
		mode, did, want string
	}{
		{"listen", "listening on 127.0.0.1:", "; it never called the Runtime API and listens on TCP port "},
		{"wrongpath", "asked", "; it made 1 other requests to the Runtime API (last: GET /runtime/invocation/next)"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			// The timeout must fire after the process acted: try longer
			// timeouts until it did, rather than guess how slow it starts.
			for timeout := 300 * time.Millisecond; ; timeout *= 3 {
				f, out := newTestBinary(t, "badinit", &Options{Env: map[string]string{"BADINIT": tc.mode}})
				f.initTimeout = timeout
				ie := invokeError(t, f, `{}`)
				f.Close()
				if strings.Contains(ie.Message, tc.want) {
					if tc.mode == "listen" {
						_, port, _ := strings.Cut(out.String(), tc.did)
						if port, _, _ = strings.Cut(port, "\n"); !strings.Contains(ie.Message, "TCP port "+port+":") {
							t.Errorf("got %q; want the port of %q", ie.Message, out)
						}
					}
					return
				}
				if strings.Contains(out.String(), tc.did) && timeout > 5*time.Second || timeout > 30*time.Second {
					t.Fatalf("got %+v; want a message containing %q (output %q)", ie, tc.want, out)
				}
			}
		})
	}
	t.Run("missing binary", func(t *testing.T) {
		f := mustNewBinary(t, filepath.Join(t.TempDir(), "bootstrap"), &Options{Logger: quiet})
		defer f.Close()
		if ie := invokeError(t, f, `{}`); ie.Type != "Runtime.InvalidEntrypoint" {
			t.Errorf("got %+v; want Runtime.InvalidEntrypoint", ie)
		}
	})
}

func TestBinaryEnv(t *testing.T) {
	t.Setenv("_LAMBDA_SERVER_PORT", "9001") // would put aws-lambda-go in RPC mode
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLOCAL")
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000")
	t.Setenv("AWS_REGION", "eu-west-3")
	t.Setenv("LAMBDAWS_UNRELATED", "x")
	f, _ := newTestBinary(t, "echo", &Options{Name: "envfn", MemorySize: 512, Env: map[string]string{"TZ": "Europe/Paris", "EXTRA": "1"}})
	r, _ := echo(t, f, `{"op":"env"}`)
	dir := filepath.Dir(testBinary(t, "echo"))
	for k, want := range map[string]string{
		"_HANDLER":                        "echo",
		"LAMBDA_TASK_ROOT":                dir,
		"LAMBDA_RUNTIME_DIR":              dir,
		"AWS_LAMBDA_FUNCTION_NAME":        "envfn",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/envfn",
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      "eu-west-3",
		"AWS_DEFAULT_REGION":              "eu-west-3",
		"AWS_EXECUTION_ENV":               "AWS_Lambda_provided.al2023",
		"TZ":                              "Europe/Paris", // Options.Env comes last
		"EXTRA":                           "1",
		"AWS_ACCESS_KEY_ID":               "AKIDLOCAL",
		"AWS_ENDPOINT_URL_DYNAMODB":       "http://127.0.0.1:8000",
	} {
		if got := r.Env[k]; got != want {
			t.Errorf("%s=%q; want %q", k, got, want)
		}
	}
	if api := r.Env["AWS_LAMBDA_RUNTIME_API"]; !strings.HasPrefix(api, "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API=%q; want a loopback address", api)
	}
	if s := r.Env["AWS_LAMBDA_LOG_STREAM_NAME"]; !strings.Contains(s, "/[$LATEST]") {
		t.Errorf("AWS_LAMBDA_LOG_STREAM_NAME=%q", s)
	}
	for _, k := range []string{"_LAMBDA_SERVER_PORT", "LAMBDAWS_UNRELATED"} {
		if v, ok := r.Env[k]; ok {
			t.Errorf("%s=%q is set; want it absent", k, v)
		}
	}
	if !strings.HasSuffix(r.ARN, ":eu-west-3:123456789012:function:envfn") {
		t.Errorf("ARN %q", r.ARN)
	}
}

// TestNewBinaryErrors: settings Lambda refuses, which may come from a
// template, are errors naming what is wrong, not panics.
func TestNewBinaryErrors(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		opts       Options
		want       string
	}{
		{"empty path", "", Options{}, "empty binary path"},
		{"bad name", "bootstrap", Options{Name: "a b"}, `function name "a b"`},
		{"long name", "bootstrap", Options{Name: strings.Repeat("f", 65)}, "function name"},
		{"negative timeout", "bootstrap", Options{Timeout: -time.Second}, "negative Timeout"},
		{"overflowed timeout", "bootstrap", Options{Timeout: time.Duration(1<<63 - 1)}, "over Lambda's 15m0s"},
		{"long timeout", "bootstrap", Options{Timeout: 901 * time.Second}, "over Lambda's 15m0s"},
		{"negative concurrency", "bootstrap", Options{Concurrency: -1}, "negative Concurrency"},
		{"negative memory", "bootstrap", Options{MemorySize: -1}, "MemorySize -1 MB"},
		{"small memory", "bootstrap", Options{MemorySize: 64}, "MemorySize 64 MB"},
		{"large memory", "bootstrap", Options{MemorySize: 10241}, "MemorySize 10241 MB"},
		{"empty name", "bootstrap", Options{Env: map[string]string{"": "x"}}, `name ""`},
		{"equals in name", "bootstrap", Options{Env: map[string]string{"A=B": "x"}}, `name "A=B"`},
		{"NUL in name", "bootstrap", Options{Env: map[string]string{"A\x00B": "x"}}, `name "A\x00B"`},
		{"one letter", "bootstrap", Options{Env: map[string]string{"A": "x"}}, `name "A"`},
		{"digit first", "bootstrap", Options{Env: map[string]string{"1A": "x"}}, `name "1A"`},
		{"NUL in value", "bootstrap", Options{Env: map[string]string{"AB": "x\x00"}}, "AB holds a NUL"},
		{"region", "bootstrap", Options{Env: map[string]string{"AWS_REGION": "x"}}, "AWS_REGION is reserved"},
		{"handler", "bootstrap", Options{Env: map[string]string{"_HANDLER": "x"}}, "_HANDLER is reserved"},
		{"runtime API", "bootstrap", Options{Env: map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1"}}, "AWS_LAMBDA_RUNTIME_API is reserved"},
		{"credentials", "bootstrap", Options{Env: map[string]string{"AWS_SECRET_ACCESS_KEY": "x"}}, "AWS_SECRET_ACCESS_KEY is reserved"},
		{"RPC port", "bootstrap", Options{Env: map[string]string{"_LAMBDA_SERVER_PORT": "1"}}, "_LAMBDA_SERVER_PORT is reserved"},
		{"runtime", "bootstrap", Options{Runtime: "python3.12"}, `Runtime "python3.12"`},
		{"over 4 KB", "bootstrap", Options{Env: map[string]string{"BIG": strings.Repeat("x", 4094)}}, "4097 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewBinary(tc.path, &tc.opts)
			if err == nil {
				f.Close()
				t.Fatalf("no error; want one containing %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), "lambdaenv: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q; want a \"lambdaenv: \" error containing %q", err, tc.want)
			}
		})
	}
	// What Lambda accepts, at its limits.
	f, err := NewBinary("bootstrap", &Options{Name: strings.Repeat("f", 64), Timeout: 15 * time.Minute, MemorySize: 10240,
		Env: map[string]string{"TZ": "UTC", "AWS_LAMBDA_EXEC_WRAPPER": "", "BIG": strings.Repeat("x", 4096-len("TZUTCAWS_LAMBDA_EXEC_WRAPPERBIG"))}})
	if err != nil {
		t.Fatalf("settings at Lambda's limits: %v", err)
	}
	f.Close()
}

func TestRPCOnly(t *testing.T) {
	for v, want := range map[string]bool{
		"v1.17.0": true, "v1.1.0": true, "v1.18.0": false, "v1.54.0": false, "v2.0.0": false, "(devel)": false,
	} {
		if got := rpcOnly(v); got != want {
			t.Errorf("rpcOnly(%s) = %v; want %v", v, got, want)
		}
	}
	if h := protocolHint(testBinary(t, "echo")); h != "" {
		t.Errorf("hint for a binary built with today's aws-lambda-go: %q", h)
	}
}

// mustNewBinary is NewBinary failing the test on error.
func mustNewBinary(t testing.TB, path string, opts *Options) *Function {
	t.Helper()
	f, err := NewBinary(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestBinaryOutput(t *testing.T) {
	f, out := newTestBinary(t, "echo", &Options{Name: "printer"})
	r, _ := echo(t, f, `{"op":"print","arg":"hello"}`)
	f.Close() // flushes the unterminated last line
	for _, want := range []string{"printer: hello\n", "printer: to stderr\n", "printer: no newline\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !reaped(r.Pid) {
		t.Errorf("process %d still exists after Close", r.Pid)
	}
}

func TestBinaryReset(t *testing.T) {
	f, _ := newTestBinary(t, "echo", nil)
	r1, _ := echo(t, f, `{}`)
	f.Reset()
	if !reaped(r1.Pid) {
		t.Errorf("idle process %d still exists after Reset", r1.Pid)
	}
	if r2, cold := echo(t, f, `{}`); !cold || r2.Pid == r1.Pid {
		t.Errorf("after Reset: pid %d, cold %v; want a fresh process", r2.Pid, cold)
	}
}

// TestBinaryCloseLeaks: after Close, with idle and busy processes, nothing
// the Function started is left: no process, goroutine or file descriptor.
func TestBinaryCloseLeaks(t *testing.T) {
	testBinary(t, "echo") // build first: the build is no leak
	goroutines, fds := runtime.NumGoroutine(), openFDs(t)
	f, _ := newTestBinary(t, "echo", nil)
	idle := echoAll(t, f, 3, `{"op":"sleep","ms":200}`) // three processes, idle after this
	errc := make(chan error, 1)
	go func() { _, _, err := f.invoke(context.Background(), []byte(`{"op":"hang"}`)); errc <- err }()
	for running := false; !running; { // the hang took one of the three idle processes
		time.Sleep(time.Millisecond)
		f.mu.Lock()
		running = len(f.idle) == 2
		f.mu.Unlock()
	}
	f.Close()
	if err := <-errc; !errors.Is(err, errClosed) {
		t.Errorf("invocation running at Close: %v; want errClosed", err)
	}
	for _, r := range idle {
		if !reaped(r.Pid) {
			t.Errorf("process %d still exists after Close", r.Pid)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, goroutines, buf[:runtime.Stack(buf, true)])
	}
	if n := openFDs(t); n > fds {
		t.Errorf("%d open file descriptors after Close, %d before", n, fds)
	}
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd to count file descriptors")
	}
	return len(ents)
}

// TestRuntimeAPI checks what the Runtime API answers to requests a runtime
// might get wrong.
func TestRuntimeAPI(t *testing.T) {
	f, _ := newTestBinary(t, "echo", nil)
	f.anyPeer = true // this test is not the function's process
	echo(t, f, `{}`)
	f.mu.Lock()
	p := f.idle[0].(*process)
	f.mu.Unlock()
	addr := strings.TrimPrefix(envOf(p.cmd, "AWS_LAMBDA_RUNTIME_API"), "AWS_LAMBDA_RUNTIME_API=")
	if _, err := netip.ParseAddrPort(addr); err != nil {
		t.Fatalf("AWS_LAMBDA_RUNTIME_API=%s; want host:port, as on Lambda", addr)
	}
	port := strings.Split(addr, ":")[1]
	api := "http://" + addr + "/2018-06-01/runtime/"
	for _, tc := range []struct {
		method, url string
		header      http.Header
		status      int
	}{
		{"POST", api + "invocation/00000000-0000-4000-8000-000000000000/response", nil, 400},
		{"POST", api + "invocation/00000000-0000-4000-8000-000000000000/error", nil, 400},
		{"POST", api + "init/error", nil, 403}, // after init
		{"GET", api + "invocation/x/response", nil, 405},
		{"POST", api + "invocation/next", nil, 405},
		{"GET", api + "other", nil, 404},
		// What a web page could send: an Origin, a Referer, Fetch
		// metadata, or a rebound host name.
		{"GET", api + "invocation/next", http.Header{"Origin": {"http://evil.example"}}, 403},
		{"POST", api + "invocation/next", http.Header{"Origin": {"null"}}, 403},
		{"GET", api + "invocation/next", http.Header{"Referer": {"http://evil.example/"}}, 403},
		{"GET", api + "invocation/next", http.Header{"Sec-Fetch-Mode": {"no-cors"}}, 403},
		{"GET", api + "invocation/next", http.Header{"Sec-Fetch-Site": {"cross-site"}}, 403},
		{"GET", api + "invocation/next", http.Header{"Host": {"evil.example:" + port}}, 403},
		{"GET", api + "invocation/next", http.Header{"Host": {"localhost:" + port}}, 403},
	} {
		req, _ := http.NewRequest(tc.method, tc.url, strings.NewReader(`{}`))
		for k, v := range tc.header {
			req.Header[k] = v
		}
		if h := tc.header.Get("Host"); h != "" {
			req.Host = h
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s %v: %d; want %d", tc.method, tc.url, tc.header, resp.StatusCode, tc.status)
		}
	}
	// The process still serves after the junk: none took its invocation.
	if _, cold := echo(t, f, `{}`); cold {
		t.Error("the process was replaced")
	}
}

// TestRuntimeAPIPeers checks that on Linux only the environment's processes
// may use its Runtime API: a request from this test's process, with the
// right Host and no browser headers, is refused, while a runtime that is a
// child of the function's process (a bootstrap script that does not exec
// it) is served.
func TestRuntimeAPIPeers(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the peer check needs Linux's /proc")
	}
	bin := testBinary(t, "echo")
	script := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n'"+bin+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, out := newBinaryAt(t, script, nil)
	r, _ := echo(t, f, `{}`)
	f.mu.Lock()
	p := f.idle[0].(*process)
	f.mu.Unlock()
	if r.Pid == p.cmd.Process.Pid {
		t.Fatalf("the runtime is the script's process %d; want its child", r.Pid)
	}
	addr := strings.TrimPrefix(envOf(p.cmd, "AWS_LAMBDA_RUNTIME_API"), "AWS_LAMBDA_RUNTIME_API=")
	for _, path := range []string{"invocation/next", "invocation/00000000-0000-4000-8000-000000000000/response"} {
		method := map[bool]string{true: "GET", false: "POST"}[path == "invocation/next"]
		req, _ := http.NewRequest(method, "http://"+addr+"/2018-06-01/runtime/"+path, strings.NewReader(`{}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s from another process: %d; want 403", method, path, resp.StatusCode)
		}
	}
	if _, cold := echo(t, f, `{}`); cold {
		t.Error("the process was replaced")
	}
	if !strings.Contains(out.String(), "Runtime API refused a connection from outside the environment's processes") {
		t.Errorf("no warning of the refused connections:\n%s", out)
	}
}

// envOf finds variable k in cmd's environment.
func envOf(cmd *exec.Cmd, k string) string {
	for _, kv := range cmd.Env {
		if strings.HasPrefix(kv, k+"=") {
			return kv
		}
	}
	return ""
}

// TestRuntimeAPIBodies drives a process's Runtime API as a runtime would,
// with chunked bodies, trailers and oversized responses.
func TestRuntimeAPIBodies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		path    string // after invocation/{id}/
		body    string
		trailer http.Header
		status  int
		out     string
		typ     string // of the invocation's error
	}{
		{name: "response", path: "response", body: `{"ok":true}`, status: 202, out: `{"ok":true}`},
		{name: "error", path: "error", body: `{"errorMessage":"m","errorType":"T","stackTrace":[]}`, status: 202, typ: "T"},
		{name: "error not JSON", path: "error", body: `oops`, status: 202, typ: "Runtime.Unknown"},
		{name: "over 6 MB", path: "response", body: strings.Repeat("x", maxResponse+1), status: 413, typ: "Function.ResponseSizeTooLarge"},
		{name: "failed stream", path: "response", body: `partial`, status: 202, typ: "Stream.Broke", trailer: http.Header{
			"Lambda-Runtime-Function-Error-Type": {"Stream.Broke"},
			"Lambda-Runtime-Function-Error-Body": {"eyJlcnJvck1lc3NhZ2UiOiJtIn0="},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFunction(Options{Name: "function", Timeout: time.Minute, Logger: quiet})
			p := &process{f: f, next: make(chan *invocation, 1), ready: make(chan struct{}), stopping: make(chan struct{})}
			mux := http.NewServeMux()
			mux.HandleFunc("GET /next", p.serveNext)
			mux.HandleFunc("POST /{id}/response", p.serveResponse)
			mux.HandleFunc("POST /{id}/error", p.serveError)
			srv := httptest.NewServer(mux)
			defer srv.Close()
			inv := &invocation{id: apigw.NewUUID(), payload: []byte(`{}`), deadline: time.Now().Add(time.Minute), result: make(chan result, 1)}
			p.next <- inv
			resp, err := http.Get(srv.URL + "/next")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
			if id != inv.id {
				t.Fatalf("request id %q; want %q", id, inv.id)
			}
			if ms, err := strconv.ParseInt(resp.Header.Get("Lambda-Runtime-Deadline-Ms"), 10, 64); err != nil || ms != inv.deadline.UnixMilli() {
				t.Errorf("Lambda-Runtime-Deadline-Ms %q", resp.Header.Get("Lambda-Runtime-Deadline-Ms"))
			}
			if resp.Header.Get("Lambda-Runtime-Invoked-Function-Arn") == "" {
				t.Errorf("no Lambda-Runtime-Invoked-Function-Arn")
			}
			if tid := resp.Header.Get("Lambda-Runtime-Trace-Id"); !traceID.MatchString(tid) {
				t.Errorf("Lambda-Runtime-Trace-Id %q is not an X-Ray trace header", tid)
			}
			// Chunked, like aws-lambda-go's POSTs.
			req, _ := http.NewRequest("POST", srv.URL+"/"+id+"/"+tc.path, struct{ *strings.Reader }{strings.NewReader(tc.body)})
			req.ContentLength = -1
			req.Trailer = tc.trailer
			resp, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d; want %d", resp.StatusCode, tc.status)
			}
			r := <-inv.result
			var ie *InvokeError
			errors.As(r.err, &ie)
			if string(r.out) != tc.out || (tc.typ == "") != (ie == nil) || (ie != nil && ie.Type != tc.typ) {
				t.Errorf("invocation got %q, %v; want %q, type %q", r.out, r.err, tc.out, tc.typ)
			}
			// A second answer to the same invocation is refused.
			resp, err = http.Post(srv.URL+"/"+id+"/response", "application/json", strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 400 {
				t.Errorf("second answer: status %d; want 400", resp.StatusCode)
			}
		})
	}
}

func TestLineWriter(t *testing.T) {
	long := strings.Repeat("x", maxLine)
	for _, tc := range []struct {
		name   string
		writes []string
		want   string
	}{
		{"lines", []string{"a\nb\n"}, "f: a\nf: b\n"},
		{"split", []string{"a", "b\nc", "\n"}, "f: ab\nf: c\n"},
		{"empty line", []string{"\n"}, "f: \n"},
		{"no newline", []string{"a\nb"}, "f: a\nf: b\n"},
		{"long line", []string{long + "y", "z\n"}, "f: " + long + "\nf: yz\n"}, // cut: held back no more than maxLine
		{"line of maxLine", []string{long[1:], "x\n", "a\n"}, "f: " + long + "\nf: a\n"},
		{"filled by pieces", []string{long[2:], "xx", "yy\n"}, "f: " + long + "\nf: yy\n"},
		{"lines and a cut", []string{"a\n" + long + "b\nc"}, "f: a\nf: " + long + "\nf: b\nf: c\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			l := &lineWriter{o: &output{w: &out, prefix: "f: "}}
			for _, w := range tc.writes {
				l.Write([]byte(w))
			}
			l.flush()
			if got := out.String(); got != tc.want {
				t.Errorf("got %.80q (%d bytes); want %.80q (%d bytes)", got, len(got), tc.want, len(tc.want))
			}
		})
	}
}

// TestLineWriterLinear: a write without a newline costs no copy of the line
// held back (it did, so 640 KiB written byte by byte took 44 s).
func TestLineWriterLinear(t *testing.T) {
	l := &lineWriter{o: &output{w: io.Discard, prefix: "f: "}}
	l.Write(bytes.Repeat([]byte("x"), maxLine/2)) // a long partial line
	one := []byte("\r")
	if allocs := testing.AllocsPerRun(1000, func() { l.Write(one) }); allocs != 0 {
		t.Errorf("%v allocations per 1-byte write; want 0", allocs)
	}
}

// BenchmarkLineWriter writes 640 KiB of output one byte at a time, as a
// progress bar does.
func BenchmarkLineWriter(b *testing.B) {
	one := []byte("x")
	for b.Loop() {
		l := &lineWriter{o: &output{w: io.Discard, prefix: "f: "}}
		for range 640 << 10 {
			l.Write(one)
		}
	}
}

// BenchmarkInvoke measures an invocation of an echo function, in-process and
// through the Runtime API of a binary, one at a time and from parallel
// callers.
func BenchmarkInvoke(b *testing.B) {
	payload := []byte(`{"arg":"hello"}`)
	for _, kind := range []string{"in-process", "binary"} {
		var f *Function
		if kind == "binary" {
			f = mustNewBinary(b, testBinary(b, "echo"), &Options{Logger: quiet})
		} else {
			f = New(func(c cmd) (cmd, error) { return c, nil }, &Options{Logger: quiet})
		}
		b.Run(kind, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := f.invoke(context.Background(), payload); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(kind+"/parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := f.invoke(context.Background(), payload); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		f.Close()
	}
}

// TestBinaryExitKillsGroup checks that the processes a runtime started do
// not outlive it: when a process exits (here during its init) the rest of its
// process group is killed, as Lambda resets the whole sandbox.
func TestBinaryExitKillsGroup(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "bootstrap")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nsleep 300 &\necho $! > child.pid\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := mustNewBinary(t, script, &Options{Output: &testenv.LockedBuffer{}, Logger: quiet})
	defer f.Close()
	if ie := invokeError(t, f, `{}`); ie.Type != "Runtime.InitError" {
		t.Fatalf("got %+v, want Runtime.InitError", ie)
	}
	b, err := os.ReadFile(filepath.Join(dir, "child.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	deadline := time.Now().Add(5 * time.Second)
	for !ended(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("child process %d of the exited runtime still runs", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBinaryKillsSetsidChildren: a child that left the process group with
// setsid() ends with its function's process, whether that process exits
// by itself or Close kills it.
func TestBinaryKillsSetsidChildren(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("strays are tracked through Linux's /proc only")
	}
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid command")
	}
	echoPath := testBinary(t, "echo")
	mySession, err := getsid(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, then string
	}{
		{"process exits", "exit 3"},
		{"Close", "exec " + echoPath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			script := filepath.Join(dir, "bootstrap")
			// The grandchild also leaves the tree: its parent exits at once.
			src := "#!/bin/sh\nsetsid sh -c 'sh -c \"echo \\$\\$ > child.tmp; mv child.tmp child.pid; exec sleep 300\" &' \nwhile [ ! -e child.pid ]; do sleep 0.01; done\n" + tc.then + "\n"
			if err := os.WriteFile(script, []byte(src), 0o755); err != nil {
				t.Fatal(err)
			}
			f := mustNewBinary(t, script, &Options{Output: &testenv.LockedBuffer{}, Logger: quiet})
			_, _, err := f.invoke(context.Background(), []byte(`{}`))
			b, rerr := os.ReadFile(filepath.Join(dir, "child.pid"))
			if rerr != nil {
				t.Fatalf("invocation: %v; child: %v", err, rerr)
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
			if sid, _ := getsid(pid); sid == mySession {
				t.Fatalf("child %d: session %d, the function's; want another", pid, sid)
			}
			f.Close()
			deadline := time.Now().Add(10 * time.Second)
			for !ended(pid) {
				if time.Now().After(deadline) {
					t.Fatalf("child %d of the function's process still runs after Close", pid)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// getsid returns the session id of process pid.
func getsid(pid int) (int, error) {
	sid, _, errno := syscall.RawSyscall(syscall.SYS_GETSID, uintptr(pid), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(sid), nil
}

// ended reports whether process pid has ended: it is gone, or a zombie
// (a container's init may never reap the orphans it inherits).
func ended(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return reaped(pid)
	}
	// pid (comm) state ...: comm may hold spaces, the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}
