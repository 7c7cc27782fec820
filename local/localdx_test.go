package local_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/internal/testenv"
	"github.com/lambdaws/lambdaws/local"
	"github.com/lambdaws/lambdaws/local/lambdaenv"
)

// TestSetRoutes replaces the routes of a serving gateway: an open
// connection stays open, its next message takes a route that was added, a
// removed route falls to $default, and $disconnect is the new one.
func TestSetRoutes(t *testing.T) {
	reply := func(text string) *lambdaenv.Function {
		f := lambdaenv.New(func(ctx context.Context, ev event) (response, error) {
			return response{StatusCode: 200, Body: text + " " + ev.RequestContext.RouteKey}, nil
		}, &lambdaenv.Options{Logger: discard})
		t.Cleanup(func() { f.Close() })
		return f
	}
	v1, v2 := reply("v1"), reply("v2")
	disconnected := make(chan string, 1)
	bye := lambdaenv.New(func(ctx context.Context, ev event) (response, error) {
		disconnected <- ev.RequestContext.ConnectionID
		return response{StatusCode: 200}, nil
	}, &lambdaenv.Options{Logger: discard})
	t.Cleanup(func() { bye.Close() })

	g := local.New(nil, &local.Options{Logger: discard, Routes: map[string]local.Route{
		"old": {Function: v1, TwoWay: true}, "$default": {Function: v1, TwoWay: true},
	}})
	h := serve(t, g)
	h.t = t
	c := h.dial("", nil)
	write(t, c, `{"action":"old"}`)
	if got := read(t, c); got != "v1 old" {
		t.Fatalf("before: %q", got)
	}
	if err := g.SetRoutes(map[string]local.Route{"": {Function: v2}}, nil); err == nil || !strings.Contains(err.Error(), "empty route key") {
		t.Errorf("SetRoutes of an empty key: %v", err)
	}
	err := g.SetRoutes(map[string]local.Route{
		"new": {Function: v2, TwoWay: true}, "$default": {Function: v2, TwoWay: true}, "$disconnect": {Function: bye},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for msg, want := range map[string]string{`{"action":"new"}`: "v2 new", `{"action":"old"}`: "v2 $default"} {
		write(t, c, msg)
		if got := read(t, c); got != want {
			t.Errorf("after SetRoutes, %s: %q, want %q", msg, got, want)
		}
	}
	if err := g.SetRoutes(map[string]local.Route{"x": {}}, nil); err == nil {
		t.Error("SetRoutes of a route without Function, New without handler: no error")
	}
	c.CloseNow()
	if id := <-disconnected; id == "" {
		t.Error("the new $disconnect ran without a connection id")
	}
}

// TestConnect500LoggedAsError: a $connect answered 500 (the function's own
// answer, not a failure) is logged at ERROR, as a failed message is.
func TestConnect500LoggedAsError(t *testing.T) {
	var log testenv.LockedBuffer
	h := start(t, &local.Options{Logger: slog.New(slog.NewTextHandler(&log, nil))}, func(_ context.Context, ev event) (response, error) {
		return response{StatusCode: 500, Body: "no table"}, nil
	})
	if _, resp, err := websocket.Dial(context.Background(), h.url(), nil); err == nil || resp == nil || resp.StatusCode != 500 {
		t.Fatalf("handshake: %v, %v; want 500", err, resp)
	}
	h.g.Close()
	var line string
	for l := range strings.Lines(log.String()) {
		if strings.Contains(l, "local: connect") {
			line = l
		}
	}
	if !strings.Contains(line, "level=ERROR") || !strings.Contains(line, "status=500") {
		t.Errorf("logged %q, want an ERROR line with status 500", line)
	}
}
