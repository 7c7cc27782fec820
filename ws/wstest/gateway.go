package wstest

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lambdaws/lambdaws/internal/afterconnect"
	"github.com/lambdaws/lambdaws/local"
	"github.com/lambdaws/lambdaws/local/lambdaenv"
	"github.com/lambdaws/lambdaws/sender"
	"github.com/lambdaws/lambdaws/ws"
)

// A Gateway serves a [ws.Router] behind the local API Gateway emulator
// (package local) on a loopback port, as the deployed API would: real
// WebSocket connections, Lambda's JSON events and the management API that
// ws.SendMessage calls. It watches the events it passes to the router, so
// that tests wait for them instead of sleeping.
type Gateway struct {
	// Timeout bounds every wait of the Gateway and its connections (Next,
	// Close, WaitIdle, ...): the test fails when it passes. NewGateway sets
	// it to 5 s; change it before the waits it should apply to.
	Timeout time.Duration

	router   *ws.Router
	url      string
	client   *sender.Client
	dialer   *http.Client
	mu       sync.Mutex
	changed  chan struct{}     // closed and replaced on every change below
	inflight int               // invocations running
	events   int               // Event invocations accepted by the emulator and not yet served (AfterConnect's)
	accepted map[string]string // Sec-WebSocket-Accept of an accepted $connect → connection id
	conns    map[string]*state
}

// state is what the Gateway knows of one connection.
type state struct {
	sent, handled int  // messages sent by a Conn; MESSAGE invocations done
	closed        bool // the Conn saw the connection close
	disconnected  bool // $disconnect ran
}

// Options configure a Gateway made by NewGateway. A nil *Options, and zero
// fields, give the defaults of a deployed API: stage "local", a 10-minute
// idle timeout, one-way routes and no authorizer.
type Options struct {
	// Stage is the API stage: requestContext.stage and the first path
	// segment of the management API. Default "local".
	Stage string

	// IdleTimeout makes the gateway close a connection that sent no message
	// for that long, with 1001, as API Gateway does after 10 minutes.
	IdleTimeout time.Duration

	// TwoWay gives the routes a route response, as a template's
	// RouteResponse does: what a handler returns with Request.Respond is sent
	// to the client. By default routes are one-way, as on AWS without a route
	// response, and only what handlers send (ws.Reply, ws.SendMessage)
	// reaches the client.
	TwoWay bool

	// Authorizer, when not nil, is a Lambda REQUEST authorizer on $connect,
	// as a template's Authorizer with an AuthorizerUri: the emulator runs it
	// in-process. It is anything lambda.Start accepts, typically made by
	// ws.Authorizer. Handlers read what it returned with Request.Authorizer.
	Authorizer any
	// IdentitySource lists where the authorizer's identity is
	// ("route.request.header.NAME", "route.request.querystring.NAME"): a
	// handshake missing one is refused with 401 without invoking it.
	IdentitySource []string
}

// NewGateway serves r behind the local emulator on 127.0.0.1 until the end
// of the test, when it closes every connection (running their $disconnect)
// and waits for them. The emulator logs through t.Log. NewGateway fails the
// test if r.Validate does, and panics if local.New does.
func NewGateway(t testing.TB, r *ws.Router, opts *Options) *Gateway {
	t.Helper()
	if err := r.Validate(); err != nil {
		t.Fatalf("wstest: %v", err)
	}
	logs := &testLog{t: t}
	o := local.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))}
	if opts != nil {
		o.Stage, o.IdleTimeout = opts.Stage, opts.IdleTimeout
		if opts.TwoWay {
			o.Routes = map[string]local.Route{"$connect": {}, "$disconnect": {}, "$default": {TwoWay: true}}
		}
		if opts.Authorizer != nil {
			o.Authorizer = &local.Authorizer{
				Function:       lambdaenv.New(opts.Authorizer, &lambdaenv.Options{Name: "authorizer", Logger: o.Logger}),
				IdentitySource: opts.IdentitySource,
			}
		}
	}
	g := &Gateway{
		Timeout:  5 * time.Second,
		router:   r,
		dialer:   &http.Client{Transport: &http.Transport{}},
		changed:  make(chan struct{}),
		accepted: map[string]string{},
		conns:    map[string]*state{},
	}
	emulator := local.New(g.handle, &o)
	srv := httptest.NewServer(g.watchEvents(emulator))
	stage := o.Stage
	if stage == "" {
		stage = "local"
	}
	g.url = "ws://" + srv.Listener.Addr().String() + "/" + stage
	g.client = sender.NewForEndpoint("http://"+srv.Listener.Addr().String()+"/"+stage, nil)
	t.Cleanup(func() {
		emulator.Close() // while the server still serves the management API to $disconnect handlers
		srv.Close()
		if o.Authorizer != nil {
			o.Authorizer.Function.Close()
		}
		for _, rt := range o.Routes {
			if rt.Function != nil {
				rt.Function.Close()
			}
		}
		g.dialer.CloseIdleConnections()
		logs.stop()
	})
	return g
}

