package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/registry"
)

// conn is one accepted WebSocket connection. Four goroutines serve it: the
// reader reads client messages, the worker invokes the handler for them one
// at a time and then runs $disconnect, the writer sends queued text frames in
// order, and the closer performs closes requested by timers, the management
// API and Gateway.Close.
type conn struct {
	g           *Gateway
	ws          *websocket.Conn
	fc          *frameConn
	id          string
	sourceIP    string
	userAgent   string
	domain      string
	connectedAt time.Time
	lastActive  atomic.Int64 // Unix ms of the last client message
	closing     atomic.Bool  // a close has started: the management API answers 410

	in       chan []byte     // client messages for the worker
	out      chan []byte     // text frames for the writer
	closeReq chan closeError // a close for the closer
	ctx      context.Context // done once the connection is closed
	cancel   context.CancelFunc
	idle     *time.Timer
	life     *time.Timer

	mu     sync.Mutex
	closed closeError // the first close the gateway started
	final  closeError // what $disconnect reports; set before in is closed
}

type closeError struct {
	code   websocket.StatusCode
	reason string
}

func (g *Gateway) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if !g.begin() {
		http.Error(w, "local: gateway closed", http.StatusServiceUnavailable)
		return
	}
	defer g.wg.Done()
	if r.Method != http.MethodGet || r.Header.Get("Sec-WebSocket-Key") == "" || r.Header.Get("Sec-WebSocket-Version") != "13" {
		websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true}) // writes the handshake error
		return
	}
	start := time.Now()
	ip := r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ip = host
	}
	c := &conn{
		g:           g,
		id:          g.newConnID(),
		sourceIP:    ip,
		userAgent:   r.UserAgent(),
		domain:      r.Host,
		connectedAt: start,
	}
	c.lastActive.Store(start.UnixMilli())

	status, protocol, requestID := http.StatusOK, "", ""
	if g.routes[registry.Connect] {
		ev := g.event(c, "CONNECT", registry.Connect)
		requestID = ev.RequestContext.RequestID
		ev.Headers, ev.MultiValueHeaders = connectHeaders(r, ip)
		if q := r.URL.Query(); len(q) > 0 {
			ev.MultiValueQueryStringParameters = q
			ev.QueryStringParameters = make(map[string]string, len(q))
			for k, vs := range q {
				ev.QueryStringParameters[k] = vs[len(vs)-1]
			}
		}
		resp, err := g.invoke(ev)
		switch {
		case err != nil:
			status = http.StatusBadGateway
			g.log.Error("local: $connect failed", "connectionId", c.id, "requestId", requestID, "err", err)
			writeInternalError(w)
		case resp.StatusCode == 0 || resp.StatusCode >= 200 && resp.StatusCode < 300:
			status = max(resp.StatusCode, http.StatusOK)
			protocol = responseHeader(&resp, "Sec-WebSocket-Protocol")
		case resp.StatusCode < 200 || resp.StatusCode > 599:
			status = http.StatusBadGateway
			g.log.Error("local: $connect returned an invalid status", "connectionId", c.id, "requestId", requestID, "statusCode", resp.StatusCode)
			writeInternalError(w)
		default:
			status = resp.StatusCode
			w.WriteHeader(status)
			io.WriteString(w, resp.Body)
		}
		if status < 200 || status > 299 {
			g.logEvent("local: connect refused", c.id, registry.Connect, requestID, status, time.Since(start))
			return
		}
	}

	if protocol != "" {
		// Copied as the handler chose it; API Gateway does not negotiate.
		w.Header().Set("Sec-WebSocket-Protocol", protocol)
	}
	// Register before the 101 goes out, so the management API knows the
	// connection as soon as the client does.
	c.in = make(chan []byte, 64)
	c.out = make(chan []byte, outboxSize)
	c.closeReq = make(chan closeError, 1)
	c.ctx, c.cancel = context.WithCancel(context.Background())
	g.mu.Lock()
	closing := g.closed
	g.conns[c.id] = c
	g.mu.Unlock()

	hw := &hijackWriter{ResponseWriter: w}
	ws, err := websocket.Accept(hw, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		g.unregister(c)
		c.cancel()
		g.log.Error("local: handshake failed after $connect", "connectionId", c.id, "err", err)
		return
	}
	ws.SetReadLimit(-1) // the reader enforces maxMessage itself
	c.ws, c.fc = ws, hw.fc
	c.idle = time.AfterFunc(g.idle, func() { c.requestClose(websocket.StatusGoingAway, "Going away") })
	c.life = time.AfterFunc(g.lifetime, func() { c.requestClose(websocket.StatusGoingAway, "Going away") })
	g.wg.Add(4)
	go c.readLoop()
	go c.workLoop()
	go c.writeLoop()
	go c.closeLoop()
	if closing {
		c.requestClose(websocket.StatusGoingAway, "Going away")
	}
	g.logEvent("local: connect", c.id, registry.Connect, requestID, status, time.Since(start))
}

