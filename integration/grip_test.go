package integration

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/grip"
	"github.com/lambdaws/lambdaws/internal/testenv"
	"github.com/lambdaws/lambdaws/ws"
)

// gripEnv is a grip.Handler serving a router on a loopback port behind a
// Pushpin of its own.
type gripEnv struct {
	clientURL, publishURL string
	handler               *grip.Handler
}

// startGrip serves r through grip behind a fresh Pushpin; opts may be nil.
// Pushpin signs with key "changeme", so the handler verifies Grip-Sig.
func startGrip(t *testing.T, r *ws.Router, opts *grip.Options) *gripEnv {
	t.Helper()
	var o grip.Options
	if opts != nil {
		o = *opts
	}
	var h atomic.Pointer[grip.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if hh := h.Load(); hh != nil {
			hh.ServeHTTP(w, req)
			return
		}
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	clientURL, publishURL := testenv.Pushpin(t, "* "+strings.TrimPrefix(srv.URL, "http://")+",over_http")
	if o.Publisher == nil {
		p, err := grip.NewPublisher(publishURL)
		if err != nil {
			t.Fatal(err)
		}
		o.Publisher = p
	}
	if o.Key == nil {
		k, _ := grip.ParseKey("changeme")
		o.Key = k
		o.Issuer = "pushpin"
	}
	gh, err := grip.New(r, &o)
	if err != nil {
		t.Fatal(err)
	}
	h.Store(gh)
	return &gripEnv{clientURL: clientURL, publishURL: publishURL, handler: gh}
}

func dialGrip(t *testing.T, ctx context.Context, base, path string) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+path, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", path, err, status)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func readText(t *testing.T, ctx context.Context, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

func TestGripSmoke(t *testing.T) {
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error { return nil })
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return ws.Reply(ctx, req.Body) })
	env := startGrip(t, r, nil)
	ctx := context.Background()
	c := dialGrip(t, ctx, env.clientURL, "/")
	if err := c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if got := readText(t, ctx, c); got != "hello" {
		t.Fatalf("got %q", got)
	}
}
