package ws_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/lambdaws/lambdaws/ws"
)

// counter overrides only OnMessage; its state lives across events.
type counter struct {
	ws.Server
	messages int
}

func (c *counter) OnMessage(_ context.Context, req *ws.Request) error {
	c.messages++
	return req.Respond(fmt.Sprint(c.messages))
}

type gate struct {
	ws.Server
	connects int
}

func (g *gate) OnConnect(_ context.Context, req *ws.Request) error {
	g.connects++
	if req.Query("token") != "s3cret" {
		return ws.Reject(401, "bad token")
	}
	return nil
}

func TestRegisterEmbeddedServer(t *testing.T) {
	r, _ := newRouter(false)
	c := &counter{}
	r.Register(c)
	if err := r.Validate(); err != nil {
		t.Fatalf("a struct embedding ws.Server is valid on its own: %v", err)
	}
	for i, f := range []string{"connect", "message", "message", "disconnect", "message"} {
		resp := serve(t, r, event(t, f))
		if resp.StatusCode != 200 {
			t.Fatalf("event %d (%s): %d", i, f, resp.StatusCode)
		}
	}
	if c.messages != 3 {
		t.Errorf("messages = %d, want 3 (state persists across events)", c.messages)
	}
	if resp := serve(t, r, event(t, "message")); resp.Body != "4" {
		t.Errorf("body %q, want 4", resp.Body)
	}

	r2, _ := newRouter(false)
	g := &gate{}
	r2.Register(g)
	e := event(t, "connect")
	if resp := serve(t, r2, e); resp.StatusCode != 200 {
		t.Errorf("good token: %d", resp.StatusCode)
	}
	e.QueryStringParameters["token"] = "wrong"
	if resp := serve(t, r2, e); resp.StatusCode != 401 || resp.Body != "bad token" {
		t.Errorf("bad token: %d %q", resp.StatusCode, resp.Body)
	}
	if g.connects != 2 {
		t.Errorf("connects = %d", g.connects)
	}
}

type onlyDisconnect struct{}

func (*onlyDisconnect) OnDisconnect(context.Context, *ws.Request) error { return nil }

func TestRegisterMistakes(t *testing.T) {
	nop := func(context.Context, *ws.Request) error { return nil }
	mustPanic(t, "non-nil pointer", func() { ws.NewRouter().Register(counter{}) })
	mustPanic(t, "non-nil pointer", func() { ws.NewRouter().Register((*counter)(nil)) })
	mustPanic(t, "non-nil pointer", func() { ws.NewRouter().Register(nil) })
	mustPanic(t, "has no OnConnect", func() { ws.NewRouter().Register(&struct{ N int }{}) })
	mustPanic(t, `duplicate handler for route "$default"`, func() {
		r := ws.NewRouter()
		r.OnMessage(nop)
		r.Register(&counter{})
	})
	mustPanic(t, `duplicate handler for route "$connect"`, func() {
		r := ws.NewRouter()
		r.Register(&counter{})
		r.OnConnect(nop)
	})
	// A partial struct is fine to register; validation then names what is missing.
	r := ws.NewRouter()
	r.Register(&onlyDisconnect{})
	if err := r.Validate(); err == nil {
		t.Error("a struct with only OnDisconnect validated")
	}
}
