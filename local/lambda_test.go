package local_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/internal/testenv"
	"github.com/lambdaws/lambdaws/local"
	"github.com/lambdaws/lambdaws/local/lambdaenv"
)

// barrier returns a function that blocks until n callers are inside it at
// once, or fails the test after 5 s: proof that they run in parallel.
func barrier(t *testing.T, n int32) func() {
	var inside atomic.Int32
	all := make(chan struct{})
	return func() {
		if inside.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
		case <-time.After(5 * time.Second):
			t.Errorf("only %d of %d invocations ran at once", inside.Load(), n)
		}
	}
}

// TestParallelMessages checks that slow messages, from two connections and
// from one, run at the same time on separate environments.
func TestParallelMessages(t *testing.T) {
	slow := func(wait func()) handlerFunc {
		return func(_ context.Context, ev event) (response, error) {
			if ev.RequestContext.EventType == "MESSAGE" {
				wait()
			}
			return response{StatusCode: 200, Body: ev.Body}, nil
		}
	}
	t.Run("two connections", func(t *testing.T) {
		h := start(t, &local.Options{Routes: twoWay()}, slow(barrier(t, 2)))
		a, b := h.dial("", nil), h.dial("", nil)
		write(t, a, "a")
		write(t, b, "b")
		if read(t, a) != "a" || read(t, b) != "b" {
			t.Error("wrong replies")
		}
	})
	t.Run("one connection", func(t *testing.T) {
		h := start(t, &local.Options{Routes: twoWay()}, slow(barrier(t, 2)))
		c := h.dial("", nil)
		write(t, c, "1")
		write(t, c, "2")
		if got := read(t, c) + read(t, c); got != "12" && got != "21" {
			t.Errorf("replies %q", got)
		}
	})
}

// TestHungHandler checks that a handler that never returns times out with
// API Gateway's error frame, that other clients are served meanwhile, and
// that the connection is served again afterwards.
func TestHungHandler(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) }) // stands for select{}: lets the goroutine end after the test
	fn := func(_ context.Context, ev event) (response, error) {
		switch {
		case ev.Body == "hang":
			<-hang
		case ev.RequestContext.EventType == "CONNECT" && strings.Contains(ev.Headers["X-Test"], "hang"):
			<-hang
		}
		return response{StatusCode: 200, Body: ev.Body}, nil
	}
	f := lambdaenv.New(fn, &lambdaenv.Options{Timeout: 300 * time.Millisecond, Logger: discard})
	t.Cleanup(func() { f.Close() })
	g := local.New(f, &local.Options{Logger: discard, Routes: twoWay()})
	url := serve(t, g).url()
	dial := func(opts *websocket.DialOptions) (*websocket.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, url, opts)
		if err == nil {
			t.Cleanup(func() { c.CloseNow() })
		}
		return c, err
	}
	hung, err := dial(nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := dial(nil)
	if err != nil {
		t.Fatal(err)
	}
	write(t, hung, "hang")
	began := time.Now()
	for range 5 {
		write(t, other, "hi")
		if got := read(t, other); got != "hi" {
			t.Fatalf("other client got %q", got)
		}
	}
	if d := time.Since(began); d > 250*time.Millisecond {
		t.Errorf("the other client waited %v for 5 replies", d)
	}
	var frame struct{ Message, ConnectionID, RequestID string }
	if err := json.Unmarshal([]byte(read(t, hung)), &frame); err != nil || frame.Message != "Internal server error" || frame.ConnectionID == "" || frame.RequestID == "" {
		t.Errorf("hung client got %+v, %v; want the Internal server error frame", frame, err)
	}
	write(t, hung, "again")
	if got := read(t, hung); got != "again" {
		t.Errorf("after the timeout the client got %q", got)
	}
	t.Run("$connect", func(t *testing.T) {
		_, err := dial(&websocket.DialOptions{HTTPHeader: map[string][]string{"X-Test": {"hang"}}})
		if websocket.CloseStatus(err) != -1 || err == nil || !strings.Contains(err.Error(), "502") {
			t.Errorf("dial: %v, want 502", err)
		}
	})
}

