package wstest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/lambdaws/lambdaws/sender"
	"github.com/lambdaws/lambdaws/ws"
	"github.com/lambdaws/lambdaws/ws/wstest"
)

// t stands for the *testing.T of the test these examples are written in.
// Examples that need one are compiled but not run; the package's tests run
// the same calls.
var t *testing.T

// A handler test: a real WebSocket client talks through the local API
// Gateway emulator to the router, whose ws.Reply goes through the emulator's
// management API.
func ExampleNewGateway() {
	r := ws.NewRouter()
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return ws.Reply(ctx, req.Body) })

	c := wstest.NewGateway(t, r).Dial(t)
	c.Send(t, "hello")
	c.Expect(t, "hello")
}

func ExampleGateway_DialRefused() {
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error {
		if req.Query("token") == "" {
			return ws.Reject(http.StatusUnauthorized, "missing token")
		}
		return nil
	})
	g := wstest.NewGateway(t, r)

	if status, body := g.DialRefused(t); status != http.StatusUnauthorized || body != "missing token" {
		t.Errorf("refused with %d %q, want 401", status, body)
	}
	g.Dial(t, wstest.Query("token", "s3cret"))
}

// Messages are handled asynchronously; WaitIdle waits until they have been,
// so a test can check their effects without sleeping.
func ExampleGateway_WaitIdle() {
	var count int // the handlers of one connection run one at a time
	r := ws.NewRouter()
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { count++; return nil })
	g := wstest.NewGateway(t, r)

	c := g.Dial(t)
	c.Send(t, "one")
	c.Send(t, "two")
	g.WaitIdle(t)
	if count != 2 {
		t.Errorf("%d messages handled, want 2", count)
	}
}

// The gateway's management API serves the back end's other functions, such
// as a scheduled one that pushes news to a connection.
func ExampleGateway_Sender() {
	g := wstest.NewGateway(t, ws.NewRouter())
	c := g.Dial(t)

	ctx := ws.ContextWithSender(context.Background(), g.Sender())
	if err := ws.SendMessage(ctx, c.ID(), map[string]string{"news": "hi"}); err != nil {
		t.Fatal(err)
	}
	c.Expect(t, map[string]string{"news": "hi"})
}

// Close waits for $disconnect to have run.
func ExampleConn_Close() {
	online := map[string]bool{}
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error { online[req.ConnectionID] = true; return nil })
	r.OnDisconnect(func(ctx context.Context, req *ws.Request) error { delete(online, req.ConnectionID); return nil })
	g := wstest.NewGateway(t, r)

	c := g.Dial(t)
	c.Close(t)
	if online[c.ID()] {
		t.Error("still online after $disconnect")
	}
}

func ExampleNewRecorder() {
	rec := wstest.NewRecorder()
	ctx := ws.ContextWithSender(context.Background(), rec)

	ws.SendMessage(ctx, "R1kmxc2VNjMCFIA=", "hello")
	ws.SendMessage(ctx, "R1kmxc2VNjMCFIA=", map[string]int{"n": 1})
	fmt.Printf("%q\n", rec.Messages("R1kmxc2VNjMCFIA="))
	// Output: ["hello" "{\"n\":1}"]
}

// A gone connection makes sends fail as on AWS, to test that a back end
// forgets the connections a broadcast finds gone.
func ExampleRecorder_MarkGone() {
	rec := wstest.NewRecorder()
	rec.MarkGone("b")
	ctx := ws.ContextWithSender(context.Background(), rec)

	err := ws.SendMessage(ctx, "b", "hello")
	fmt.Println(errors.Is(err, sender.ErrGone))

	ids := func(yield func(string, error) bool) { _ = yield("a", nil) && yield("b", nil) }
	res, _ := ws.Broadcast(ctx, ids, "news", &sender.BroadcastOptions{
		OnGone: func(ctx context.Context, id string) { fmt.Println("forget", id) },
	})
	fmt.Println(res.Sent, "sent,", res.Gone, "gone")
	// Output:
	// true
	// forget b
	// 1 sent, 1 gone
}

func ExampleRecorder_MarkThrottled() {
	rec := wstest.NewRecorder()
	rec.MarkThrottled("a", 1)
	ctx := ws.ContextWithSender(context.Background(), rec)

	err := ws.SendMessage(ctx, "a", "first")
	fmt.Println(errors.Is(err, sender.ErrThrottled))
	fmt.Println(ws.SendMessage(ctx, "a", "second"))
	fmt.Println(rec.Messages("a"))
	// Output:
	// true
	// <nil>
	// [second]
}