// writeInternalError refuses a handshake whose $connect invocation failed.
func writeInternalError(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadGateway)
	io.WriteString(w, `{"message": "Internal server error"}`)
}

func (g *Gateway) unregister(c *conn) {
	g.mu.Lock()
	delete(g.conns, c.id)
	g.mu.Unlock()
}

// newConnID returns a connection id not in use.
func (g *Gateway) newConnID() string {
	for {
		id := newID()
		g.mu.Lock()
		_, dup := g.conns[id]
		g.mu.Unlock()
		if !dup {
			return id
		}
	}
}

func (g *Gateway) logEvent(msg, connID, route, requestID string, status int, d time.Duration) {
	g.log.LogAttrs(context.Background(), slog.LevelInfo, msg,
		slog.String("connectionId", connID),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.String("requestId", requestID))
}

// requestClose asks the closer to close the connection with code and reason.
// It never blocks; the first request wins.
func (c *conn) requestClose(code websocket.StatusCode, reason string) {
	c.closing.Store(true)
	select {
	case c.closeReq <- closeError{code, reason}:
	default:
	}
}

// closeWith closes the connection with a close handshake, remembering the
// code for $disconnect unless an earlier close set it.
func (c *conn) closeWith(code websocket.StatusCode, reason string) {
	c.closing.Store(true)
	c.mu.Lock()
	if c.closed.code == 0 {
		c.closed = closeError{code, reason}
	}
	c.mu.Unlock()
	c.ws.Close(code, reason)
}

func (c *conn) closeLoop() {
	defer c.g.wg.Done()
	select {
	case req := <-c.closeReq:
		c.closeWith(req.code, req.reason)
	case <-c.ctx.Done():
	}
}

func (c *conn) readLoop() {
	defer c.g.wg.Done()
	var err error
	for {
		var typ websocket.MessageType
		var rd io.Reader
		typ, rd, err = c.ws.Reader(context.Background())
		if err != nil {
			if c.fc.tooBig.Load() {
				c.closeWith(websocket.StatusMessageTooBig, "Frame too big")
			}
			break
		}
		if typ != websocket.MessageText {
			c.closeWith(websocket.StatusUnsupportedData, "Binary frames are not supported")
			break
		}
		var data []byte
		data, err = io.ReadAll(io.LimitReader(rd, maxMessage+1))
		if err != nil {
			if c.fc.tooBig.Load() {
				c.closeWith(websocket.StatusMessageTooBig, "Frame too big")
			}
			break
		}
		if len(data) > maxMessage {
			c.closeWith(websocket.StatusMessageTooBig, "Message too big")
			break
		}
		c.lastActive.Store(time.Now().UnixMilli())
		c.idle.Reset(c.g.idle)
		c.in <- data
	}
	c.closing.Store(true)
	c.idle.Stop()
	c.life.Stop()
	c.ws.CloseNow()

	c.mu.Lock()
	final := c.closed
	c.mu.Unlock()
	if final.code == 0 {
		final = closeError{websocket.StatusAbnormalClosure, ""}
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			final = closeError{ce.Code, ce.Reason}
		}
	}
	c.final = final

	c.g.unregister(c)
	c.cancel()
	close(c.in)
}

