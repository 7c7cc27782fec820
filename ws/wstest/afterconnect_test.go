package wstest_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/ws"
	"github.com/lambdaws/lambdaws/ws/wstest"
)

// welcome is an AfterConnect handler greeting a connection with what its
// $connect saw.
func welcome(ctx context.Context, req *ws.Request) error {
	return ws.Reply(ctx, map[string]string{
		"id": req.ConnectionID, "nick": req.Query("nick"), "route": req.RouteKey,
		"eventType": req.Event.RequestContext.EventType,
	})
}

// TestAfterConnectWelcome: the welcome arrives without the client sending
// anything, through the emulator's Invoke API, in-process.
func TestAfterConnectWelcome(t *testing.T) {
	r := ws.NewRouter()
	r.OnMessage(func(context.Context, *ws.Request) error { return nil })
	r.AfterConnect(welcome)
	g := wstest.NewGateway(t, r, nil)
	c := g.Dial(t, &wstest.Handshake{Query: url.Values{"nick": {"ann"}}})
	c.Expect(t, map[string]string{"id": c.ID(), "nick": "ann", "route": "$afterconnect", "eventType": "CONNECT"})
	c.ExpectNone(t, 100*time.Millisecond)
}

// TestAfterConnectNotAfterReject: a refused $connect runs no AfterConnect.
func TestAfterConnectNotAfterReject(t *testing.T) {
	var ran atomic.Int32
	r := ws.NewRouter()
	r.OnConnect(func(_ context.Context, req *ws.Request) error {
		if req.Query("deny") != "" {
			return ws.Reject(http.StatusForbidden, "no")
		}
		return nil
	})
	r.OnMessage(func(context.Context, *ws.Request) error { return nil })
	r.AfterConnect(func(ctx context.Context, req *ws.Request) error {
		ran.Add(1)
		return welcome(ctx, req)
	})
	g := wstest.NewGateway(t, r, nil)
	if status, _ := g.DialRefused(t, &wstest.Handshake{Query: url.Values{"deny": {"1"}}}); status != http.StatusForbidden {
		t.Fatalf("status %d", status)
	}
	c := g.Dial(t, nil) // its welcome comes after any the refused one would have caused
	c.Expect(t, map[string]string{"id": c.ID(), "nick": "", "route": "$afterconnect", "eventType": "CONNECT"})
	g.WaitIdle(t)
	if n := ran.Load(); n != 1 {
		t.Errorf("AfterConnect ran %d times, want 1", n)
	}
}

// TestAfterConnectRecorder is the table-test form: Router.Handler serves the
// AfterConnect event wstest.AfterConnect builds, and the Recorder holds the
// welcome.
func TestAfterConnectRecorder(t *testing.T) {
	rec := wstest.NewRecorder()
	r := ws.NewRouter()
	r.Sender = rec
	r.OnMessage(func(context.Context, *ws.Request) error { return nil })
	r.AfterConnect(welcome)
	tests := []struct {
		name, nick string
		gone       bool
		want       []string
	}{
		{name: "live", nick: "ann", want: []string{`{"eventType":"CONNECT","id":"A","nick":"ann","route":"$afterconnect"}`}},
		{name: "gone", gone: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.name
			if tt.want != nil {
				id = "A"
			}
			if tt.gone {
				rec.MarkGone(id)
			}
			ev := wstest.AfterConnect(wstest.Connect(id, &wstest.Handshake{Query: url.Values{"nick": {tt.nick}}}))
			// A gone connection is awaited for half the time left.
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if _, err := r.Handler(ctx, ev); err != nil {
				t.Fatal(err)
			}
			if got := rec.Messages(id); !slices.Equal(got, tt.want) {
				t.Errorf("sent %q, want %q", got, tt.want)
			}
		})
	}
}

// TestAfterConnectWaitIdle: WaitIdle waits for the AfterConnect handlers of
// the connections opened, also those queued: 15 for the emulator's 10
// environments.
func TestAfterConnectWaitIdle(t *testing.T) {
	var ran atomic.Int32
	r := ws.NewRouter()
	r.OnMessage(func(context.Context, *ws.Request) error { return nil })
	r.AfterConnect(func(context.Context, *ws.Request) error {
		time.Sleep(50 * time.Millisecond) // the wait must not end before this
		ran.Add(1)
		return nil
	})
	g := wstest.NewGateway(t, r, nil)
	const n = 15
	for range n {
		g.Dial(t, nil)
	}
	g.WaitIdle(t)
	if got := ran.Load(); got != n {
		t.Errorf("WaitIdle returned after %d of %d AfterConnect handlers", got, n)
	}
}
