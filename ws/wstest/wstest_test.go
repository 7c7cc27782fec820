package wstest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/sender"
	"github.com/lambdaws/lambdaws/ws"
	"github.com/lambdaws/lambdaws/ws/wstest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines leaked:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// leakedGoroutines waits up to d for the goroutines of lambdaws and of the
// WebSocket library to end, and returns the stacks of those left.
func leakedGoroutines(d time.Duration) string {
	deadline := time.Now().Add(d)
	for {
		buf := make([]byte, 1<<20)
		var leaked []string
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.HasPrefix(g, "goroutine ") && !strings.Contains(g, "leakedGoroutines") &&
				(strings.Contains(g, "lambdaws/lambdaws/") || strings.Contains(g, "coder/websocket")) {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// echoRouter replies to every message with its body and refuses the token
// "bad" with 401.
func echoRouter() *ws.Router {
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error {
		if req.Query("token") == "bad" {
			return ws.Reject(http.StatusUnauthorized, "bad token")
		}
		return nil
	})
	r.OnMessage(func(ctx context.Context, req *ws.Request) error {
		return ws.Reply(ctx, req.Body)
	})
	return r
}

func TestConnIDIsTheHandlersConnectionID(t *testing.T) {
	r := ws.NewRouter()
	var connected sync.Map
	r.OnConnect(func(ctx context.Context, req *ws.Request) error {
		connected.Store(req.ConnectionID, true)
		return nil
	})
	r.OnMessage(func(ctx context.Context, req *ws.Request) error {
		return ws.Reply(ctx, req.ConnectionID)
	})
	g := wstest.NewGateway(t, r, nil)
	a, b := g.Dial(t, nil), g.Dial(t, nil)
	if a.ID() == "" || a.ID() == b.ID() {
		t.Fatalf("ids %q and %q, want two distinct ids", a.ID(), b.ID())
	}
	for _, c := range []*wstest.Conn{a, b} {
		if _, ok := connected.Load(c.ID()); !ok {
			t.Errorf("$connect never saw id %q", c.ID())
		}
		c.Send(t, "who am I?")
		c.Expect(t, c.ID())
	}
}

func TestDialOptionsReachConnect(t *testing.T) {
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error {
		if req.Query("room") != "lobby" || req.Header("X-Team") != "blue" {
			return ws.Reject(http.StatusBadRequest, fmt.Sprintf("room %q team %q", req.Query("room"), req.Header("X-Team")))
		}
		req.SelectSubprotocol("chat.v2", "chat.v1")
		return nil
	})
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return nil })
	g := wstest.NewGateway(t, r, nil)
	c := g.Dial(t, &wstest.Handshake{
		Query:        url.Values{"room": {"lobby"}},
		Header:       http.Header{"X-Team": {"blue"}},
		Subprotocols: []string{"chat.v1", "chat.v3"},
	})
	if got := c.Subprotocol(); got != "chat.v1" {
		t.Errorf("Subprotocol() = %q, want chat.v1", got)
	}
	if status, body := g.DialRefused(t, &wstest.Handshake{Query: url.Values{"room": {"attic"}}}); status != http.StatusBadRequest || body != `room "attic" team ""` {
		t.Errorf("DialRefused = %d %q", status, body)
	}
}

func TestDialRefused(t *testing.T) {
	g := wstest.NewGateway(t, echoRouter(), nil)
	status, body := g.DialRefused(t, &wstest.Handshake{Query: url.Values{"token": {"bad"}}})
	if status != http.StatusUnauthorized || body != "bad token" {
		t.Errorf("DialRefused = %d %q, want 401 \"bad token\"", status, body)
	}
}

func TestSendEncodesLikeSendMessage(t *testing.T) {
	g := wstest.NewGateway(t, echoRouter(), nil)
	c := g.Dial(t, nil)
	for _, tc := range []struct {
		send any
		want string
	}{
		{"text", "text"},
		{[]byte("bytes"), "bytes"},
		{map[string]int{"n": 1}, `{"n":1}`},
	} {
		c.Send(t, tc.send)
		if got := c.Next(t); got != tc.want {
			t.Errorf("Send(%#v) echoed %q, want %q", tc.send, got, tc.want)
		}
	}
}

func TestExpectComparesJSONByValue(t *testing.T) {
	g := wstest.NewGateway(t, echoRouter(), nil)
	c := g.Dial(t, nil)
	c.Send(t, `{ "b": [1, 2], "a": "x" }`)
	c.Expect(t, map[string]any{"a": "x", "b": []int{1, 2}})
	c.Send(t, `{"a":1}`)
	msg := failure(t, func(ft testing.TB) { c.Expect(ft, map[string]int{"a": 2}) })
	if !strings.Contains(msg, `received {"a":1}, want {"a":2}`) {
		t.Errorf("Expect failed with %q", msg)
	}
	c.Send(t, `{"a":1}`)
	if msg := failure(t, func(ft testing.TB) { c.Expect(ft, `{"a": 1}`) }); msg == "" {
		t.Error("Expect of a string compared it as JSON; want exact text")
	}
}

