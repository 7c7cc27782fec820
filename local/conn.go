package local

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/internal/apigw"
	"github.com/lambdaws/lambdaws/internal/inspect"
	"github.com/lambdaws/lambdaws/internal/logs"
	"github.com/lambdaws/lambdaws/registry"
)

// conn is one accepted WebSocket connection.
//
// Goroutines. Two serve it, both counted in Gateway.wg:
//   - The reader (readLoop) is the only caller of ws.Reader. It starts an
//     invocation per client message (several run at once, as on AWS;
//     each holds slots of inflight until it ends, so the reader blocks
//     when a connection has too much in flight) and, once the connection
//     is closed, clears the queue, unregisters the conn, cancels ctx and
//     runs $disconnect itself, once.
//   - The writer (writeLoop) is the only goroutine that writes data
//     frames: it writes the queue in order, then performs the pending
//     close, so that a close never overtakes frames already accepted. It
//     ends after that close or when ctx is done.
//
// Everyone else (management API requests, invocation callbacks sending a
// route response or an error frame, the idle, lifetime and drain timers,
// Gateway.Close) only calls send or requestClose: both take mu briefly,
// never block, and wake the writer. The one direct close outside the
// writer is the reader refusing a client's frame or message (closeWith
// with 1002, 1003, 1007 or 1009); coder/websocket serializes it with the
// writer's frames.
//
// Locks. mu guards the fields below it and is held only for bookkeeping,
// never across I/O, an invocation or Gateway.mu (the two are never held
// together). closing only goes from false to true (requestClose,
// closeWith, the reader's end); from then on send answers gone. closed
// is the first close the gateway sent, and pending the close the writer
// will send. The fields above mu are set before the goroutines start and
// only read after, except lastActive (atomic) and idle/life (timers, safe
// for concurrent use).
type conn struct {
	g          *Gateway
	ws         *websocket.Conn
	fc         *frameConn
	info       apigw.Conn   // the fields of its events; set before the reader starts
	lastActive atomic.Int64 // Unix ms of the last client message

	inflight chan struct{}   // slots held by message invocations in progress (see slots)
	wake     chan struct{}   // the writer has work (capacity 1)
	ctx      context.Context // done once the reader ended: the client is gone
	cancel   context.CancelFunc
	wctx     context.Context // done once a requested close waited drainTimeout for the queue
	wstop    context.CancelFunc
	idle     *time.Timer
	life     *time.Timer

	mu      sync.Mutex
	queue   [][]byte    // frames accepted by PostToConnection or a route response, oldest first
	queued  int         // bytes in queue
	closing bool        // a close started: the management API answers 410
	pending closeError  // the close the writer performs once queue is empty
	drain   *time.Timer // bounds how long pending waits for queue
	closed  closeError  // the first close the gateway sent
}

type closeError struct {
	code   websocket.StatusCode
	reason string
}

// Outcomes of conn.send.
const (
	sent = iota
	full // the client is not reading: LimitExceededException
	gone // a close started: GoneException
)

