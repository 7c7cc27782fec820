package integration

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// client is a WebSocket client whose text messages are read in the
// background into a channel, so that tests can wait for them with a timeout.
type client struct {
	t    testing.TB
	name string
	conn *websocket.Conn
	msgs chan string
	done chan struct{} // closed when reading stops
	err  error         // why reading stopped, set before done is closed
}

// dial connects to url or fails the test; the connection is closed when the
// test ends.
func dial(t testing.TB, ctx context.Context, name, url string, opts *websocket.DialOptions) *client {
	t.Helper()
	conn, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("%s: dial %s: %v", name, url, err)
	}
	conn.SetReadLimit(1 << 20) // the gateway sends up to 128 KB
	c := &client{t: t, name: name, conn: conn, msgs: make(chan string, 4096), done: make(chan struct{})}
	go c.read()
	t.Cleanup(func() { conn.CloseNow() })
	return c
}

func (c *client) read() {
	defer close(c.done)
	for {
		typ, data, err := c.conn.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		if typ != websocket.MessageText {
			c.err = errors.New("binary message from the server")
			return
		}
		c.msgs <- string(data)
	}
}

// send writes a text message.
func (c *client) send(ctx context.Context, text string) {
	c.t.Helper()
	if err := c.conn.Write(ctx, websocket.MessageText, []byte(text)); err != nil {
		c.t.Fatalf("%s: send %q: %v", c.name, text, err)
	}
}

// next returns the next message, failing the test after 10 s.
func (c *client) next() string {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-c.done:
		select {
		case m := <-c.msgs:
			return m
		default:
		}
		c.t.Fatalf("%s: connection ended while waiting for a message: %v", c.name, c.err)
	case <-time.After(10 * time.Second):
		c.t.Fatalf("%s: no message after 10 s", c.name)
	}
	return ""
}

// expect reads the next message and compares it with want.
func (c *client) expect(want string) {
	c.t.Helper()
	if got := c.next(); got != want {
		c.t.Fatalf("%s: got %q, want %q", c.name, got, want)
	}
}

// closed waits until the server closed the connection and returns the close
// status it sent (-1 for none).
func (c *client) closed() websocket.StatusCode {
	c.t.Helper()
	select {
	case <-c.done:
		return websocket.CloseStatus(c.err)
	case <-time.After(10 * time.Second):
		c.t.Fatalf("%s: still open after 10 s", c.name)
		return -1
	}
}

// dialStatus dials url and returns the HTTP status of a refused handshake,
// or 101 with the subprotocol of an accepted one (then closed).
func dialStatus(t testing.TB, ctx context.Context, url string, opts *websocket.DialOptions) (status int, subprotocol string) {
	t.Helper()
	conn, resp, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial %s: %v", url, err)
		}
		return resp.StatusCode, ""
	}
	defer conn.CloseNow()
	return http.StatusSwitchingProtocols, conn.Subprotocol()
}

// testContext returns a context that ends with the test or after d.
func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
