package local_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/local"
)

type event = events.APIGatewayWebsocketProxyRequest
type response = events.APIGatewayProxyResponse

// handlerFunc is a Lambda handler written the way users write them.
type handlerFunc func(ctx context.Context, ev event) (response, error)

// harness is a gateway behind an httptest server and the events its handler
// received.
type harness struct {
	t      *testing.T
	g      *local.Gateway
	srv    *httptest.Server
	events chan event
}

// start serves fn behind a gateway; fn may be nil (always 200, no body).
func start(t *testing.T, opts *local.Options, fn handlerFunc) *harness {
	t.Helper()
	h := &harness{t: t, events: make(chan event, 4096)}
	if opts == nil {
		opts = &local.Options{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h.g = local.New(func(ctx context.Context, ev event) (response, error) {
		h.events <- ev
		if fn == nil {
			return response{StatusCode: 200}, nil
		}
		return fn(ctx, ev)
	}, opts)
	h.srv = serve(t, h.g).srv
	return h
}

func (h *harness) url() string { return "ws" + strings.TrimPrefix(h.srv.URL, "http") }

// dial connects a client and closes it at the end of the test.
func (h *harness) dial(query string, opts *websocket.DialOptions) *websocket.Conn {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, h.url()+query, opts)
	if err != nil {
		h.t.Fatalf("dial: %v", err)
	}
	h.t.Cleanup(func() { c.CloseNow() })
	return c
}

// next returns the next event the handler received.
func (h *harness) next() event {
	h.t.Helper()
	select {
	case ev := <-h.events:
		return ev
	case <-time.After(5 * time.Second):
		h.t.Fatal("timed out waiting for an event")
		return event{}
	}
}

// nextOf skips events until one of the given type arrives.
func (h *harness) nextOf(eventType string) event {
	h.t.Helper()
	for {
		if ev := h.next(); ev.RequestContext.EventType == eventType {
			return ev
		}
	}
}

func write(t *testing.T, c *websocket.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func read(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("got a %v frame, want text", typ)
	}
	return string(b)
}

// readClose reads until the connection closes and returns the close status.
func readClose(t *testing.T, c *websocket.Conn) websocket.CloseError {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("read: %v, want a close frame", err)
		}
		return ce
	}
}

// checkNoLeaks fails if goroutines of package local outlive the test. The
// test must not be parallel: parallel tests run after it (their goroutines
// wait in t.Parallel meanwhile, and are not counted).
func checkNoLeaks(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		var leaked []string
		for _, g := range strings.Split(stacks, "\n\n") {
			if strings.Contains(g, "lambdaws/lambdaws/local.") && !strings.Contains(g, "testing.(*T).Parallel(") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines leaked:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	return len(fds)
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// rawFunc is a lambda.Handler working on raw JSON, like a function in another
// language.
type rawFunc func(payload []byte) []byte

func (f rawFunc) Invoke(_ context.Context, payload []byte) ([]byte, error) { return f(payload), nil }

// rawHandler always returns out.
func rawHandler(out string) rawFunc { return func([]byte) []byte { return []byte(out) } }

// serve serves g and closes both at the end of the test; the harness's
// events channel is nil.
func serve(t *testing.T, g *local.Gateway) *harness {
	h := &harness{t: t, g: g, srv: httptest.NewServer(g)}
	t.Cleanup(func() {
		g.Close()
		h.srv.Close()
	})
	return h
}

// twoWay returns New's default routes with a two-way $default, for tests of
// route responses: by default $default is one-way, as on AWS.
func twoWay() map[string]local.Route {
	return map[string]local.Route{"$connect": {}, "$disconnect": {}, "$default": {TwoWay: true}}
}

// routes returns the given route keys, all two-way or all one-way, served
// by New's handler.
func routes(twoWay bool, keys ...string) map[string]local.Route {
	m := make(map[string]local.Route, len(keys))
	for _, k := range keys {
		m[k] = local.Route{TwoWay: twoWay}
	}
	return m
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
