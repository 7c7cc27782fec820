package wstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/sender"
)

// A Conn is a WebSocket client connected to a [Gateway]. A background
// goroutine reads its messages, which Next returns in order. It is closed at
// the end of the test that dialed it. Use a Conn from one goroutine.
type Conn struct {
	g    *Gateway
	ws   *websocket.Conn
	id   string
	done chan struct{} // closed when the reader ends

	mu     sync.Mutex
	wake   chan struct{} // a message arrived or the connection closed (capacity 1)
	queue  []string
	closed error // why the reader ended
}

// Handshake is what a test adds to a WebSocket handshake: to the request of
// [Gateway.Dial] or to the event [Connect] builds. A nil *Handshake adds
// nothing.
type Handshake struct {
	Header http.Header // request headers
	Query  url.Values  // query parameters of the URL
	// Subprotocols are offered in Sec-WebSocket-Protocol, in order of
	// preference; the $connect handler chooses one (see ws.Request).
	Subprotocols []string
}

// orEmpty returns h, or an empty Handshake for nil, with non-nil maps.
func (h *Handshake) orEmpty() *Handshake {
	c := &Handshake{Header: http.Header{}, Query: url.Values{}}
	if h != nil {
		for k, v := range h.Header {
			c.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
		}
		for k, v := range h.Query {
			c.Query[k] = append([]string(nil), v...)
		}
		c.Subprotocols = h.Subprotocols
	}
	return c
}

// Dial opens a WebSocket connection through the gateway, running the
// authorizer and $connect, and fails the test if the handshake is refused.
func (g *Gateway) Dial(t testing.TB, h *Handshake) *Conn {
	t.Helper()
	c, resp, err := g.dial(t, h)
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(resp.Body)
			t.Fatalf("wstest: handshake refused with %d %q", resp.StatusCode, body)
		}
		t.Fatalf("wstest: dial: %v", err)
	}
	return c
}

// DialRefused makes a handshake that the test expects the authorizer or
// $connect to refuse, and returns the status and body of the refusal. It
// fails the test if the handshake succeeds.
func (g *Gateway) DialRefused(t testing.TB, h *Handshake) (status int, body string) {
	t.Helper()
	c, resp, err := g.dial(t, h)
	if err == nil {
		t.Fatalf("wstest: handshake accepted as connection %s, want it refused", c.ID())
	}
	if resp == nil {
		t.Fatalf("wstest: dial: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (g *Gateway) dial(t testing.TB, hs *Handshake) (*Conn, *http.Response, error) {
	t.Helper()
	h := hs.orEmpty()
	u := g.url
	if len(h.Query) > 0 {
		u += "?" + h.Query.Encode()
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.Timeout)
	defer cancel()
	w, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		HTTPClient:   g.dialer,
		HTTPHeader:   h.Header,
		Subprotocols: h.Subprotocols,
	})
	if err != nil {
		return nil, resp, err
	}
	w.SetReadLimit(-1)
	g.mu.Lock()
	id, ok := g.accepted[resp.Header.Get("Sec-WebSocket-Accept")]
	delete(g.accepted, resp.Header.Get("Sec-WebSocket-Accept"))
	g.mu.Unlock()
	if !ok {
		w.CloseNow()
		t.Fatalf("wstest: the gateway accepted the handshake without running $connect; keep \"$connect\" in local.Options.Routes")
	}
	c := &Conn{g: g, ws: w, id: id, done: make(chan struct{}), wake: make(chan struct{}, 1)}
	go c.read()
	t.Cleanup(func() {
		c.ws.CloseNow()
		<-c.done
	})
	return c, resp, nil
}

// ID returns the connection id API Gateway gave the connection, the
// ConnectionID its handlers see.
func (c *Conn) ID() string { return c.id }

// Subprotocol returns the subprotocol the $connect handler selected, or "".
func (c *Conn) Subprotocol() string { return c.ws.Subprotocol() }

func (c *Conn) read() {
	defer close(c.done)
	for {
		_, b, err := c.ws.Read(context.Background())
		c.mu.Lock()
		if err != nil {
			c.closed = err
		} else {
			c.queue = append(c.queue, string(b))
		}
		c.mu.Unlock()
		select {
		case c.wake <- struct{}{}:
		default:
		}
		if err != nil {
			c.g.update(func() { c.g.state(c.id).closed = true })
			return
		}
	}
}

