package local

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"
)

// TestIntegrationTimeout checks the frame a client gets when API Gateway
// stops waiting for a function that is still running (its own timeout is
// longer): "Endpoint request timed out", then the next message is served.
func TestIntegrationTimeout(t *testing.T) {
	hang := make(chan struct{})
	f := newTestFunction(t, func(ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		if ev.Body == "hang" {
			<-hang
		}
		return events.APIGatewayProxyResponse{StatusCode: 200, Body: ev.Body}, nil
	}, &FunctionOptions{Timeout: time.Minute})
	g := New(f, &Options{Logger: quiet})
	g.timeout = 200 * time.Millisecond
	c := serveAndDial(t, g)
	t.Cleanup(func() { close(hang) }) // first: Close waits for the invocation on the caller's Function
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.Write(ctx, websocket.MessageText, []byte("hang"))
	_, b, err := c.Read(ctx)
	if err != nil || !strings.HasPrefix(string(b), `{"message": "Endpoint request timed out", "connectionId":"`) {
		t.Errorf("got %s, %v", b, err)
	}
	c.Write(ctx, websocket.MessageText, []byte("ok"))
	if _, b, err := c.Read(ctx); err != nil || string(b) != "ok" {
		t.Errorf("got %s, %v after the timeout", b, err)
	}
}

// TestCloseAfterDrainTimeout checks that a close whose drain timed out
// (drainTimeout passed while the writer was between frames) still ends the
// connection: the client sees it closed and $disconnect runs.
func TestCloseAfterDrainTimeout(t *testing.T) {
	disconnected := make(chan struct{})
	ids := make(chan string, 1)
	g := New(func(ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		switch ev.RequestContext.EventType {
		case "CONNECT":
			ids <- ev.RequestContext.ConnectionID
		case "DISCONNECT":
			close(disconnected)
		}
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	}, &Options{Logger: quiet})
	c := serveAndDial(t, g)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn := g.lookup(<-ids)
	conn.wstop() // as when the drain timer fires between two frames
	conn.requestClose(websocket.StatusGoingAway, "Going away")
	rctx, rcancel := context.WithTimeout(ctx, 3*time.Second)
	defer rcancel()
	if _, _, err := c.Read(rctx); rctx.Err() != nil {
		t.Fatalf("connection still open after its close gave up draining: %v", err)
	}
	select {
	case <-disconnected:
	case <-ctx.Done():
		t.Fatal("$disconnect did not run")
	}
}

// serveAndDial serves g and connects a client; the test's cleanup closes
// the client, then g and its server.
func serveAndDial(t *testing.T, g *Gateway) *websocket.Conn {
	t.Helper()
	srv := httptest.NewServer(g)
	t.Cleanup(func() {
		g.Close()
		srv.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}