// URL returns the gateway's WebSocket URL, ws://127.0.0.1:PORT/STAGE, for
// clients other than Dial's.
func (g *Gateway) URL() string { return g.url }

// Sender returns a client of the gateway's management API: Send, Info and
// Close a connection as a back end does, or give it to ws.ContextWithSender
// to test code that sends from outside a handler.
func (g *Gateway) Sender() *sender.Client { return g.client }

// WaitIdle waits until no invocation is in flight or queued (AfterConnect
// handlers included), every message sent by a Conn has been handled, and every connection seen closed has had its
// $disconnect run. It fails the test after Timeout. A message that the API
// routes to no function (see local.Options.Routes) is never handled.
func (g *Gateway) WaitIdle(t testing.TB) {
	t.Helper()
	g.wait(t, "the gateway to be idle", func() bool {
		if g.inflight > 0 || g.events > 0 {
			return false
		}
		for _, s := range g.conns {
			if !s.disconnected && (s.handled < s.sent || s.closed) {
				return false
			}
		}
		return true
	})
}

// handle is the Lambda handler the emulator invokes: the router's, watched.
func (g *Gateway) handle(ctx context.Context, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	g.update(func() { g.inflight++ })
	resp, err := g.router.Handler(ctx, ev)
	rc := &ev.RequestContext
	g.update(func() {
		g.inflight--
		s := g.state(rc.ConnectionID)
		switch rc.EventType {
		case afterconnect.EventType:
			g.events--
		case "CONNECT":
			if key := header(ev.Headers, "Sec-WebSocket-Key"); key != "" && resp.StatusCode/100 == 2 {
				g.accepted[acceptKey(key)] = rc.ConnectionID
			}
		case "MESSAGE":
			s.handled++
		case "DISCONNECT":
			s.disconnected = true
		}
	})
	return resp, err
}

// watchEvents counts the Event invocations the emulator's Lambda Invoke API
// accepts (an AfterConnect's), so that WaitIdle waits for them too.
func (g *Gateway) watchEvents(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/2015-03-31/functions/") || r.Header.Get("X-Amz-Invocation-Type") != "Event" {
			h.ServeHTTP(w, r)
			return
		}
		g.update(func() { g.events++ }) // before the invocation can run
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status != http.StatusAccepted {
			g.update(func() { g.events-- })
		}
	})
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// state returns the state of a connection; g.mu is held.
func (g *Gateway) state(id string) *state {
	s := g.conns[id]
	if s == nil {
		s = new(state)
		g.conns[id] = s
	}
	return s
}

// update runs fn with g.mu held and wakes the waiters.
func (g *Gateway) update(fn func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fn()
	close(g.changed)
	g.changed = make(chan struct{})
}

// wait waits until done, called with g.mu held, reports true, and fails the
// test after g.Timeout.
func (g *Gateway) wait(t testing.TB, what string, done func() bool) {
	t.Helper()
	timer := time.NewTimer(g.Timeout)
	defer timer.Stop()
	for {
		g.mu.Lock()
		ok, changed := done(), g.changed
		g.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("wstest: timed out after %v waiting for %s", g.Timeout, what)
		}
	}
}

// header returns a header of an event, ignoring case.
func header(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// acceptKey is the Sec-WebSocket-Accept answering a Sec-WebSocket-Key
// (RFC 6455, section 4.2.2): the client learns its connection id from it.
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// testLog writes the emulator's log lines to t.Log until the test ends.
type testLog struct {
	mu      sync.Mutex
	t       testing.TB
	stopped bool
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (l *testLog) stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
}
