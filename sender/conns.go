package sender

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sync"
	"time"
)

// conns is an HTTP/1.1 client for one host with a pool of keep-alive
// connections, each used by one call at a time and written and read by the
// calling goroutine. Compared with http.Transport it saves the two
// goroutines per connection and the hand-offs between them on every call,
// which is most of net/http's CPU per call for the management API's small
// requests and empty answers. It speaks only what that API needs: requests
// with a known length, responses read whole (up to 64 KiB, the rest cut),
// no proxies, no redirects, no HTTP/2.
type conns struct {
	addr   string      // host:port to dial
	tls    *tls.Config // nil for plain HTTP
	dialer net.Dialer
	max    int           // idle connections kept
	idle   time.Duration // an idle connection older than this is closed, not reused
	// handshake bounds a TLS handshake, as the SDK's HTTP client's
	// TLSHandshakeTimeout does (also when the context has no deadline).
	handshake time.Duration

	mu   sync.Mutex
	free []*conn // idle, most recently used last
}

type conn struct {
	net.Conn
	br   *bufio.Reader // reads through budget
	bw   *bufio.Writer
	used time.Time
	left int64 // bytes br may still read for the current response
}

// errTooLong: a response's headers are longer than maxHeader.
var errTooLong = fmt.Errorf("sender: response headers over %d bytes", maxHeader)

// budget reads c's connection, at most c.left bytes.
type budget struct{ c *conn }

func (b budget) Read(p []byte) (int, error) {
	if b.c.left <= 0 {
		return 0, errTooLong
	}
	if int64(len(p)) > b.c.left {
		p = p[:b.c.left]
	}
	n, err := b.c.Conn.Read(p)
	b.c.left -= int64(n)
	return n, err
}

// maxBody bounds the response bodies conns reads (the management API's are
// empty or a few hundred bytes); a longer one is cut.
const maxBody = 64 << 10

// maxHeader bounds the header bytes of a response (1xx ones included),
// as http.Transport's default MaxResponseHeaderBytes does.
const maxHeader = 10 << 20

// max1xx bounds the informational responses read before the final one.
const max1xx = 8

// newConns returns a client for the scheme ("http" or "https") and host of
// an endpoint, trusting what tlsConfig trusts.
func newConns(scheme, host string, tlsConfig *tls.Config, maxIdle int) *conns {
	c := &conns{addr: host, max: maxIdle, idle: 30 * time.Second, handshake: 10 * time.Second,
		dialer: net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}}
	port := "80"
	if scheme == "https" {
		port = "443"
		c.tls = tlsConfig.Clone()
		if c.tls == nil {
			c.tls = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		if c.tls.ServerName == "" {
			h, _, err := net.SplitHostPort(host)
			if err != nil {
				h = host
			}
			c.tls.ServerName = h
		}
		c.tls.NextProtos = []string{"http/1.1"}
	}
	if _, _, err := net.SplitHostPort(host); err != nil {
		c.addr = net.JoinHostPort(host, port)
	}
	return c
}

// get returns an idle connection, or dials one.
func (p *conns) get(ctx context.Context) (c *conn, reused bool, err error) {
	now := time.Now()
	for {
		p.mu.Lock()
		if len(p.free) == 0 {
			p.mu.Unlock()
			break
		}
		c = p.free[len(p.free)-1]
		p.free = p.free[:len(p.free)-1]
		p.mu.Unlock()
		if now.Sub(c.used) < p.idle && !spoiled(c) {
			return c, true, nil
		}
		c.Close()
	}
	nc, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, false, err
	}
	if p.tls != nil {
		tc := tls.Client(nc, p.tls)
		hctx, cancel := context.WithTimeout(ctx, p.handshake)
		err := tc.HandshakeContext(hctx)
		if hctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("sender: TLS handshake timeout (%v)", p.handshake)
		}
		cancel()
		if err != nil {
			nc.Close()
			return nil, false, err
		}
		nc = tc
	}
	c = &conn{Conn: nc, bw: bufio.NewWriterSize(nc, 4096)}
	c.br = bufio.NewReaderSize(budget{c}, 4096)
	return c, false, nil
}

// closeIdle closes the idle connections.
func (p *conns) closeIdle() {
	p.mu.Lock()
	free := p.free
	p.free = nil
	p.mu.Unlock()
	for _, c := range free {
		c.Close()
	}
}

func (p *conns) put(c *conn) {
	c.used = time.Now()
	p.mu.Lock()
	if len(p.free) < p.max {
		p.free = append(p.free, c)
		c = nil
	}
	p.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

var (
	// errNotSent: writing the request failed, so the server did not get it whole.
	errNotSent = errors.New("connection closed while sending the request")
	// errNoResponse: the connection ended after the request was sent,
	// before any byte of a response.
	errNoResponse = errors.New("connection closed before a response")
)

// Do sends req and reads the whole response. A reused connection that the
// server closed while it was idle is not used (see spoiled). When a reused
// connection fails all the same, the request is sent once more on a new one
// only if the server cannot have acted on it, as http.Transport does: it was
// not sent whole, or it is a GET. A POST the server may have received is not
// sent twice (that could deliver a message twice); its call fails.
func (p *conns) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		c, reused, err := p.get(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := p.roundTrip(ctx, c, req)
		if err == nil {
			return resp, nil
		}
		c.Close()
		again := errors.Is(err, errNotSent) || errors.Is(err, errNoResponse) && req.Method == http.MethodGet
		if !reused || attempt > 0 || !again || ctx.Err() != nil {
			return nil, err
		}
		if req.GetBody != nil {
			if req.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
	}
}

func (p *conns) roundTrip(ctx context.Context, c *conn, req *http.Request) (*http.Response, error) {
	// The context ends the call by expiring the connection's deadline; a
	// connection it may have expired is not reused.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	// A failed write leaves the server an incomplete request at most.
	if err := req.Write(c.bw); err != nil {
		return nil, p.ctxErr(ctx, fmt.Errorf("%w: %w", errNotSent, err))
	}
	if err := c.bw.Flush(); err != nil {
		return nil, p.ctxErr(ctx, fmt.Errorf("%w: %w", errNotSent, err))
	}
	c.left = maxHeader
	if _, err := c.br.Peek(1); err != nil {
		return nil, p.ctxErr(ctx, fmt.Errorf("%w: %w", errNoResponse, err))
	}
	resp, err := http.ReadResponse(c.br, req)
	// Informational responses (100 Continue, 103 Early Hints) precede the
	// final one, which must be read too, or the next call on the
	// connection would take it for its own (http.Transport skips them).
	for n := 0; err == nil && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols; n++ {
		if n == max1xx {
			return nil, fmt.Errorf("sender: more than %d informational responses", max1xx)
		}
		resp, err = http.ReadResponse(c.br, req)
	}
	if err != nil {
		return nil, p.ctxErr(ctx, err)
	}
	c.left = math.MaxInt64 // the body is bounded below, once decoded
	var body []byte
	if resp.ContentLength != 0 {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
		if err != nil {
			return nil, p.ctxErr(ctx, err)
		}
	}
	// A longer body is cut; the rest is left unread, so the connection
	// cannot carry another call.
	cut := len(body) > maxBody
	if cut {
		body = body[:maxBody]
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if !stop() || cut || resp.Close || req.Close || resp.StatusCode < 200 {
		c.Close()
	} else {
		p.put(c)
	}
	return resp, nil
}

// ctxErr returns the context's error in place of the deadline error it
// caused.
func (p *conns) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}
