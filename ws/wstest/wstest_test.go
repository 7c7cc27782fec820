package wstest_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/lambdaws/lambdaws/ws"
	"github.com/lambdaws/lambdaws/ws/wstest"
)

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

func TestSmoke(t *testing.T) {
	g := wstest.NewGateway(t, echoRouter())
	c := g.Dial(t)
	t.Log(c.ID())
	c.Send(t, "hi")
	c.Expect(t, "hi")
	c.Send(t, map[string]int{"a": 1, "b": 2})
	c.Expect(t, map[string]int{"b": 2, "a": 1})
	g.WaitIdle(t)
	status, body := g.DialRefused(t, wstest.Query("token", "bad"))
	t.Log(status, body)
	c.Close(t)
}
