package lambdaenv

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/internal/testenv"
)

// go1xBin is integration/testdata/go1x, a function built with aws-lambda-go
// v1.17.0 in a module of its own, built once per test binary run.
var (
	go1xBin  string
	go1xOnce sync.Once
	go1xErr  error
)

// go1xBinary returns the path of the go1.x-era function, building it the
// first time into a folder that RemoveTestBinaries removes.
func go1xBinary(t testing.TB) string {
	t.Helper()
	testenv.Integration(t, "builds and runs a go1.x function")
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH: cannot build the go1.x function")
	}
	go1xOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lambdaws-go1x-")
		if err != nil {
			go1xErr = err
			return
		}
		go1xBin = filepath.Join(dir, "go1x")
		cmd := exec.Command("go", "build", "-o", go1xBin, ".")
		cmd.Dir = filepath.Join(testenv.RepoRoot(t), "integration", "testdata", "go1x")
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			go1xErr = fmt.Errorf("go build %s: %v\n%s", cmd.Dir, err, out)
		}
	})
	if go1xErr != nil {
		t.Fatal(go1xErr)
	}
	return go1xBin
}

// go1xReply is what integration/testdata/go1x returns.
type go1xReply struct {
	Arg       string            `json:"arg"`
	Pid       int               `json:"pid"`
	RequestID string            `json:"requestId"`
	ARN       string            `json:"arn"`
	Deadline  int64             `json:"deadline"`
	TraceID   string            `json:"traceId"`
	Env       map[string]string `json:"env"`
}

// newGo1x is NewBinary of the go1.x-era function with Runtime go1.x,
// closed by the test's cleanup; its output and log go to the returned
// buffer.
func newGo1x(t *testing.T, opts *Options) (*Function, *testenv.LockedBuffer) {
	t.Helper()
	path := go1xBinary(t)
	if opts == nil {
		opts = &Options{}
	}
	opts.Runtime = "go1.x"
	return newBinaryAt(t, path, opts)
}

func go1x(t *testing.T, f *Function, payload string) (go1xReply, bool) {
	t.Helper()
	out, cold := mustInvoke(t, f, payload)
	var r go1xReply
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("reply %q: %v", out, err)
	}
	return r, cold
}

// TestRPC: a binary built with aws-lambda-go v1.17, which speaks only the
// go1.x runtime's RPC protocol, is invoked with its Lambda context and
// reused warm.
func TestRPC(t *testing.T) {
	f, _ := newGo1x(t, &Options{Name: "old", Timeout: 5 * time.Second})
	r1, cold := go1x(t, f, `{"arg":"hi"}`)
	if r1.Arg != "hi" || !cold {
		t.Errorf("first invoke: %+v, cold %v; want the echo, cold", r1, cold)
	}
	if len(r1.RequestID) != 36 || !strings.HasSuffix(r1.ARN, ":function:old") || !strings.HasPrefix(r1.TraceID, "Root=1-") {
		t.Errorf("lambda context: request id %q, ARN %q, trace id %q", r1.RequestID, r1.ARN, r1.TraceID)
	}
	if r1.Deadline <= 0 || r1.Deadline > 5000 {
		t.Errorf("ctx deadline %d ms away; want within the 5 s timeout", r1.Deadline)
	}
	r2, cold := go1x(t, f, `{}`)
	if cold || r2.Pid != r1.Pid || r2.RequestID == r1.RequestID {
		t.Errorf("second invoke: pid %d, cold %v, request id %s; want pid %d reused warm with a new request id", r2.Pid, cold, r2.RequestID, r1.Pid)
	}
}

// TestRPCCurrent: a binary built with a current aws-lambda-go (without the
// lambda.norpc tag) still speaks the RPC protocol when it gets
// _LAMBDA_SERVER_PORT.
func TestRPCCurrent(t *testing.T) {
	f, _ := newBinaryAt(t, testBinary(t, "echo"), &Options{Runtime: "go1.x"})
	r, _ := echo(t, f, `{"op":"env","arg":"hi"}`)
	if r.Arg != "hi" || r.Env["_LAMBDA_SERVER_PORT"] == "" {
		t.Errorf("got %+v; want the echo, through the RPC protocol", r)
	}
}

func TestRPCEnv(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-3")
	f, _ := newGo1x(t, &Options{Name: "envfn", Env: map[string]string{"EXTRA": "1"}})
	r, _ := go1x(t, f, `{"op":"env"}`)
	for k, want := range map[string]string{
		"_HANDLER":                 "go1x",
		"AWS_LAMBDA_FUNCTION_NAME": "envfn",
		"AWS_EXECUTION_ENV":        "AWS_Lambda_go1.x",
		"AWS_REGION":               "eu-west-3",
		"EXTRA":                    "1",
	} {
		if got := r.Env[k]; got != want {
			t.Errorf("%s=%q; want %q", k, got, want)
		}
	}
	if _, ok := r.Env["AWS_LAMBDA_RUNTIME_API"]; ok {
		t.Error("AWS_LAMBDA_RUNTIME_API is set for a go1.x function")
	}
	if r.Env["_LAMBDA_SERVER_PORT"] == "" || !strings.Contains(r.Env["AWS_LAMBDA_LOG_STREAM_NAME"], "/[$LATEST]") {
		t.Errorf("_LAMBDA_SERVER_PORT=%q AWS_LAMBDA_LOG_STREAM_NAME=%q", r.Env["_LAMBDA_SERVER_PORT"], r.Env["AWS_LAMBDA_LOG_STREAM_NAME"])
	}
}

