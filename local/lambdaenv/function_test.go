package lambdaenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// quiet is a logger for functions under test.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newTestFunction is New closed by the test's cleanup.
func newTestFunction(t *testing.T, handler any, opts *Options) *Function {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	f := New(handler, opts)
	t.Cleanup(func() { f.Close() })
	return f
}

// mustInvoke invokes f and fails the test on error.
func mustInvoke(t *testing.T, f *Function, payload string) (out string, cold bool) {
	t.Helper()
	b, cold, err := f.invoke(context.Background(), []byte(payload))
	if err != nil {
		t.Fatalf("invoke(%s): %v", payload, err)
	}
	return string(b), cold
}

// invokeError invokes f and returns its *InvokeError, failing the test on
// success or another error.
func invokeError(t *testing.T, f *Function, payload string) *InvokeError {
	t.Helper()
	out, _, err := f.invoke(context.Background(), []byte(payload))
	var ie *InvokeError
	if !errors.As(err, &ie) {
		t.Fatalf("invoke(%s) = %q, %v; want an *InvokeError", payload, out, err)
	}
	return ie
}

// await receives from c or fails the test after 10 s.
func await[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// traceID is the form of Lambda's trace header (X-Ray's trace id format).
var traceID = regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=[01]$`)

type cmd struct {
	Op  string `json:"op"`
	Arg string `json:"arg,omitempty"`
}

func TestFunctionEcho(t *testing.T) {
	f := newTestFunction(t, func(ctx context.Context, c cmd) (cmd, error) {
		lc, ok := lambdacontext.FromContext(ctx)
		if !ok || len(lc.AwsRequestID) != 36 || !strings.HasSuffix(lc.InvokedFunctionArn, ":function:echo") {
			return cmd{}, fmt.Errorf("lambda context %+v", lc)
		}
		if tid, _ := ctx.Value("x-amzn-trace-id").(string); !traceID.MatchString(tid) {
			return cmd{}, fmt.Errorf("trace header %q", tid)
		}
		return c, nil
	}, &Options{Name: "echo"})
	out, cold := mustInvoke(t, f, `{"op":"echo","arg":"hi"}`)
	if out != `{"op":"echo","arg":"hi"}` || !cold {
		t.Errorf("first invoke = %s, cold %v; want the echo, cold", out, cold)
	}
	if _, cold := mustInvoke(t, f, `{"op":"echo"}`); cold {
		t.Error("second invoke was cold; want the idle environment reused")
	}
}

func TestFunctionDeadline(t *testing.T) {
	const timeout = 3 * time.Second
	f := newTestFunction(t, func(ctx context.Context) (time.Duration, error) {
		d, ok := ctx.Deadline()
		if !ok {
			return 0, errors.New("no deadline")
		}
		return time.Until(d), nil
	}, &Options{Timeout: timeout})
	out, _ := mustInvoke(t, f, `{}`)
	var left time.Duration
	json.Unmarshal([]byte(out), &left)
	if left <= 0 || left > timeout {
		t.Errorf("deadline %v away; want within the %v timeout", left, timeout)
	}
}

// TestFunctionParallel proves two invocations run at once: each waits for
// the other to start, which would never happen if they were serialised.
func TestFunctionParallel(t *testing.T) {
	started := make(chan struct{}, 2)
	release := make(chan struct{})
	f := newTestFunction(t, func(ctx context.Context) error {
		started <- struct{}{}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, nil)
	errc := make(chan error, 2)
	for range 2 {
		go func() { _, _, err := f.invoke(context.Background(), []byte(`{}`)); errc <- err }()
	}
	await(t, started, "the first invocation")
	await(t, started, "the second invocation, in parallel")
	close(release)
	for range 2 {
		if err := await(t, errc, "an invocation's end"); err != nil {
			t.Error(err)
		}
	}
}

func TestFunctionConcurrencyCap(t *testing.T) {
	started := make(chan struct{}, 3)
	release := make(chan struct{})
	f := newTestFunction(t, func(ctx context.Context) error {
		started <- struct{}{}
		<-release
		return nil
	}, &Options{Concurrency: 2})
	errc := make(chan error, 2)
	for range 2 {
		go func() { _, _, err := f.invoke(context.Background(), []byte(`{}`)); errc <- err }()
	}
	await(t, started, "the first invocation")
	await(t, started, "the second invocation")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := f.invoke(ctx, []byte(`{}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("third invocation with two busy environments and Concurrency 2: %v; want it to wait until ctx ends", err)
	}
	close(release)
	for range 2 {
		if err := await(t, errc, "an invocation's end"); err != nil {
			t.Error(err)
		}
	}
	if _, cold := mustInvoke(t, f, `{}`); cold {
		t.Error("invocation after the busy ones ended was cold; want a warm environment")
	}
}

