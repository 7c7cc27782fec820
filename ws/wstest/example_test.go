package wstest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lambdaws/lambdaws/sender"
	"github.com/lambdaws/lambdaws/ws"
	"github.com/lambdaws/lambdaws/ws/wstest"
)

// t is the *testing.T of the test the examples are written in: go test
// does not run examples without an output comment, so TestExamples runs them
// with its own.
var t *testing.T

func TestExamples(tt *testing.T) {
	for _, ex := range []struct {
		name string
		run  func()
	}{
		{"NewGateway", ExampleNewGateway},
		{"Gateway_DialRefused", ExampleGateway_DialRefused},
		{"Gateway_WaitIdle", ExampleGateway_WaitIdle},
		{"Gateway_Sender", ExampleGateway_Sender},
		{"Conn_Close", ExampleConn_Close},
		{"Conn_ExpectNone", ExampleConn_ExpectNone},
		{"Authorizer", ExampleAuthorizer},
	} {
		tt.Run(ex.name, func(sub *testing.T) {
			t = sub
			ex.run()
		})
	}
}

// A handler test: a real WebSocket client talks through the local API
// Gateway emulator to the router, whose ws.Reply goes through the emulator's
// management API.
func ExampleNewGateway() {
	r := ws.NewRouter()
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return ws.Reply(ctx, req.Body) })

	c := wstest.NewGateway(t, r, nil).Dial(t, nil)
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
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return nil })
	g := wstest.NewGateway(t, r, nil)

	if status, body := g.DialRefused(t, nil); status != http.StatusUnauthorized || body != "missing token" {
		t.Errorf("refused with %d %q, want 401", status, body)
	}
	g.Dial(t, &wstest.Handshake{Query: url.Values{"token": {"s3cret"}}})
}

// Messages are handled asynchronously; WaitIdle waits until they have been,
// so a test can check their effects without sleeping.
func ExampleGateway_WaitIdle() {
	var count atomic.Int32 // handlers run concurrently, as on AWS
	r := ws.NewRouter()
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { count.Add(1); return nil })
	g := wstest.NewGateway(t, r, nil)

	c := g.Dial(t, nil)
	c.Send(t, "one")
	c.Send(t, "two")
	g.WaitIdle(t)
	if n := count.Load(); n != 2 {
		t.Errorf("%d messages handled, want 2", n)
	}
}

// The gateway's management API serves the back end's other functions, such
// as a scheduled one that pushes news to a connection.
func ExampleGateway_Sender() {
	g := wstest.NewGateway(t, ws.NewRouter(), nil)
	c := g.Dial(t, nil)

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
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return nil })
	g := wstest.NewGateway(t, r, nil)

	c := g.Dial(t, nil)
	c.Close(t)
	if online[c.ID()] {
		t.Error("still online after $disconnect")
	}
}

// A message for others only: the sender gets nothing back.
func ExampleConn_ExpectNone() {
	r := ws.NewRouter()
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return nil }) // silent
	g := wstest.NewGateway(t, r, nil)

	c := g.Dial(t, nil)
	c.Send(t, "psst")
	g.WaitIdle(t)
	c.ExpectNone(t, 50*time.Millisecond)
}

// The connection's identity comes from a Lambda authorizer, as on AWS.
func ExampleAuthorizer() {
	auth := ws.Authorizer(func(ctx context.Context, req *ws.Request) (string, map[string]any, error) {
		if req.Header("Authorization") != "Bearer s3cret" {
			return "", nil, ws.Reject(http.StatusUnauthorized, "")
		}
		return "user-42", map[string]any{"plan": "pro"}, nil
	})
	r := ws.NewRouter()
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return ws.Reply(ctx, req.Authorizer()["plan"]) })
	g := wstest.NewGateway(t, r, &wstest.Options{Authorizer: auth, IdentitySource: []string{"route.request.header.Authorization"}})

	if status, _ := g.DialRefused(t, nil); status != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", status)
	}
	c := g.Dial(t, &wstest.Handshake{Header: http.Header{"Authorization": {"Bearer s3cret"}}})
	c.Send(t, "plan?")
	c.Expect(t, "pro")
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

// A table test calls Router.Handler with built events; a Recorder receives
// what the handlers send.
func ExampleMessage() {
	r := ws.NewRouter()
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return ws.Reply(ctx, "got "+string(req.Body)) })
	rec := wstest.NewRecorder()
	r.Sender = rec

	resp, _ := r.Handler(context.Background(), wstest.Message("R1kmxc2VNjMCFIA=", "hi"))
	fmt.Println(resp.StatusCode, rec.Messages("R1kmxc2VNjMCFIA="))
	// Output: 200 [got hi]
}

func ExampleConnect() {
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error {
		if req.Header("Origin") != "https://example.com" {
			return ws.Reject(http.StatusForbidden, "unknown origin")
		}
		req.SelectSubprotocol("chat.v2", "chat.v1")
		return nil
	})
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return nil })

	for _, ev := range []events.APIGatewayWebsocketProxyRequest{
		wstest.Connect("R1kmxc2VNjMCFIA=", &wstest.Handshake{Header: http.Header{"Origin": {"https://evil.example"}}}),
		wstest.Connect("VNRXVFJOywMF3-Q=", &wstest.Handshake{Header: http.Header{"Origin": {"https://example.com"}}, Subprotocols: []string{"chat.v1"}}),
	} {
		resp, _ := r.Handler(context.Background(), ev)
		fmt.Printf("%d %q %q\n", resp.StatusCode, resp.Body, resp.Headers["Sec-WebSocket-Protocol"])
	}
	// Output:
	// 403 "unknown origin" ""
	// 200 "" "chat.v1"
}

func ExampleDisconnect() {
	r := ws.NewRouter()
	r.OnDisconnect(func(ctx context.Context, req *ws.Request) error {
		code, _ := req.DisconnectStatus()
		fmt.Println(req.ConnectionID, "left with", code)
		return nil
	})
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return nil })

	r.Handler(context.Background(), wstest.Disconnect("R1kmxc2VNjMCFIA=", 1001))
	// Output: R1kmxc2VNjMCFIA= left with 1001
}