// TestRPCParallel: two slow invocations run at the same time in two
// processes, each on a port of its own.
func TestRPCParallel(t *testing.T) {
	f, _ := newGo1x(t, nil)
	type res struct {
		r   go1xReply
		err error
	}
	results := make(chan res, 2)
	for range 2 {
		go func() {
			out, _, err := f.invoke(t.Context(), []byte(`{"op":"sleep","ms":500}`))
			var r go1xReply
			if err == nil {
				err = json.Unmarshal(out, &r)
			}
			results <- res{r, err}
		}()
	}
	a, b := <-results, <-results
	if a.err != nil || b.err != nil {
		t.Fatal(a.err, b.err)
	}
	if a.r.Pid == b.r.Pid {
		t.Errorf("both invocations ran in process %d", a.r.Pid)
	}
}

func TestRPCTimeout(t *testing.T) {
	f, _ := newGo1x(t, &Options{Timeout: 500 * time.Millisecond})
	r1, _ := go1x(t, f, `{}`)
	ie := invokeError(t, f, `{"op":"hang"}`)
	if ie.Type != "Sandbox.Timedout" || ie.Message != "Task timed out after 0.50 seconds" {
		t.Errorf("hung invocation: %+v; want Sandbox.Timedout", ie)
	}
	if !reaped(r1.Pid) {
		t.Errorf("process %d still exists after its invocation timed out", r1.Pid)
	}
	if r2, cold := go1x(t, f, `{}`); !cold || r2.Pid == r1.Pid {
		t.Errorf("after a timeout: pid %d, cold %v; want a fresh process", r2.Pid, cold)
	}
}

// TestRPCExit: a process that exits during an invocation fails it with
// Runtime.ExitError; one killed while idle is replaced at the next.
func TestRPCExit(t *testing.T) {
	f, log := newGo1x(t, nil)
	r1, _ := go1x(t, f, `{}`)
	ie := invokeError(t, f, `{"op":"exit"}`)
	if ie.Type != "Runtime.ExitError" || ie.Message != "Runtime exited with error: exit status 1" {
		t.Errorf("exit mid-invoke: %+v; want Runtime.ExitError", ie)
	}
	if want := fmt.Sprintf("pid=%d status=\"exit status 1\"", r1.Pid); !strings.Contains(log.String(), want) {
		t.Errorf("log does not say %s:\n%s", want, log)
	}
	r2, cold := go1x(t, f, `{}`)
	if !cold || r2.Pid == r1.Pid {
		t.Errorf("after an exit: pid %d, cold %v; want a fresh process", r2.Pid, cold)
	}
	f.mu.Lock()
	idle := f.idle[len(f.idle)-1].(*rpcProcess)
	f.mu.Unlock()
	syscall.Kill(r2.Pid, syscall.SIGKILL)
	// Until the Function has seen the exit, an invocation may still reach
	// the dead process (and fail with Runtime.ExitError, as one whose
	// process dies mid-invoke); the process being reaped is not enough.
	<-idle.exited
	if r3, cold := go1x(t, f, `{}`); !cold || r3.Pid == r2.Pid {
		t.Errorf("after a kill while idle: pid %d, cold %v; want a fresh process", r3.Pid, cold)
	}
}

