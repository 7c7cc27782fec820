package local

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// recordTypeHandshake is the first byte of every TLS connection: the type
// of the ClientHello's record. No HTTP request starts with it.
const recordTypeHandshake = 0x16

// tlsListener serves TLS and plain connections on one listener, as
// API Gateway serves wss:// and https:// (and the emulator ws:// and
// http://): a connection whose first byte is a TLS handshake record is
// served with config, any other as it is. Accept returns a *tls.Conn for
// the former, so that http.Server completes the handshake and sets
// Request.TLS.
//
// A connection has one budget of timeout from its accept for its first
// byte, the TLS handshake and the first request's headers, as a plain
// listener gives http.Server's ReadHeaderTimeout: its read deadlines are
// held within the budget until connState sees the headers read.
type tlsListener struct {
	net.Listener
	config  *tls.Config
	timeout time.Duration // from the accept to the first request's headers

	conns chan net.Conn // sniffed connections
	errs  chan error    // the inner listener's errors
	done  chan struct{} // closed by Close

	mu      sync.Mutex
	closed  bool
	pending map[net.Conn]struct{} // connections being sniffed
}

// newTLSListener serves ln's connections as tlsListener says. A client
// must send its first byte, complete a TLS handshake and send its first
// request's headers within timeout of connecting, else its connection is
// closed; the http.Server must use connState.
// config's NextProtos default to http/1.1 only: a WebSocket handshake needs
// HTTP/1.1, and http.Server serves no HTTP/2 on a listener it did not
// configure.
func newTLSListener(ln net.Listener, config *tls.Config, timeout time.Duration) *tlsListener {
	config = config.Clone()
	if len(config.NextProtos) == 0 {
		config.NextProtos = []string{"http/1.1"}
	}
	l := &tlsListener{
		Listener: ln, config: config, timeout: timeout,
		conns: make(chan net.Conn), errs: make(chan error), done: make(chan struct{}),
		pending: map[net.Conn]struct{}{},
	}
	go l.acceptLoop()
	return l
}

func (l *tlsListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			// http.Server retries after a temporary error and stops
			// after another, closing the listener.
			select {
			case l.errs <- err:
				continue
			case <-l.done:
				return
			}
		}
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			c.Close()
			return
		}
		l.pending[c] = struct{}{}
		l.mu.Unlock()
		go l.sniff(c, time.Now().Add(l.timeout))
	}
}

// sniff reads c's first byte, without waiting for it past budget, and hands
// c to Accept.
func (l *tlsListener) sniff(c net.Conn, budget time.Time) {
	var first [1]byte
	c.SetReadDeadline(budget)
	_, err := io.ReadFull(c, first[:])
	l.mu.Lock()
	delete(l.pending, c)
	l.mu.Unlock()
	if err != nil {
		c.Close()
		return
	}
	var conn net.Conn = &peekedConn{Conn: c, first: first[0], unread: true, budget: budget}
	if first[0] == recordTypeHandshake {
		conn = tls.Server(conn, l.config)
	}
	select {
	case l.conns <- conn:
	case <-l.done:
		c.Close()
	}
}

// Accept returns the next connection whose first byte arrived.
func (l *tlsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close closes the inner listener and the connections not yet accepted.
func (l *tlsListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return net.ErrClosed
	}
	l.closed = true
	close(l.done)
	for c := range l.pending {
		c.Close()
	}
	return l.Listener.Close()
}

// connState is the http.Server's ConnState of l's connections: once the
// first request's headers are read (StateActive), a connection's read
// deadlines are the server's own.
func (l *tlsListener) connState(c net.Conn, s http.ConnState) {
	if s != http.StateActive {
		return
	}
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if pc, ok := c.(*peekedConn); ok {
		pc.release()
	}
}

// peekedConn is a connection whose first byte was read already. Until
// release, its read deadline is never later than budget. Its CloseWrite is
// the inner connection's, so that frameConn half-closes and lingers as on a
// plain listener.
type peekedConn struct {
	net.Conn
	first  byte
	unread bool

	mu     sync.Mutex
	budget time.Time // zero once released
	want   time.Time // the read deadline last asked for
}

func (c *peekedConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.want = t
	return c.Conn.SetReadDeadline(c.clamp(t))
}

func (c *peekedConn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(t)
}

// clamp returns t, or the budget if t is later; c.mu is held.
func (c *peekedConn) clamp(t time.Time) time.Time {
	if !c.budget.IsZero() && (t.IsZero() || t.After(c.budget)) {
		return c.budget
	}
	return t
}

// release lifts the budget: the read deadline becomes the one last asked
// for.
func (c *peekedConn) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.budget.IsZero() {
		c.budget = time.Time{}
		c.Conn.SetReadDeadline(c.want)
	}
}

// CloseWrite half-closes the inner connection if it can.
func (c *peekedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

func (c *peekedConn) Read(p []byte) (int, error) {
	if c.unread && len(p) > 0 {
		c.unread = false
		p[0] = c.first
		return 1, nil
	}
	return c.Conn.Read(p)
}