// Send sends data as one text message, encoded as ws.SendMessage encodes:
// a []byte or string as is, anything else as JSON. Messages over 16 KiB are
// split into frames, since API Gateway refuses frames over 32 KiB.
func (c *Conn) Send(t testing.TB, data any) {
	t.Helper()
	b, err := sender.Encode(data)
	if err != nil {
		t.Fatalf("wstest: %v", err)
	}
	c.g.update(func() { c.g.state(c.id).sent++ })
	ctx, cancel := context.WithTimeout(context.Background(), c.g.Timeout)
	defer cancel()
	if err := c.write(ctx, b); err != nil {
		t.Fatalf("wstest: connection %s: send: %v", c.id, err)
	}
}

// write sends b as one text message in frames of at most 16 KiB, as a
// client of API Gateway must (it closes the connection on a frame over
// 32 KiB).
func (c *Conn) write(ctx context.Context, b []byte) error {
	w, err := c.ws.Writer(ctx, websocket.MessageText)
	if err != nil {
		return err
	}
	for len(b) > 0 {
		n := min(len(b), 16<<10)
		if _, err := w.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return w.Close()
}

// next returns the next message, or why there is none within d.
func (c *Conn) next(d time.Duration) (string, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		c.mu.Lock()
		if len(c.queue) > 0 {
			m := c.queue[0]
			c.queue = c.queue[1:]
			c.mu.Unlock()
			return m, nil
		}
		closed := c.closed
		c.mu.Unlock()
		if closed != nil {
			return "", fmt.Errorf("connection %s closed: %w", c.id, closed)
		}
		select {
		case <-c.wake:
		case <-timer.C:
			return "", fmt.Errorf("no message on connection %s within %v", c.id, d)
		}
	}
}

// Next returns the next message the connection receives. It fails the test
// if none arrives within the gateway's Timeout, or the connection closes.
func (c *Conn) Next(t testing.TB) string {
	t.Helper()
	m, err := c.next(c.g.Timeout)
	if err != nil {
		t.Fatalf("wstest: %v", err)
	}
	return m
}

// Expect fails the test unless the next message is want, encoded as Send
// encodes it. A want that is not a string or []byte is compared as JSON, so
// the order of object members and spacing do not matter.
func (c *Conn) Expect(t testing.TB, want any) {
	t.Helper()
	got := c.Next(t)
	w, err := sender.Encode(want)
	if err != nil {
		t.Fatalf("wstest: %v", err)
	}
	if !equal(got, w, want) {
		t.Fatalf("wstest: connection %s received %s, want %s", c.id, short(got), short(string(w)))
	}
}

func equal(got string, want []byte, v any) bool {
	switch v.(type) {
	case string, []byte:
		return got == string(want)
	}
	var g, w any
	if json.Unmarshal([]byte(got), &g) != nil || json.Unmarshal(want, &w) != nil {
		return got == string(want)
	}
	return reflect.DeepEqual(g, w)
}

// short returns s, cut to 200 bytes for a failure message.
func short(s string) string {
	if len(s) > 200 {
		return s[:200] + fmt.Sprintf("… (%d bytes)", len(s))
	}
	return s
}

// ExpectNone fails the test if a message arrives within d.
func (c *Conn) ExpectNone(t testing.TB, d time.Duration) {
	t.Helper()
	if m, err := c.next(d); err == nil {
		t.Fatalf("wstest: connection %s received %s, want no message", c.id, short(m))
	}
}

// ExpectClose fails the test unless the gateway closes the connection with
// the status code within the gateway's Timeout, with no message before it.
func (c *Conn) ExpectClose(t testing.TB, code int) {
	t.Helper()
	m, err := c.next(c.g.Timeout)
	if err == nil {
		t.Fatalf("wstest: connection %s received %s, want it closed with %d", c.id, short(m), code)
	}
	if got := websocket.CloseStatus(err); int(got) != code {
		t.Fatalf("wstest: %v, want it closed with %d", err, code)
	}
}

// Close closes the connection with 1000 and waits for its $disconnect to
// have run.
func (c *Conn) Close(t testing.TB) {
	t.Helper()
	err := c.ws.Close(websocket.StatusNormalClosure, "")
	if err != nil && !errors.Is(err, net.ErrClosed) {
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("wstest: connection %s: close: %v", c.id, err)
		}
	}
	<-c.done
	c.g.wait(t, "$disconnect of connection "+c.id, func() bool { return c.g.state(c.id).disconnected })
}