// TestRPCErrors: a handler's error and panic are reported with
// aws-lambda-go's error types, and a panic ends the process, as the go1.x
// runtime did.
func TestRPCErrors(t *testing.T) {
	f, _ := newGo1x(t, nil)
	for _, tc := range []struct {
		op, typ string
		fresh   bool // the next invocation needs a new process
	}{
		{"error", "errorString", false},
		{"panic", "string", true},
	} {
		t.Run(tc.op, func(t *testing.T) {
			r1, _ := go1x(t, f, `{}`)
			ie := invokeError(t, f, `{"op":"`+tc.op+`","arg":"boom"}`)
			if ie.Type != tc.typ || ie.Message != "boom" {
				t.Errorf("got %+v; want {Type:%s Message:boom}", ie, tc.typ)
			}
			if tc.fresh && !reaped(r1.Pid) {
				t.Errorf("process %d still exists after the panic", r1.Pid)
			}
			r2, cold := go1x(t, f, `{}`)
			if fresh := r2.Pid != r1.Pid; fresh != tc.fresh || cold != tc.fresh {
				t.Errorf("next invocation in a new process: %v, cold %v; want %v", fresh, cold, tc.fresh)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		if ie := invokeError(t, f, `{"op":"big","ms":7}`); ie.Type != "Function.ResponseSizeTooLarge" {
			t.Errorf("got %+v; want Function.ResponseSizeTooLarge", ie)
		}
	})
}

func TestRPCInitError(t *testing.T) {
	for _, tc := range []struct {
		mode, msg string
	}{
		{"hang", "Runtime did not answer Function.Ping on _LAMBDA_SERVER_PORT (the go1.x runtime's RPC protocol) within 0.30 seconds of starting"},
		{"exit", "Runtime exited with error: exit status 3"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			f, _ := newGo1x(t, &Options{Env: map[string]string{"GO1X_INIT": tc.mode}})
			f.initTimeout = 300 * time.Millisecond
			ie := invokeError(t, f, `{}`)
			if ie.Type != "Runtime.InitError" || ie.Message != tc.msg {
				t.Errorf("got %+v; want {Type:Runtime.InitError Message:%s}", ie, tc.msg)
			}
		})
	}
	t.Run("missing binary", func(t *testing.T) {
		f, err := NewBinary(filepath.Join(t.TempDir(), "handler"), &Options{Runtime: "go1.x", Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if ie := invokeError(t, f, `{}`); ie.Type != "Runtime.InvalidEntrypoint" {
			t.Errorf("got %+v; want Runtime.InvalidEntrypoint", ie)
		}
	})
}

// TestRPCClose: Close ends the idle and the busy processes.
func TestRPCClose(t *testing.T) {
	f, _ := newGo1x(t, nil)
	r, _ := go1x(t, f, `{}`)
	errc := make(chan error, 1)
	go func() { _, _, err := f.invoke(t.Context(), []byte(`{"op":"hang"}`)); errc <- err }()
	f.Close()
	if err := <-errc; err != errClosed {
		t.Errorf("invocation at Close: %v; want errClosed", err)
	}
	if !reaped(r.Pid) {
		t.Errorf("process %d still exists after Close", r.Pid)
	}
}

// TestRPCTooLarge: a response over Lambda's 6 MB is refused as it arrives
// (its environment replaced), not read whole first: a function answering
// 64 MB, or announcing a gob message of almost 1 GiB, fails at once with
// Function.ResponseSizeTooLarge, and lambdaenv allocates a fraction of it.
func TestRPCTooLarge(t *testing.T) {
	for _, tc := range []struct {
		name    string
		newFunc func(t *testing.T) *Function
		payload string
	}{
		{"64 MB", func(t *testing.T) *Function {
			f, _ := newGo1x(t, &Options{Timeout: time.Minute})
			return f
		}, `{"op":"big","ms":64}`},
		{"1 GiB announced", func(t *testing.T) *Function {
			f, _ := newTestBinary(t, "badrpc", &Options{Runtime: "go1.x", Timeout: time.Minute, Env: map[string]string{"BADRPC": "flood"}})
			return f
		}, `{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.newFunc(t)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			ie := invokeError(t, f, tc.payload)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if ie.Type != "Function.ResponseSizeTooLarge" {
				t.Errorf("got %+v; want Function.ResponseSizeTooLarge", ie)
			}
			if took > 30*time.Second {
				t.Errorf("failed after %v; want at once, long before the 1 minute timeout", took)
			}
			// Reading 64 MB whole allocates it at least twice (gob's
			// buffer, the payload).
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%v, %d MB allocated", took, alloc>>20)
			if alloc > 32<<20 {
				t.Errorf("allocated %d MB during the invocation; want well under the response's size", alloc>>20)
			}
			f.mu.Lock()
			idle := len(f.idle)
			f.mu.Unlock()
			if idle != 0 {
				t.Errorf("%d idle environments after the refused response; want it replaced", idle)
			}
		})
	}
}

// TestRPCBroken: a function that closes its RPC connection, or answers
// what is not gob, while it keeps running, fails that invocation at once
// with Runtime.Unknown, not at the timeout, and its process is replaced.
func TestRPCBroken(t *testing.T) {
	for _, mode := range []string{"close", "garbage"} {
		t.Run(mode, func(t *testing.T) {
			f, _ := newTestBinary(t, "badrpc", &Options{Runtime: "go1.x", Timeout: time.Minute, Env: map[string]string{"BADRPC": mode}})
			start := time.Now()
			ie := invokeError(t, f, `{}`)
			if took := time.Since(start); took > 30*time.Second {
				t.Errorf("failed after %v; want at once, long before the 1 minute timeout", took)
			}
			if ie.Type != "Runtime.Unknown" || !strings.HasPrefix(ie.Message, "Runtime's RPC connection broke during the invocation: ") {
				t.Errorf("got %+v; want Runtime.Unknown: Runtime's RPC connection broke during the invocation", ie)
			}
			f.mu.Lock()
			idle := len(f.idle)
			f.mu.Unlock()
			if idle != 0 {
				t.Errorf("%d idle environments after the broken connection; want it replaced", idle)
			}
		})
	}
}