// TestHandlerPanic checks that a panic fails only its invocation.
func TestHandlerPanic(t *testing.T) {
	h := start(t, &local.Options{Routes: twoWay()}, func(_ context.Context, ev event) (response, error) {
		if ev.Body == "panic" {
			panic("boom")
		}
		return response{StatusCode: 200, Body: ev.Body}, nil
	})
	c := h.dial("", nil)
	write(t, c, "panic")
	if got := read(t, c); !strings.HasPrefix(got, `{"message": "Internal server error"`) {
		t.Errorf("got %s", got)
	}
	write(t, c, "ok")
	if got := read(t, c); got != "ok" {
		t.Errorf("got %q after a panic", got)
	}
}

// TestRouteFunctions serves each route with its own function and checks
// which routes are two-way.
func TestRouteFunctions(t *testing.T) {
	seen := make(chan string, 16)
	named := func(name string) *lambdaenv.Function {
		f := lambdaenv.New(func(ev event) (response, error) {
			seen <- name + " " + ev.RequestContext.RouteKey
			return response{StatusCode: 200, Body: name + " says " + ev.Body}, nil
		}, &lambdaenv.Options{Name: name, Logger: discard})
		t.Cleanup(func() { f.Close() })
		return f
	}
	g := local.New(nil, &local.Options{Logger: discard, Routes: map[string]local.Route{
		"$connect":    {Function: named("connect")},
		"$disconnect": {Function: named("disconnect")},
		"$default":    {Function: named("default"), TwoWay: true},
		"join":        {Function: named("join")},
	}})
	c := serve(t, g).dial("", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	next := func() string {
		select {
		case s := <-seen:
			return s
		case <-ctx.Done():
			return "nothing"
		}
	}
	if got := next(); got != "connect $connect" {
		t.Errorf("handshake served by %q", got)
	}
	write(t, c, `{"action":"join"}`)
	if got := next(); got != "join join" {
		t.Errorf("join served by %q", got)
	}
	write(t, c, "hello")
	if got := next(); got != "default $default" {
		t.Errorf("hello served by %q", got)
	}
	// join is one-way: the only frame is $default's response.
	if got := read(t, c); got != "default says hello" {
		t.Errorf("client got %q", got)
	}
	c.Close(websocket.StatusNormalClosure, "")
	if got := next(); got != "disconnect $disconnect" {
		t.Errorf("$disconnect served by %q", got)
	}
}

// TestQueuedMessagesHoldNoGoroutine checks that messages waiting for a busy
// Function cost no goroutine each: 500 clients sending 20 lines at once
// would otherwise hold 10,000 goroutines (and their stacks) while ten
// environments work through them.
func TestQueuedMessagesHoldNoGoroutine(t *testing.T) {
	started, release := make(chan struct{}, 64), make(chan struct{})
	busy := lambdaenv.New(func(ev event) (response, error) {
		started <- struct{}{}
		<-release
		return response{StatusCode: 200}, nil
	}, &lambdaenv.Options{Concurrency: 1, Logger: discard})
	fast := lambdaenv.New(func(ev event) (response, error) {
		return response{StatusCode: 200, Body: "pong"}, nil
	}, &lambdaenv.Options{Logger: discard})
	t.Cleanup(func() { busy.Close(); fast.Close() })
	h := serve(t, local.New(nil, &local.Options{Logger: discard, Routes: map[string]local.Route{
		"$default": {Function: busy},
		"ping":     {Function: fast, TwoWay: true},
	}}))
	c := h.dial("", nil)
	wait := func(what string) {
		t.Helper()
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out waiting for %s", what)
		}
	}
	write(t, c, "first")
	wait("the first message")
	before := runtime.NumGoroutine()
	const queued = 25 // under the gateway's 32 messages in flight per connection
	for range queued {
		write(t, c, "queued")
	}
	// The reader reads in order: once ping is answered, every queued
	// message has been read and is waiting for busy's one environment.
	write(t, c, `{"action":"ping"}`)
	if got := read(t, c); got != "pong" {
		t.Fatalf("got %q, want pong", got)
	}
	if grew := runtime.NumGoroutine() - before; grew >= queued {
		t.Errorf("%d messages waiting for an environment hold %d more goroutines", queued, grew)
	}
	close(release)
	for range queued {
		wait("a queued message")
	}
}

