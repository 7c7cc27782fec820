package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/local/lambdaenv"
)

// quiet is a logger for gateways under test.
var quiet = slog.New(slog.DiscardHandler)

// TestIntegrationTimeout checks the frame a client gets when API Gateway
// stops waiting for a function that is still running (its own timeout is
// longer): "Endpoint request timed out", then the next message is served.
func TestIntegrationTimeout(t *testing.T) {
	t.Parallel() // waits out timeouts: overlaps the other such tests
	hang := make(chan struct{})
	f := lambdaenv.New(func(ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		if ev.Body == "hang" {
			<-hang
		}
		return events.APIGatewayProxyResponse{StatusCode: 200, Body: ev.Body}, nil
	}, &lambdaenv.Options{Timeout: time.Minute, Logger: quiet})
	t.Cleanup(func() { f.Close() })
	g := New(f, &Options{Logger: quiet, Routes: map[string]Route{"$default": {TwoWay: true}}})
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
	t.Parallel() // its cleanup waits out a close: overlaps the other such tests
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

// serveGateway serves g as Serve does, on a loopback listener, until the
// returned stop is called (by the test or its cleanup); stop returns
// Serve's error.
func serveGateway(t *testing.T, g *Gateway) (addr string, stop func() error) {
	t.Helper()
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, ln) }()
	var once sync.Once
	var serr error
	stop = func() error {
		once.Do(func() {
			cancel()
			serr = <-done
		})
		return serr
	}
	t.Cleanup(func() { stop() })
	return ln.Addr().String(), stop
}

// rawConn opens a TCP connection to addr, closed by the test's cleanup.
func rawConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestSlowRequestBody checks that a client trickling a request body cannot
// hold its connection (a goroutine and an fd) for ever: past the gateway's
// request timeout the management API answers 400 and the connection is
// closed, on the management API and elsewhere.
func TestSlowRequestBody(t *testing.T) {
	t.Parallel() // waits out timeouts: overlaps the other such tests
	for _, tc := range []struct {
		name, path, header string
		status             int
	}{
		{"PostToConnection", "/local/@connections/abc", "", http.StatusBadRequest},
		{"other path", "/", "", http.StatusUpgradeRequired},
		{"handshake", "/", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := New(rawOK, &Options{Logger: quiet})
			g.reqTimeout = 300 * time.Millisecond
			addr, stop := serveGateway(t, g)
			c := rawConn(t, addr)
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\n%sContent-Length: 1000\r\n\r\n", tc.path, addr, tc.header)
			quit := make(chan struct{})
			defer close(quit)
			go func() { // a byte every 50 ms, until the connection ends
				for {
					select {
					case <-quit:
						return
					case <-time.After(50 * time.Millisecond):
					}
					if _, err := c.Write([]byte("x")); err != nil {
						return
					}
				}
			}()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no response to a trickled body: %v", err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			// Closed: EOF, or a reset when the server closed with the
			// client's trickled bytes still unread (seen under load).
			if _, err := br.ReadByte(); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("after the response: %v, want the connection closed (EOF or reset)", err)
			}
			if err := stop(); err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
}

// TestKeepAliveTimeout checks that an HTTP connection left idle between
// requests is closed after the gateway's keep-alive timeout.
func TestKeepAliveTimeout(t *testing.T) {
	t.Parallel() // waits out timeouts: overlaps the other such tests
	g := New(rawOK, &Options{Logger: quiet})
	g.keepAlive = 300 * time.Millisecond
	addr, _ := serveGateway(t, g)
	c := rawConn(t, addr)
	fmt.Fprintf(c, "GET /local/@connections/abc HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Errorf("GetConnection: %d, want 410", resp.StatusCode)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("idle keep-alive connection: %v, want it closed (EOF)", err)
	}
}

// rawOK is a handler answering every event with 200.
func rawOK(events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	return events.APIGatewayProxyResponse{StatusCode: 200}, nil
}

// TestServeShutdownBusyRequest checks that a request still running when
// Serve's shutdown grace ends (a Fallback streaming, say) does not make
// Serve fail or outlive it: its connection is closed and Serve returns nil.
func TestServeShutdownBusyRequest(t *testing.T) {
	t.Parallel() // waits out timeouts: overlaps the other such tests
	entered := make(chan struct{})
	g := New(rawOK, &Options{Logger: quiet, Fallback: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		close(entered)
		<-r.Context().Done()
	})})
	g.grace = 200 * time.Millisecond
	addr, stop := serveGateway(t, g)
	c := rawConn(t, addr)
	fmt.Fprintf(c, "GET /events HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	<-entered
	if err := stop(); err != nil {
		t.Errorf("Serve: %v, want nil", err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Errorf("the busy connection after Serve returned: %v, want it closed", err)
	}
}