func (g *Gateway) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if !g.begin() {
		http.Error(w, "local: gateway closed", http.StatusServiceUnavailable)
		return
	}
	defer g.wg.Done()
	if status, err := checkHandshake(r); err != nil {
		if status == http.StatusBadRequest {
			w.Header().Set("Sec-WebSocket-Version", "13")
		}
		http.Error(w, err.Error(), status)
		return
	}
	start := time.Now()
	ip := r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ip = host
	}
	c := &conn{g: g, info: apigw.Conn{
		ID:             g.newConnID(),
		APIID:          g.apiID,
		Stage:          g.stage,
		DomainName:     gatewayHost(r),
		SourceIP:       ip,
		UserAgent:      r.UserAgent(),
		ConnectedAt:    start,
		StageVariables: g.stageVars,
	}}
	c.lastActive.Store(start.UnixMilli())
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	header, query := apigw.ConnectHeaders(&c.info, r.Header, r.Host, proto), r.URL.Query()

	table := g.table.Load()
	if table.authorizer != nil {
		status, auth := g.authorize(table.authorizer, &c.info, header, query)
		if status != http.StatusOK {
			writeJSON(w, status, map[int]string{401: "Unauthorized", 403: "Forbidden", 500: "Internal server error"}[status])
			return
		}
		c.info.Authorizer = auth
	}
	status, protocol := http.StatusOK, ""
	if rt, ok := table.routes[registry.Connect]; ok {
		ev := apigw.Connect(&c.info, header, query)
		out, inv := g.invoke(rt.Function, ev)
		resp, err := decodeResponse(out, inv.err)
		switch {
		case err != nil:
			status = http.StatusBadGateway
			writeJSON(w, status, "Internal server error")
		case resp.StatusCode == 0 || resp.StatusCode >= 200 && resp.StatusCode < 300:
			status = max(resp.StatusCode, http.StatusOK)
			protocol = responseHeader(&resp, "Sec-WebSocket-Protocol")
		case resp.StatusCode < 200 || resp.StatusCode > 599:
			status = http.StatusBadGateway
			err = fmt.Errorf("local: $connect returned status %d", resp.StatusCode)
			writeJSON(w, status, "Internal server error")
		default:
			status = resp.StatusCode
			w.WriteHeader(status)
			io.WriteString(w, resp.Body)
		}
		msg := "local: connect"
		if status > 299 {
			msg = "local: connect refused"
		}
		g.logInvocation(msg, &c.info, ev.RequestContext.RequestID, registry.Connect, rt.Function, status, inv, err)
		if status > 299 {
			return
		}
	} else {
		g.log.Info("local: connect", logs.ConnectionID, c.info.ID, logs.Route, registry.Connect, logs.Status, status)
	}

	if protocol != "" {
		// Copied as the handler chose it; API Gateway does not negotiate.
		w.Header().Set("Sec-WebSocket-Protocol", protocol)
	}
	// Register before the 101 goes out, so the management API knows the
	// connection as soon as the client does.
	c.inflight = make(chan struct{}, maxInFlight)
	c.wake = make(chan struct{}, 1)
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wctx, c.wstop = context.WithCancel(c.ctx)
	g.mu.Lock()
	closing := g.closed
	g.conns[c.info.ID] = c
	g.mu.Unlock()

	hw := &hijackWriter{ResponseWriter: w}
	ws, err := websocket.Accept(hw, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil { // checkHandshake makes this unlikely (a failed hijack)
		g.unregister(c)
		c.cancel()
		g.log.Error("local: handshake failed after $connect", logs.ConnectionID, c.info.ID, logs.Error, err)
		c.disconnect(closeError{websocket.StatusAbnormalClosure, ""})
		return
	}
	ws.SetReadLimit(-1) // the reader enforces maxMessage itself
	c.ws, c.fc = ws, hw.fc
	c.idle = time.AfterFunc(g.idle, func() { c.requestClose(websocket.StatusGoingAway, "Going away") })
	c.life = time.AfterFunc(g.lifetime, func() { c.requestClose(websocket.StatusGoingAway, "Going away") })
	g.wg.Add(2)
	c.inspectOpen(r.URL.RawQuery)
	go c.readLoop()
	go c.writeLoop()
	if closing {
		c.requestClose(websocket.StatusGoingAway, "Going away")
	}
}

// checkHandshake validates a WebSocket opening handshake as
// websocket.Accept does, so that $connect only runs for handshakes that
// can succeed. It returns the status to refuse it with and why.
func checkHandshake(r *http.Request) (int, error) {
	switch keys := r.Header.Values("Sec-WebSocket-Key"); {
	case !r.ProtoAtLeast(1, 1):
		return http.StatusUpgradeRequired, fmt.Errorf("local: WebSocket handshake over %s, want HTTP/1.1", r.Proto)
	case r.Method != http.MethodGet:
		return http.StatusMethodNotAllowed, fmt.Errorf("local: WebSocket handshake with method %s, want GET", r.Method)
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return http.StatusBadRequest, errors.New("local: unsupported Sec-WebSocket-Version, want 13")
	case len(keys) != 1:
		return http.StatusBadRequest, errors.New("local: want exactly one Sec-WebSocket-Key header")
	default:
		if k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(keys[0])); err != nil || len(k) != 16 {
			return http.StatusBadRequest, errors.New("local: Sec-WebSocket-Key is not 16 bytes in base64")
		}
	}
	return 0, nil
}