func TestFailures(t *testing.T) {
	g := wstest.NewGateway(t, echoRouter(), nil)
	c := g.Dial(t, nil)
	for _, tc := range []struct {
		name, want string
		fn         func(ft testing.TB)
	}{
		{"Next times out", "no message on connection " + c.ID() + " within 100ms", func(ft testing.TB) {
			g.Timeout = 100 * time.Millisecond
			defer func() { g.Timeout = 5 * time.Second }()
			c.Next(ft)
		}},
		{"ExpectNone gets one", "received late, want no message", func(ft testing.TB) {
			c.Send(t, "late")
			c.ExpectNone(ft, time.Second)
		}},
		{"Dial refused", `handshake refused with 401 "bad token"`, func(ft testing.TB) { g.Dial(ft, &wstest.Handshake{Query: url.Values{"token": {"bad"}}}) }},
		{"DialRefused accepted", "want it refused", func(ft testing.TB) { g.DialRefused(ft, nil) }},
		{"ExpectClose gets a message", "received again, want it closed with 1000", func(ft testing.TB) {
			c.Send(t, "again")
			c.ExpectClose(ft, 1000)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if msg := failure(t, tc.fn); !strings.Contains(msg, tc.want) {
				t.Errorf("failed with %q, want %q in it", msg, tc.want)
			}
		})
	}
}

func TestCloseWaitsForDisconnect(t *testing.T) {
	r := echoRouter()
	var disconnected atomic.Value
	r.OnDisconnect(func(ctx context.Context, req *ws.Request) error {
		time.Sleep(50 * time.Millisecond) // a slow handler: Close must wait for it
		code, _ := req.DisconnectStatus()
		disconnected.Store(fmt.Sprint(req.ConnectionID, " ", code))
		return nil
	})
	g := wstest.NewGateway(t, r, nil)
	c := g.Dial(t, nil)
	c.Close(t)
	if got, want := disconnected.Load(), c.ID()+" 1000"; got != want {
		t.Errorf("after Close, $disconnect saw %v, want %q", got, want)
	}
}

func TestWaitIdle(t *testing.T) {
	r := ws.NewRouter()
	var handled atomic.Int32
	r.OnMessage(func(ctx context.Context, req *ws.Request) error {
		time.Sleep(10 * time.Millisecond) // slow, so that WaitIdle has something to wait for
		handled.Add(1)
		return nil
	})
	g := wstest.NewGateway(t, r, nil)
	a, b := g.Dial(t, nil), g.Dial(t, nil)
	for range 5 {
		a.Send(t, "x")
		b.Send(t, "y")
	}
	g.WaitIdle(t)
	if n := handled.Load(); n != 10 {
		t.Errorf("after WaitIdle, %d messages handled, want 10", n)
	}
}

func TestWaitIdleWaitsForDisconnectOfAServerClose(t *testing.T) {
	r := ws.NewRouter()
	var disconnects atomic.Int32
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return ws.Close(ctx, req.ConnectionID) })
	r.OnDisconnect(func(ctx context.Context, req *ws.Request) error {
		time.Sleep(20 * time.Millisecond)
		disconnects.Add(1)
		return nil
	})
	g := wstest.NewGateway(t, r, nil)
	c := g.Dial(t, nil)
	c.Send(t, "bye")
	c.ExpectClose(t, 1000)
	g.WaitIdle(t)
	if n := disconnects.Load(); n != 1 {
		t.Errorf("after WaitIdle, $disconnect ran %d times, want 1", n)
	}
}