func (c *conn) writeLoop() {
	defer c.g.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case b := <-c.out:
			if err := c.ws.Write(c.ctx, websocket.MessageText, b); err != nil {
				c.g.log.Debug("local: write failed", "connectionId", c.id, "err", err)
			}
		}
	}
}

// send queues a text frame for the client. It reports false when the queue
// is full (the client is not reading).
func (c *conn) send(b []byte) bool {
	select {
	case c.out <- b:
		return true
	default:
		return false
	}
}

func (c *conn) workLoop() {
	defer c.g.wg.Done()
	for body := range c.in {
		c.message(body)
	}
	c.disconnect()
}

// route returns the route key for a message body, or "" if none fits.
func (g *Gateway) route(body []byte) string {
	if v, ok := g.expr.Evaluate(body); ok && v != registry.Connect && v != registry.Disconnect && g.routes[v] {
		return v
	}
	if g.routes[registry.Default] {
		return registry.Default
	}
	return ""
}

func (c *conn) message(body []byte) {
	g := c.g
	start := time.Now()
	key := g.route(body)
	ev := g.event(c, "MESSAGE", key)
	requestID := ev.RequestContext.RequestID
	if key == "" {
		c.send(fmt.Appendf(nil, `{"message": "Forbidden", "connectionId":%q, "requestId":%q}`, c.id, requestID))
		g.logEvent("local: message", c.id, "", requestID, http.StatusForbidden, time.Since(start))
		return
	}
	ev.RequestContext.MessageID = newID()
	ev.Body = string(body)
	resp, err := g.invoke(ev)
	if err != nil {
		g.log.Error("local: integration failed", "connectionId", c.id, "route", key, "requestId", requestID, "err", err)
		c.send(fmt.Appendf(nil, `{"message": "Internal server error", "connectionId":%q, "requestId":%q}`, c.id, requestID))
		g.logEvent("local: message", c.id, key, requestID, http.StatusInternalServerError, time.Since(start))
		return
	}
	if !g.oneWay && resp.Body != "" && !c.send([]byte(resp.Body)) {
		g.log.Warn("local: route response dropped: client is not reading", "connectionId", c.id, "route", key)
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	g.logEvent("local: message", c.id, key, requestID, status, time.Since(start))
}

func (c *conn) disconnect() {
	g := c.g
	start := time.Now()
	requestID, status := "", 0
	if g.routes[registry.Disconnect] {
		ev := g.event(c, "DISCONNECT", registry.Disconnect)
		requestID = ev.RequestContext.RequestID
		ev.Headers, ev.MultiValueHeaders = disconnectHeaders(c.domain)
		ev.RequestContext.DisconnectStatusCode = int64(c.final.code)
		reason := c.final.reason
		ev.RequestContext.DisconnectReason = &reason
		resp, err := g.invoke(ev)
		status = resp.StatusCode
		if err != nil {
			status = http.StatusInternalServerError
			g.log.Error("local: $disconnect failed", "connectionId", c.id, "requestId", requestID, "err", err)
		} else if status == 0 {
			status = http.StatusOK
		}
	}
	g.log.LogAttrs(context.Background(), slog.LevelInfo, "local: disconnect",
		slog.String("connectionId", c.id),
		slog.String("route", registry.Disconnect),
		slog.Int("status", status),
		slog.Duration("duration", time.Since(start)),
		slog.String("requestId", requestID),
		slog.Int("code", int(c.final.code)),
		slog.String("reason", c.final.reason),
		slog.Duration("connected", time.Since(c.connectedAt)))
}