func TestFunctionTimeout(t *testing.T) {
	hung := make(chan struct{})
	t.Cleanup(func() { close(hung) })
	f := newTestFunction(t, func(c cmd) (string, error) {
		if c.Op == "hang" {
			<-hung // ignores its context, as a stuck call would
		}
		return "ok", nil
	}, &Options{Timeout: 200 * time.Millisecond})
	mustInvoke(t, f, `{}`)
	ie := invokeError(t, f, `{"op":"hang"}`)
	if ie.Type != "Sandbox.Timedout" || ie.Message != "Task timed out after 0.20 seconds" {
		t.Errorf("hung invocation: %+v; want Sandbox.Timedout", ie)
	}
	// The hung invocation ran in the idle environment of the first call, and
	// that environment is gone.
	if out, cold := mustInvoke(t, f, `{}`); out != `"ok"` || !cold {
		t.Errorf("after a timeout: %s, cold %v; want a fresh environment", out, cold)
	}
}

func TestFunctionErrors(t *testing.T) {
	f := newTestFunction(t, func(c cmd) (string, error) {
		switch c.Op {
		case "error":
			return "", errors.New("boom")
		case "panic":
			panic("kaboom")
		case "big":
			return strings.Repeat("x", maxResponse), nil
		}
		return "ok", nil
	}, nil)
	for _, tc := range []struct {
		op, typ, msg string
		cold         bool // the next invocation needs a new environment
	}{
		{"error", "errorString", "boom", false},
		{"panic", "string", "kaboom", true},
		{"big", "Function.ResponseSizeTooLarge", "Response payload size exceeded maximum allowed payload size (6291456 bytes).", false},
	} {
		t.Run(tc.op, func(t *testing.T) {
			mustInvoke(t, f, `{}`)
			ie := invokeError(t, f, `{"op":"`+tc.op+`"}`)
			if ie.Type != tc.typ || ie.Message != tc.msg {
				t.Errorf("got %+v; want {Type:%s Message:%s}", ie, tc.typ, tc.msg)
			}
			if _, cold := mustInvoke(t, f, `{}`); cold != tc.cold {
				t.Errorf("next invocation cold = %v; want %v", cold, tc.cold)
			}
		})
	}
}

// TestFunctionSharedHandler: a lambda.Handler value is one instance, so its
// invocations never overlap and each gets its own output.
func TestFunctionSharedHandler(t *testing.T) {
	var active, most atomic.Int32
	h := lambda.NewHandler(func(c cmd) (cmd, error) {
		n := active.Add(1)
		defer active.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(10 * time.Millisecond)
		return c, nil
	})
	f := newTestFunction(t, h, nil)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := fmt.Sprintf(`{"op":"echo","arg":"%d"}`, i)
			if out, _, err := f.invoke(context.Background(), []byte(want)); string(out) != want || err != nil {
				t.Errorf("got %s, %v; want %s", out, err, want)
			}
		}()
	}
	wg.Wait()
	if m := most.Load(); m != 1 {
		t.Errorf("%d invocations of a shared lambda.Handler ran at once; want 1", m)
	}
}

func TestFunctionReset(t *testing.T) {
	f := newTestFunction(t, func() error { return nil }, nil)
	mustInvoke(t, f, `{}`)
	if _, cold := mustInvoke(t, f, `{}`); cold {
		t.Fatal("second invocation cold")
	}
	f.Reset()
	if _, cold := mustInvoke(t, f, `{}`); !cold {
		t.Error("invocation after Reset was warm; want a fresh environment")
	}
}

func TestFunctionClose(t *testing.T) {
	started := make(chan struct{})
	hung := make(chan struct{})
	t.Cleanup(func() { close(hung) })
	f := newTestFunction(t, func() error {
		close(started)
		<-hung
		return nil
	}, nil)
	errc := make(chan error, 1)
	go func() { _, _, err := f.invoke(context.Background(), []byte(`{}`)); errc <- err }()
	await(t, started, "the invocation")
	f.Close()
	if err := await(t, errc, "the invocation Close interrupted"); !errors.Is(err, errClosed) {
		t.Errorf("invocation in progress at Close: %v; want errClosed", err)
	}
	if _, _, err := f.invoke(context.Background(), []byte(`{}`)); !errors.Is(err, errClosed) {
		t.Errorf("invocation after Close: %v; want errClosed", err)
	}
}

func TestNewPanics(t *testing.T) {
	for name, h := range map[string]any{
		"nil":          nil,
		"nil func":     (func() error)(nil),
		"not a func":   42,
		"three args":   func(context.Context, int, int) error { return nil },
		"first arg":    func(int, int) error { return nil },
		"interface":    func(io.Reader) error { return nil },
		"three values": func() (int, int, error) { return 0, 0, nil },
		"not an error": func() int { return 0 },
		"second value": func() (int, int) { return 0, 0 },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if p, _ := recover().(string); !strings.HasPrefix(p, "lambdaenv: ") {
					t.Errorf("panic %q; want a \"lambdaenv: \" panic", p)
				}
			}()
			New(h, nil)
		})
	}
	t.Run("invalid options", func(t *testing.T) {
		defer func() {
			if p, _ := recover().(string); !strings.HasPrefix(p, "lambdaenv: function function: negative Timeout") {
				t.Errorf("panic %q; want the options' error", p)
			}
		}()
		New(func() error { return nil }, &Options{Timeout: -1})
	})
}

func TestFunctionCloseLeaks(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	f := New(func(c cmd) (cmd, error) { return c, nil }, &Options{Logger: quiet})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := f.invoke(context.Background(), []byte(`{}`)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	f.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("%d goroutines after Close, %d before", n, goroutines)
	}
}