func TestManagementAPI(t *testing.T) {
	r := echoRouter()
	g := wstest.NewGateway(t, r, &wstest.Options{Stage: "dev"})
	c := g.Dial(t, &wstest.Handshake{Header: http.Header{"User-Agent": {"wstest-client"}}})
	ctx := context.Background()
	if err := g.Sender().Send(ctx, c.ID(), []byte("from the back end")); err != nil {
		t.Fatal(err)
	}
	c.Expect(t, "from the back end")
	// Code outside a handler (a cron or SQS function) sends with ws.SendMessage.
	if err := ws.SendMessage(ws.ContextWithSender(ctx, g.Sender()), c.ID(), map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	c.Expect(t, map[string]int{"n": 1})
	info, err := g.Sender().Info(ctx, c.ID())
	if err != nil || info.UserAgent != "wstest-client" || info.ConnectedAt.IsZero() {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	if err := g.Sender().Close(ctx, c.ID()); err != nil {
		t.Fatal(err)
	}
	c.ExpectClose(t, 1000)
	g.WaitIdle(t)
	if err := g.Sender().Send(ctx, c.ID(), []byte("late")); !errors.Is(err, sender.ErrGone) {
		t.Errorf("Send after close: %v, want sender.ErrGone", err)
	}
}

func TestStageReachesHandlersAndTheirSends(t *testing.T) {
	r := ws.NewRouter()
	r.OnMessage(func(ctx context.Context, req *ws.Request) error {
		return ws.Reply(ctx, req.Event.RequestContext.Stage)
	})
	g := wstest.NewGateway(t, r, &wstest.Options{Stage: "dev"})
	if !strings.HasSuffix(g.URL(), "/dev") {
		t.Errorf("URL() = %q, want it to end in /dev", g.URL())
	}
	c := g.Dial(t, nil)
	c.Send(t, "stage?")
	c.Expect(t, "dev")
}

func TestIdleTimeout(t *testing.T) {
	g := wstest.NewGateway(t, echoRouter(), &wstest.Options{IdleTimeout: 100 * time.Millisecond})
	c := g.Dial(t, nil)
	c.ExpectClose(t, 1001)
}

// failure runs fn with a testing.TB that records the first failure instead
// of failing t, and returns its message ("" if fn did not fail).
func failure(t *testing.T, fn func(ft testing.TB)) string {
	t.Helper()
	ft := &fakeT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(ft)
	}()
	<-done
	for i := len(ft.cleanups) - 1; i >= 0; i-- {
		ft.cleanups[i]()
	}
	return ft.msg
}

// fakeT is a testing.TB whose Fatalf records the message and ends the
// goroutine, as testing.T's does.
type fakeT struct {
	testing.TB
	msg      string
	cleanups []func()
}

func (f *fakeT) Helper()           {}
func (f *fakeT) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeT) Errorf(format string, args ...any) {
	if f.msg == "" {
		f.msg = fmt.Sprintf(format, args...)
	}
}

func TestSendSplitsLargeMessagesIntoFrames(t *testing.T) {
	g := wstest.NewGateway(t, echoRouter(), nil)
	c := g.Dial(t, nil)
	big := strings.Repeat("x", 100<<10) // API Gateway refuses frames over 32 KiB
	c.Send(t, big)
	if got := c.Next(t); got != big {
		t.Errorf("echoed %d bytes, want %d", len(got), len(big))
	}
	msg := failure(t, func(ft testing.TB) { c.Send(t, big); c.Expect(ft, "y") })
	if want := "want y"; !strings.Contains(msg, want) || len(msg) > 400 {
		t.Errorf("failure message %q: want it short and with %q", msg, want)
	}
}

func TestNewGatewayFailsForAMisconfiguredRouter(t *testing.T) {
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error { return nil })
	if msg := failure(t, func(ft testing.TB) { wstest.NewGateway(ft, r, nil) }); r.Validate() == nil || !strings.Contains(msg, r.Validate().Error()) {
		t.Errorf("NewGateway failed with %q, want the router's Validate error", msg)
	}
}

func TestAuthorizer(t *testing.T) {
	auth := ws.Authorizer(func(ctx context.Context, req *ws.Request) (string, map[string]any, error) {
		switch req.Query("token") {
		case "s3cret":
			return "user-1", map[string]any{"name": "Ann"}, nil
		case "banned":
			return "", nil, ws.Reject(http.StatusForbidden, "")
		}
		return "", nil, ws.Reject(http.StatusUnauthorized, "")
	})
	r := ws.NewRouter()
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return ws.Reply(ctx, req.Authorizer()) })
	g := wstest.NewGateway(t, r, &wstest.Options{Authorizer: auth, IdentitySource: []string{"route.request.querystring.token"}})

	for _, tc := range []struct {
		token string
		want  int
	}{{"", http.StatusUnauthorized}, {"wrong", http.StatusUnauthorized}, {"banned", http.StatusForbidden}} {
		if status, _ := g.DialRefused(t, &wstest.Handshake{Query: url.Values{"token": {tc.token}}}); status != tc.want {
			t.Errorf("token %q refused with %d, want %d", tc.token, status, tc.want)
		}
	}
	c := g.Dial(t, &wstest.Handshake{Query: url.Values{"token": {"s3cret"}}})
	c.Send(t, "who am I?")
	c.Expect(t, map[string]any{"principalId": "user-1", "name": "Ann"})
}

// TestTwoWay: routes are one-way by default, as on AWS without a route
// response, so a test cannot pass on a reply production never sends.
func TestTwoWay(t *testing.T) {
	r := ws.NewRouter()
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return req.Respond("route response") })
	for _, tc := range []struct {
		name string
		opts *wstest.Options
		want bool
	}{{"one-way by default", nil, false}, {"TwoWay", &wstest.Options{TwoWay: true}, true}} {
		t.Run(tc.name, func(t *testing.T) {
			g := wstest.NewGateway(t, r, tc.opts)
			c := g.Dial(t, nil)
			c.Send(t, "hi")
			if tc.want {
				c.Expect(t, "route response")
				return
			}
			g.WaitIdle(t)
			c.ExpectNone(t, 50*time.Millisecond)
		})
	}
}
