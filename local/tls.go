package local

import (
	"crypto/tls"
	"io"
	"net"
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
type tlsListener struct {
	net.Listener
	config  *tls.Config
	timeout time.Duration // for the first byte

	conns chan net.Conn // sniffed connections
	errs  chan error    // the inner listener's errors
	done  chan struct{} // closed by Close

	mu      sync.Mutex
	closed  bool
	pending map[net.Conn]struct{} // connections being sniffed
}

// newTLSListener serves ln's connections as tlsListener says. A client
// must send its first byte within timeout, else its connection is closed.
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
		go l.sniff(c)
	}
}

// sniff reads c's first byte, without waiting for it longer than l.timeout,
// and hands c to Accept.
func (l *tlsListener) sniff(c net.Conn) {
	var first [1]byte
	c.SetReadDeadline(time.Now().Add(l.timeout))
	_, err := io.ReadFull(c, first[:])
	c.SetReadDeadline(time.Time{})
	l.mu.Lock()
	delete(l.pending, c)
	l.mu.Unlock()
	if err != nil {
		c.Close()
		return
	}
	var conn net.Conn = &peekedConn{Conn: c, first: first[0], unread: true}
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

// peekedConn is a connection whose first byte was read already.
type peekedConn struct {
	net.Conn
	first  byte
	unread bool
}

func (c *peekedConn) Read(p []byte) (int, error) {
	if c.unread && len(p) > 0 {
		c.unread = false
		p[0] = c.first
		return 1, nil
	}
	return c.Conn.Read(p)
}