// gatewayHost returns the gateway's own host:port as the local end of the
// client's TCP connection, never the client's Host header, which would let a
// client decide where the handlers' management API calls go. A non-loopback
// address (a listener on every interface reached from the network) is
// replaced by 127.0.0.1 on the same port, which the handlers, running beside
// the gateway, reach and sender.ResolveEndpoint sends plain HTTP to.
func gatewayHost(r *http.Request) string {
	a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return "127.0.0.1"
	}
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "127.0.0.1"
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// writeJSON refuses a handshake with status and API Gateway's JSON body.
func writeJSON(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"message": %q}`, message)
}

func (g *Gateway) unregister(c *conn) {
	g.mu.Lock()
	delete(g.conns, c.info.ID)
	g.mu.Unlock()
}

// newConnID returns a connection id not in use.
func (g *Gateway) newConnID() string {
	for {
		id := apigw.NewID()
		g.mu.Lock()
		_, dup := g.conns[id]
		g.mu.Unlock()
		if !dup {
			return id
		}
	}
}

// requestClose closes the connection with code and reason once the frames
// already queued are written, or after drainTimeout if the client does not
// read them. It never blocks; the first close wins.
func (c *conn) requestClose(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	c.closing = true
	c.pending = closeError{code, reason}
	c.drain = time.AfterFunc(drainTimeout, c.wstop)
	c.signal()
	c.inspectState(inspect.Closing, c.pending)
}

// signal wakes the writer.
func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// closeWith closes the connection now with a close handshake, remembering
// the code for $disconnect unless an earlier close set it.
func (c *conn) closeWith(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	c.closing = true
	if c.closed.code == 0 {
		c.closed = closeError{code, reason}
	}
	c.mu.Unlock()
	c.inspectState(inspect.Closing, closeError{code, reason})
	c.ws.Close(code, reason)
}

// refuse closes the connection as the frameConn asks after refusing a
// client's frame, if it did.
func (c *conn) refuse() {
	if ce := c.fc.refused.Load(); ce != nil {
		c.inspectIn(nil, "refused: "+ce.reason)
		c.closeWith(ce.code, ce.reason)
	}
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

func (c *conn) readLoop() {
	defer c.g.wg.Done()
	var err error
	for {
		var typ websocket.MessageType
		var rd io.Reader
		typ, rd, err = c.ws.Reader(context.Background())
		if err != nil {
			c.refuse()
			break
		}
		if typ != websocket.MessageText {
			c.inspectBinary(rd)
			c.closeWith(websocket.StatusUnsupportedData, "Binary frames are not supported")
			break
		}
		var data []byte
		data, err = io.ReadAll(io.LimitReader(rd, maxMessage+1))
		if err != nil {
			c.refuse()
			break
		}
		if len(data) > maxMessage {
			c.inspectIn(data, "refused: Message too big")
			c.closeWith(websocket.StatusMessageTooBig, "Message too big")
			break
		}
		if !utf8.Valid(data) {
			// RFC 6455 section 8.1; coder/websocket does not check.
			c.inspectIn(data, "refused: Invalid UTF-8")
			c.closeWith(websocket.StatusInvalidFramePayloadData, "Invalid UTF-8")
			break
		}
		c.inspectIn(data, "")
		c.lastActive.Store(time.Now().UnixMilli())
		c.idle.Reset(c.g.idle)
		for range slots(len(data)) { // at most maxInFlight at once: back pressure on the client
			c.inflight <- struct{}{}
		}
		c.g.calls.Add(1)
		c.message(data)
	}
	c.idle.Stop()
	c.life.Stop()
	c.ws.CloseNow()

	c.mu.Lock()
	c.closing = true
	if c.drain != nil {
		c.drain.Stop()
	}
	final := c.closed
	c.queue, c.queued = nil, 0
	c.mu.Unlock()
	var ce websocket.CloseError
	switch {
	case c.fc.clientFirst.Load() && errors.As(err, &ce): // the client closed before the gateway did
		final = closeError{ce.Code, ce.Reason}
	case final.code != 0:
	case errors.As(err, &ce): // the client closed
		final = closeError{ce.Code, ce.Reason}
	case c.fc.sent.Load() != nil: // coder/websocket closed, for example with 1002 on a protocol error
		final = *c.fc.sent.Load()
	default: // dropped
		final = closeError{websocket.StatusAbnormalClosure, ""}
	}
	c.g.unregister(c)
	c.cancel()
	c.disconnect(final)
}

// writeLoop writes queued frames in order, then performs the pending close.
func (c *conn) writeLoop() {
	defer c.g.wg.Done()
	for c.ctx.Err() == nil {
		c.mu.Lock()
		var frame []byte
		have := len(c.queue) > 0
		if have {
			frame = c.queue[0]
			c.queue[0] = nil
			c.queue = c.queue[1:]
			c.queued -= len(frame)
		}
		pending := c.pending
		c.mu.Unlock()
		switch {
		case have:
			err := c.ws.Write(c.wctx, websocket.MessageText, frame)
			if err != nil {
				c.g.log.Debug("local: write failed", logs.ConnectionID, c.info.ID, logs.Error, err)
			}
			c.inspectOut(frame, err)
		case pending.code != 0:
			if c.wctx.Err() == nil {
				c.closeWith(pending.code, pending.reason)
			} else {
				c.ws.CloseNow() // the client did not read the queue within drainTimeout
			}
			return
		default:
			select {
			case <-c.wake:
			case <-c.ctx.Done():
			}
		}
	}
}

// send queues a text frame for the client.
func (c *conn) send(b []byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closing:
		return gone
	case len(c.queue) >= outboxFrames || c.queued+len(b) > outboxBytes:
		return full
	}
	c.queue = append(c.queue, b)
	c.queued += len(b)
	c.signal()
	return sent
}

// route returns the route key of routes for a message body, or "" if none
// fits.
func (g *Gateway) route(routes map[string]Route, body []byte) string {
	if v, ok := g.expr.Evaluate(body); ok && v != registry.Connect && v != registry.Disconnect {
		if _, defined := routes[v]; defined {
			return v
		}
	}
	if _, ok := routes[registry.Default]; ok {
		return registry.Default
	}
	return ""
}

// message serves one client message: it starts its invocation, which
// runs concurrently with the connection's other messages, and returns.
func (c *conn) message(body []byte) {
	g := c.g
	release := func() {
		for range slots(len(body)) {
			<-c.inflight
		}
		g.calls.Done()
	}
	routes := g.table.Load().routes
	key := g.route(routes, body)
	if key == "" {
		requestID := apigw.NewID()
		c.send(errorFrame("Forbidden", c.info.ID, requestID))
		g.log.Info("local: message", logs.ConnectionID, c.info.ID, logs.Route, "", logs.Status, http.StatusForbidden, logs.GatewayRequestID, requestID)
		release()
		return
	}
	rt := routes[key]
	ev := apigw.Message(&c.info, key, string(body))
	requestID := ev.RequestContext.RequestID
	g.invokeAsync(rt.Function, ev, func(out []byte, inv outcome) {
		defer release()
		resp, err := decodeResponse(out, inv.err)
		status := resp.StatusCode
		switch {
		case errors.Is(err, errIntegrationTimeout):
			status = http.StatusGatewayTimeout
			c.send(errorFrame("Endpoint request timed out", c.info.ID, requestID))
		case err != nil:
			status = http.StatusInternalServerError
			c.send(errorFrame("Internal server error", c.info.ID, requestID))
		default:
			if rt.TwoWay && resp.Body != "" && c.send([]byte(resp.Body)) == full {
				g.log.Warn("local: route response dropped: client is not reading", logs.ConnectionID, c.info.ID, logs.Route, key)
			}
			if status == 0 {
				status = http.StatusOK
			}
			if status >= 500 && !rt.TwoWay {
				// Nobody sees the body of a one-way route: log it as the
				// error, the one clue to what failed.
				err = fmt.Errorf("local: one-way route returned status %d with body %q", status, truncate(resp.Body, maxLoggedBody))
			}
		}
		g.logInvocation("local: message", &c.info, requestID, key, rt.Function, status, inv, err)
	})
}

// maxLoggedBody bounds the bytes of a failed one-way route's body in the log.
const maxLoggedBody = 4 << 10

// truncate returns s cut to at most n bytes, marked when cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("… (%d bytes in all)", len(s))
}

// slots is how many of its connection's maxInFlight slots a message of n
// bytes holds while it is invoked or waits for an environment: one per
// started inFlightUnit, so that one connection's messages in flight hold at
// most maxInFlight*inFlightUnit bytes of bodies.
func slots(n int) int {
	return min(max(1, (n+inFlightUnit-1)/inFlightUnit), maxInFlight)
}

// errorFrame is the frame API Gateway sends a client when a message fails.
func errorFrame(message, connID, requestID string) []byte {
	return fmt.Appendf(nil, `{"message": %q, "connectionId":%q, "requestId":%q}`, message, connID, requestID)
}

// disconnect runs $disconnect for a connection closed with final, and logs
// the connection's end.
func (c *conn) disconnect(final closeError) {
	g := c.g
	attrs := []any{logs.ConnectionID, c.info.ID, logs.Route, registry.Disconnect}
	if rt, ok := g.table.Load().routes[registry.Disconnect]; ok {
		ev := apigw.Disconnect(&c.info, int(final.code), final.reason)
		out, inv := g.invoke(rt.Function, ev)
		resp, err := decodeResponse(out, inv.err)
		status := max(resp.StatusCode, http.StatusOK)
		if err != nil {
			status = http.StatusInternalServerError
		}
		attrs = append(attrs, logs.Status, status)
		attrs = append(attrs, invocationAttrs(ev.RequestContext.RequestID, rt.Function, inv, err)...)
		g.inspectInvocation("local: disconnect", &c.info, ev.RequestContext.RequestID, registry.Disconnect, rt.Function, status, inv, err)
	} else {
		attrs = append(attrs, logs.Status, 0)
	}
	attrs = append(attrs, "code", int(final.code), logs.Reason, final.reason, "connected", time.Since(c.info.ConnectedAt))
	c.inspectState(inspect.Closed, final)
	g.log.Info("local: disconnect", attrs...)
}
