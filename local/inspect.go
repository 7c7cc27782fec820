package local

import (
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lambdaws/lambdaws/internal/apigw"
	"github.com/lambdaws/lambdaws/internal/inspect"
	"github.com/lambdaws/lambdaws/local/lambdaenv"
)

// This file publishes the gateway's events to Options.Inspector and serves
// its page. Every function here does nothing but a nil check when the
// Inspector is not set.

// setInspector makes g publish to rec and serve its page.
func (g *Gateway) setInspector(rec *inspect.Recorder) {
	if rec == nil {
		return
	}
	g.rec = rec
	g.inspector = inspect.Handler(rec, inspect.Path, inspect.Actions{Post: g.inspectPost, Disconnect: g.inspectDisconnect, Send: g.inspectSend})
}

// isInspector reports whether a request is for the inspector's page.
func (g *Gateway) isInspector(r *http.Request) bool {
	return g.inspector != nil && (r.URL.Path == inspect.Path || strings.HasPrefix(r.URL.Path, inspect.Path+"/"))
}

// inspectPost sends data to a connection as PostToConnection does.
func (g *Gateway) inspectPost(id string, data []byte) int {
	status := http.StatusRequestEntityTooLarge
	if len(data) <= maxPost {
		status = http.StatusGone
		if c := g.lookup(id); c != nil {
			status = map[int]int{sent: http.StatusOK, full: http.StatusTooManyRequests, gone: http.StatusGone}[c.send(data)]
		}
	}
	g.rec.Publish(inspect.Event{Kind: inspect.KindManage, Method: http.MethodPost, Conn: id, Status: status, Size: len(data), Note: "inspector"})
	return status
}

// inspectDisconnect closes a connection as DeleteConnection does.
func (g *Gateway) inspectDisconnect(id string) int {
	status := http.StatusGone
	if c := g.lookup(id); c != nil && !c.isClosing() {
		c.requestClose(1000, "")
		status = http.StatusNoContent
	}
	g.rec.Publish(inspect.Event{Kind: inspect.KindManage, Method: http.MethodDelete, Conn: id, Status: status, Note: "inspector"})
	return status
}

// inspectSend delivers data as a message from connection id's client: 410
// if it is closing, 413 over 128 KiB, 400 if not UTF-8, 429 if the
// connection has too much in flight (the page never waits), else 200 once
// its invocation started.
func (g *Gateway) inspectSend(id string, data []byte) int {
	c := g.lookup(id)
	switch {
	case c == nil || c.isClosing():
		return http.StatusGone
	case len(data) > maxMessage:
		return http.StatusRequestEntityTooLarge
	case !utf8.Valid(data):
		return http.StatusBadRequest
	}
	n := slots(len(data))
	for i := range n {
		select {
		case c.inflight <- struct{}{}:
		default:
			for range i {
				<-c.inflight
			}
			return http.StatusTooManyRequests
		}
	}
	g.mu.Lock()
	if g.closed { // Close may be waiting for g.calls
		g.mu.Unlock()
		for range n {
			<-c.inflight
		}
		return http.StatusGone
	}
	g.calls.Add(1)
	g.mu.Unlock()
	c.inspectIn(data, "sent by the inspector")
	c.message(data)
	return http.StatusOK
}

// serveManage is manage, published.
func (g *Gateway) serveManage(w http.ResponseWriter, r *http.Request, id string) {
	if g.rec == nil {
		g.manage(w, r, id)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	g.manage(sw, r, id)
	g.rec.Publish(inspect.Event{Kind: inspect.KindManage, Method: r.Method, Conn: id, Status: sw.status, Size: int(max(r.ContentLength, 0))})
}

// statusWriter remembers the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// inspectOpen publishes that c opened, with the handshake's query.
func (c *conn) inspectOpen(query string) {
	c.g.rec.Publish(inspect.Event{Kind: inspect.KindConn, Conn: c.info.ID, State: inspect.Open, SourceIP: c.info.SourceIP, Query: query, Authorizer: c.info.Authorizer})
}

// inspectState publishes that c is closing or closed.
func (c *conn) inspectState(state string, ce closeError) {
	c.g.rec.Publish(inspect.Event{Kind: inspect.KindConn, Conn: c.info.ID, State: state, Code: int(ce.code), Reason: ce.reason})
}

// inspectIn publishes a frame from the client, refused if note is set.
func (c *conn) inspectIn(data []byte, note string) {
	c.g.rec.Frame(c.info.ID, inspect.In, false, data, 0, note)
}

// inspectBinary publishes a binary frame, which the gateway refuses, with
// its first bytes.
func (c *conn) inspectBinary(rd io.Reader) {
	if c.g.rec == nil {
		return
	}
	b, _ := io.ReadAll(io.LimitReader(rd, inspect.BinaryPreview))
	n, _ := io.Copy(io.Discard, io.LimitReader(rd, maxMessage))
	c.g.rec.Frame(c.info.ID, inspect.In, true, b, len(b)+int(n), "refused: Binary frames are not supported")
}

// inspectOut publishes a frame sent to the client; err is the write's.
func (c *conn) inspectOut(frame []byte, err error) {
	if c.g.rec == nil {
		return
	}
	note := ""
	if err != nil {
		note = "not sent: " + err.Error()
	}
	c.g.rec.Frame(c.info.ID, inspect.Out, false, frame, 0, note)
}

// inspectInvocation publishes an invocation for the route of connection
// c; msg is its log message.
func (g *Gateway) inspectInvocation(msg string, c *apigw.Conn, requestID, route string, f *lambdaenv.Function, status int, inv outcome, err error) {
	if g.rec == nil {
		return
	}
	if msg == "local: authorizer" {
		route += " (authorizer)"
	}
	e := inspect.Event{Kind: inspect.KindInvoke, Conn: c.ID, Route: route, Function: f.Name(), Request: requestID, Cold: inv.cold,
		Millis: float64(inv.took.Microseconds()) / 1000, Status: status}
	if err != nil {
		e.Error = err.Error()
	}
	var cut1, cut2 bool
	e.Payload, cut1 = inspect.Cut(inv.payload)
	e.Response, cut2 = inspect.Cut(inv.out)
	e.Cut = cut1 || cut2
	g.rec.Publish(e)
}

// requestIDOf returns the request id of an event the gateway invokes.
func requestIDOf(ev any) string {
	switch ev := ev.(type) {
	case *events.APIGatewayWebsocketProxyRequest:
		return ev.RequestContext.RequestID
	case events.APIGatewayWebsocketProxyRequest:
		return ev.RequestContext.RequestID
	case *apigw.AuthorizerRequest:
		return ev.RequestContext.RequestID
	}
	return ""
}