// TestOptionsValidate: configuration mistakes are errors from
// Options.Validate and Serve, panics from New; a route without Function is
// New's alone (its handler may serve it).
func TestOptionsValidate(t *testing.T) {
	fn := lambdaenv.New(func() error { return nil }, nil)
	t.Cleanup(func() { fn.Close() })
	def := map[string]local.Route{"$default": {Function: fn}}
	for name, tc := range map[string]struct {
		opts *local.Options
		want string // Validate's error; "" for none
	}{
		"route without function":      {&local.Options{Routes: map[string]local.Route{"$default": {}}}, ""},
		"empty route key":             {&local.Options{Routes: map[string]local.Route{"": {Function: fn}}}, "empty route key"},
		"authorizer without function": {&local.Options{Authorizer: &local.Authorizer{}, Routes: def}, "Authorizer without Function"},
		"bad identity source": {&local.Options{Authorizer: &local.Authorizer{Function: fn,
			IdentitySource: []string{"method.request.header.Auth"}}, Routes: def}, `identity source "method.request.header.Auth"`},
		"bad expression": {&local.Options{RouteSelectionExpression: "$request.body.", Routes: def}, "local: "},
		"fault rate":     {&local.Options{FaultRate: 2, Routes: def}, "FaultRate 2"},
		"NaN fault rate": {&local.Options{FaultRate: math.NaN(), Routes: def}, "FaultRate NaN"},
	} {
		t.Run(name, func(t *testing.T) {
			err := tc.opts.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), "local: ") || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate: %v; want %q", err, tc.want)
			}
			if tc.want != "" {
				ln, lerr := local.Listen("127.0.0.1:0")
				if lerr != nil {
					t.Fatal(lerr)
				}
				if serr := local.Serve(context.Background(), ln, nil, tc.opts); serr == nil || serr.Error() != err.Error() {
					t.Errorf("Serve: %v; want %v", serr, err)
				}
			}
			defer func() {
				if p := recover(); p == nil || !strings.HasPrefix(p.(string), "local: ") {
					t.Errorf("New: panic %v, want one prefixed local:", p)
				}
			}()
			local.New(nil, tc.opts)
		})
	}
	if err := (*local.Options)(nil).Validate(); err != nil {
		t.Errorf("nil Options: %v", err)
	}
}

// TestInvocationLog checks the line logged per invocation.
func TestInvocationLog(t *testing.T) {
	var buf testenv.LockedBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	h := start(t, &local.Options{Logger: logger, Routes: twoWay()}, func(_ context.Context, ev event) (response, error) {
		if ev.Body == "fail" {
			return response{}, errors.New("no")
		}
		return response{StatusCode: 200, Body: ev.Body}, nil
	})
	c := h.dial("", nil)
	write(t, c, "ok")
	write(t, c, "fail")
	read(t, c) // both messages were served (in either order), so Close fails neither
	read(t, c)
	c.Close(websocket.StatusNormalClosure, "")
	h.nextOf("DISCONNECT")
	h.g.Close()
	type line struct {
		Msg, ConnectionID, Route, Function, Start, GatewayRequestID string
		Status                                                      int
		Duration                                                    int64
	}
	var lines []line
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var ln line
		if err := json.Unmarshal([]byte(l), &ln); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		lines = append(lines, ln)
	}
	// $connect comes first; the messages and $disconnect run concurrently,
	// so their lines come in any order.
	msgs, statuses := map[string]int{}, map[int]int{}
	for _, ln := range lines {
		if ln.Function != "function" || ln.ConnectionID == "" || ln.Route == "" || ln.GatewayRequestID == "" || ln.Duration <= 0 ||
			ln.Start != "cold" && ln.Start != "warm" {
			t.Errorf("incomplete line %+v", ln)
		}
		msgs[ln.Msg]++
		if ln.Msg == "local: message" {
			statuses[ln.Status]++
		}
	}
	if len(lines) != 4 || lines[0].Msg != "local: connect" || lines[0].Start != "cold" || msgs["local: disconnect"] != 1 ||
		statuses[200] != 1 || statuses[500] != 1 {
		t.Errorf("lines %+v", lines)
	}
}
