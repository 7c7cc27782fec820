package local

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/internal/apigw"
	"github.com/lambdaws/lambdaws/internal/inspect"
	"github.com/lambdaws/lambdaws/local/lambdaenv"
	"github.com/lambdaws/lambdaws/registry"
)

// Limits API Gateway enforces and the emulator copies.
const (
	maxFrame              = 32 << 10  // bytes in one WebSocket frame from a client
	maxMessage            = 128 << 10 // bytes in one message from a client
	maxPost               = 131072    // bytes of PostToConnection Data
	integrationTimeout    = 29 * time.Second
	outboxFrames          = 128              // frames queued for a client before PostToConnection answers 429
	outboxBytes           = 1 << 20          // bytes queued for a client before PostToConnection answers 429
	drainTimeout          = 5 * time.Second  // a close waits this long for queued frames to be written
	maxInFlight           = 32               // slots for the message invocations of one connection; its reader waits beyond
	inFlightUnit          = 32 << 10         // a message holds a slot per started 32 KiB: 1 MiB of bodies in flight at most
	maxAuthorizerResponse = 8 << 10          // bytes of a Lambda authorizer's response
	requestTimeout        = 10 * time.Second // an HTTP request's headers, and its body unless a handshake's, must arrive within this
	keepAliveTimeout      = 2 * time.Minute  // an HTTP connection idle between requests is closed after this
	shutdownGrace         = 5 * time.Second  // Serve waits this long for HTTP requests in progress, then closes their connections
)

// DefaultAddr is the address Listen and ListenAndServe bind when given "".
const DefaultAddr = "127.0.0.1:8080"

// Options configures a Gateway. The zero value, and a nil *Options, give the
// defaults documented on each field.
type Options struct {
	// Stage is the API stage: the first path segment of the management API
	// (/{stage}/@connections/{id}) and requestContext.stage. Default "local".
	Stage string

	// StageVariables are the stage's variables, in every event's
	// stageVariables. Default none.
	StageVariables map[string]string

	// APIID is the API's id: requestContext.apiId and part of the
	// authorizer's methodArn, as a template's Ref of the API gives it.
	// Letters and digits. Default: 10 derived from Stage.
	APIID string

	// RouteSelectionExpression picks the route of a message, as the API's
	// setting of the same name. Default registry.DefaultExpression
	// ("$request.body.action").
	RouteSelectionExpression string

	// Routes maps the route keys the API defines to their integrations.
	// Default: $connect, $disconnect and $default, served by New's handler,
	// $default one-way as a deployed route without a route response (a
	// reply needs Routes with TwoWay, or the management API). A predefined key that is missing is not invoked: no
	// $connect accepts every handshake, no $default answers unmatched
	// messages with the Forbidden frame. Other keys are custom routes chosen
	// by RouteSelectionExpression.
	Routes map[string]Route

	// Authorizer, if set, is a Lambda REQUEST authorizer on $connect.
	Authorizer *Authorizer

	// Functions are served by the Lambda Invoke API, by name, besides the
	// Functions of Routes and Authorizer (see invoke.go's doc in AWS.md).
	// Default none.
	Functions []*lambdaenv.Function

	// IdleTimeout closes a connection that sent no message for this long,
	// with 1001 "Going away". Default 10 minutes.
	IdleTimeout time.Duration

	// MaxLifetime closes every connection this long after it opened, with
	// 1001 "Going away". Default 2 hours.
	MaxLifetime time.Duration

	// Logger receives one line per invocation and per connection, and the
	// life of the environments of the Functions the Gateway creates.
	// Default slog.Default().
	Logger *slog.Logger

	// Fallback serves requests that are neither WebSocket handshakes nor
	// management API calls, such as a page at GET /. Default: 426 Upgrade
	// Required at / and /{stage}, 404 elsewhere. A request's body must
	// arrive within 10 s unless the handler extends its read deadline.
	Fallback http.Handler

	// FaultRate is the fraction (0 to 1) of management API calls that fail
	// as API Gateway fails them when overloaded, without acting on them:
	// half 429 LimitExceededException, half 500 InternalServerErrorException,
	// each with X-Amzn-ErrorType and a {"__type":…} body. It exercises
	// clients' retries. Default 0.
	FaultRate float64

	// Inspector, if set, receives the gateway's events (connections, their
	// frames, invocations with their event and response, management API
	// calls) for the inspector page, which the Gateway then serves at
	// /@inspector/ to loopback clients only (see internal/inspect). The
	// lambdaws command sets it unless --inspect=false. Default nil.
	Inspector *inspect.Recorder

	// TLS, if set, makes Serve and ListenAndServe speak TLS with this
	// configuration as well as plain HTTP, on the same port: a connection
	// whose first byte is a TLS handshake is served over TLS (wss://,
	// https://), any other in plain (ws://, http://), as API Gateway
	// serves wss:// and https://. It needs a Certificates entry or
	// GetCertificate; NextProtos defaults to http/1.1. Default nil: plain
	// only. The Gateway as an http.Handler ignores it.
	TLS *tls.Config
}

// A Route is the integration of one route key.
type Route struct {
	// Function serves the route. Nil means New's handler.
	Function *lambdaenv.Function

	// TwoWay gives the route a route response: the body the function
	// returns is sent to the client. A one-way route's body is dropped, as
	// on a deployed route without a route response. $connect and
	// $disconnect ignore it.
	TwoWay bool
}

// An Authorizer is a Lambda REQUEST authorizer on $connect: the gateway's
// side of one. On each handshake it invokes Function (for example a handler
// made by ws.Authorizer), evaluates the policy it returns as API Gateway
// does, and passes its principalId and context to every event of the
// connection as requestContext.authorizer, which ws handlers read with
// ws.Request.Authorizer. wstest.Authorizer sets one up in tests.
type Authorizer struct {
	// Function is the authorizer function. It receives the $connect request
	// as an authorizer event and returns an
	// events.APIGatewayCustomAuthorizerResponse. Required.
	Function *lambdaenv.Function

	// IdentitySource lists the request parts that must be present and
	// non-empty, else the handshake is refused with 401 without invoking
	// Function: "route.request.header.{name}" or
	// "route.request.querystring.{name}". Default none.
	IdentitySource []string
}

// A Gateway emulates one stage of an API Gateway WebSocket API in front of
// Lambda functions. It is an http.Handler serving WebSocket handshakes on
// any path and the management API at /{stage}/@connections/{id}.
type Gateway struct {
	stage      string
	apiID      string
	stageVars  map[string]string
	expr       registry.Expression
	table      atomic.Pointer[routing] // replaced by SetRoutes
	def        *lambdaenv.Function     // New's handler, for routes without Function
	idle       time.Duration
	lifetime   time.Duration
	log        *slog.Logger
	fallback   http.Handler
	faultRate  float64
	tls        *tls.Config
	owned      *lambdaenv.Function // created by New from its handler; closed by Close
	lambdaAPI  *invokeAPI          // the Lambda Invoke API
	timeout    time.Duration       // the integration timeout; tests shorten it
	reqTimeout time.Duration       // requestTimeout; tests shorten it
	keepAlive  time.Duration       // keepAliveTimeout; tests shorten it
	grace      time.Duration       // shutdownGrace; tests shorten it
	rec        *inspect.Recorder   // Options.Inspector
	inspector  http.Handler        // its page, if rec is set

	mu     sync.Mutex
	conns  map[string]*conn
	closed bool
	wg     sync.WaitGroup // handshakes in progress and connection goroutines
	calls  sync.WaitGroup // message invocations in progress
}

// New returns a Gateway invoking handler as Lambda would. handler is a
// *lambdaenv.Function, or anything lambda.Start accepts, which New serves
// with lambdaenv.New(handler, nil) (so `ws.Handler` and `r.Handler` run on
// concurrent environments). It may be nil only if every route of
// opts.Routes has its Function. The Gateway closes the Function it creates;
// the caller closes the ones it passed, after the Gateway. New panics on a
// configuration mistake: a route without Function when handler is nil, or
// options that Options.Validate refuses (check options read from a file
// with Validate first).
func New(handler any, opts *Options) *Gateway {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Stage == "" {
		o.Stage = "local"
	}
	if o.RouteSelectionExpression == "" {
		o.RouteSelectionExpression = registry.DefaultExpression
	}
	if err := o.Validate(); err != nil {
		panic(err.Error())
	}
	expr, _ := registry.ParseExpression(o.RouteSelectionExpression)
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 10 * time.Minute
	}
	if o.MaxLifetime <= 0 {
		o.MaxLifetime = 2 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Routes == nil {
		o.Routes = map[string]Route{registry.Connect: {}, registry.Disconnect: {}, registry.Default: {}}
	}
	if o.APIID == "" {
		o.APIID = apigw.APIID(o.Stage)
	}
	g := &Gateway{
		stage:      o.Stage,
		apiID:      o.APIID,
		stageVars:  maps.Clone(o.StageVariables),
		expr:       expr,
		idle:       o.IdleTimeout,
		lifetime:   o.MaxLifetime,
		log:        o.Logger,
		fallback:   o.Fallback,
		faultRate:  o.FaultRate,
		tls:        o.TLS,
		conns:      make(map[string]*conn),
		timeout:    integrationTimeout,
		reqTimeout: requestTimeout,
		keepAlive:  keepAliveTimeout,
		grace:      shutdownGrace,
	}
	g.setInspector(o.Inspector)
	switch h := handler.(type) {
	case nil:
	case *lambdaenv.Function:
		g.def = h
	default:
		g.owned = lambdaenv.New(handler, &lambdaenv.Options{Logger: o.Logger, Inspector: o.Inspector})
		g.def = g.owned
	}
	if err := g.SetRoutes(o.Routes, o.Authorizer); err != nil {
		panic(err.Error())
	}
	g.lambdaAPI = newInvokeAPI(o.Functions)
	return g
}

// routing is the part of a Gateway's configuration that SetRoutes replaces.
type routing struct {
	routes     map[string]Route // every Function set
	authorizer *Authorizer
}

// SetRoutes replaces the routes and the authorizer of a Gateway that may be
// serving, as Options.Routes and Options.Authorizer, at once: an event that
// has started keeps the integration it started with, every later one uses
// the new ones. Open connections stay open, as they do when an API is
// redeployed to its stage; their later messages are routed by the new
// routes and their $disconnect is the new one. The caller closes the
// Functions no longer used, after SetRoutes. It returns an error, and
// changes nothing, when the routes and the authorizer are not valid (see
// Options.Validate) or a route has no Function and New had no handler.
func (g *Gateway) SetRoutes(routes map[string]Route, authorizer *Authorizer) error {
	if err := (&Options{Routes: routes, Authorizer: authorizer}).Validate(); err != nil {
		return err
	}
	t := &routing{routes: make(map[string]Route, len(routes)), authorizer: authorizer}
	for key, rt := range routes {
		if rt.Function == nil {
			if g.def == nil {
				return fmt.Errorf("local: route %q has no Function and New has no handler", key)
			}
			rt.Function = g.def
		}
		t.routes[key] = rt
	}
	g.table.Store(t)
	return nil
}

// Validate reports what New would panic on, except a route without Function
// (which New's handler may serve): an empty route key, an Authorizer
// without Function or with an identity source it cannot read, a
// RouteSelectionExpression that does not parse, a FaultRate outside [0, 1].
// A nil *Options is valid.
func (o *Options) Validate() error {
	if o == nil {
		return nil
	}
	if !(o.FaultRate >= 0 && o.FaultRate <= 1) {
		return fmt.Errorf("local: Options.FaultRate %v is not between 0 and 1", o.FaultRate)
	}
	if o.RouteSelectionExpression != "" {
		if _, err := registry.ParseExpression(o.RouteSelectionExpression); err != nil {
			return fmt.Errorf("local: %w", err)
		}
	}
	if _, ok := o.Routes[""]; ok {
		return errors.New("local: empty route key in Options.Routes")
	}
	if strings.Trim(o.APIID, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
		return fmt.Errorf("local: Options.APIID %q: want letters and digits", o.APIID)
	}
	if a := o.Authorizer; a != nil {
		if a.Function == nil {
			return errors.New("local: Authorizer without Function")
		}
		for _, src := range a.IdentitySource {
			if _, _, ok := parseIdentitySource(src); !ok {
				return fmt.Errorf("local: identity source %q, want route.request.header.{name} or route.request.querystring.{name}", src)
			}
		}
	}
	return nil
}

// ServeHTTP serves WebSocket handshakes (on any path), the management API at
// /{stage}/@connections/{id}, the Lambda Invoke API of its Functions at
// /2015-03-31/functions/{name}/invocations to this machine's processes, and
// hands anything else to Options.Fallback.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The server's ReadHeaderTimeout bounds headers and its IdleTimeout a
	// connection between requests. This bounds a body, read by a handler or
	// discarded by the server after a refusal, so that a client trickling
	// one cannot hold its connection for ever; a Fallback may extend it. A
	// handshake without a body is left alone: its $connect may outlast the
	// deadline, and hijacking its connection clears it.
	upgrade := isUpgrade(r)
	if !upgrade || r.ContentLength != 0 {
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(g.reqTimeout))
	}
	if upgrade {
		g.serveWebSocket(w, r)
		return
	}
	if isInvokePath(r.URL.EscapedPath()) {
		g.serveInvoke(w, r)
		return
	}
	if stage, id, isAPI, ok := parsePath(r.URL.EscapedPath()); isAPI {
		if !ok || stage != g.stage {
			writeError(w, http.StatusForbidden, "ForbiddenException", "Forbidden")
			return
		}
		g.serveManage(w, r, id)
		return
	}
	if g.isInspector(r) {
		g.inspector.ServeHTTP(w, r)
		return
	}
	if g.fallback != nil {
		g.fallback.ServeHTTP(w, r)
		return
	}
	if p := r.URL.Path; p == "/" || p == "/"+g.stage || p == "/"+g.stage+"/" {
		w.Header().Set("Upgrade", "websocket")
		http.Error(w, "local: this address serves WebSocket connections", http.StatusUpgradeRequired)
		return
	}
	http.NotFound(w, r)
}

func isUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// Close closes every connection with 1001 "Going away", waits for their
// $disconnect invocations, and refuses later handshakes with 503. Then it
// closes the Function New created, failing the message invocations still
// running on it, and waits for those on the caller's Functions. It does not
// close the listener; ListenAndServe and Serve do both.
func (g *Gateway) Close() error {
	g.mu.Lock()
	g.closed = true
	conns := make([]*conn, 0, len(g.conns))
	for _, c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	for _, c := range conns {
		c.requestClose(websocket.StatusGoingAway, "Going away")
	}
	g.wg.Wait()
	g.lambdaAPI.stop()
	g.rec.Close() // ends the pages' streams, which the server would wait for
	if g.owned != nil {
		g.owned.Close()
	}
	g.calls.Wait()
	return nil
}

// begin registers a handshake in progress; it fails once the gateway is
// closed.
func (g *Gateway) begin() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Add(1)
	return true
}

// lookup returns the connection with the id, or nil. A connection whose
// close started is still returned; conn.send then reports it gone.
func (g *Gateway) lookup(id string) *conn {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.conns[id]
}

// ListenAndServe serves a Gateway for handler (see New) on addr until ctx is done, then closes
// every connection (running their $disconnect), gives other HTTP requests
// in progress 5 s before closing their connections, and returns nil. It
// listens with Listen(addr).
func ListenAndServe(ctx context.Context, addr string, handler any, opts *Options) error {
	ln, err := Listen(addr)
	if err != nil {
		return err
	}
	return Serve(ctx, ln, handler, opts)
}

// Listen opens a TCP listener on addr as ListenAndServe does: an empty addr
// means DefaultAddr, and an address without a host (":8080") binds 127.0.0.1
// rather than every interface; use "0.0.0.0:8080" for that. With Serve, it
// lets a program learn the bound address (of ":0", say) before serving.
func Listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = DefaultAddr
	}
	if host, port, err := net.SplitHostPort(addr); err == nil && host == "" {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	return net.Listen("tcp", addr)
}

// Serve is ListenAndServe on a listener the caller opened, for example with
// Listen("127.0.0.1:0") to learn the port from ln.Addr() first. Serve
// closes ln. It returns the error of opts.Validate at once.
func Serve(ctx context.Context, ln net.Listener, handler any, opts *Options) error {
	if err := opts.Validate(); err != nil {
		ln.Close()
		return err
	}
	return New(handler, opts).Serve(ctx, ln)
}

// Serve serves g on ln as the function Serve does, closing g and ln when ctx
// is done. A Gateway is served once.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	if g.tls != nil {
		ln = newTLSListener(ln, g.tls, g.reqTimeout)
	}
	// The server's own errors, such as a TLS handshake refused by a client
	// that does not trust the certificate, go to the Logger.
	srv := &http.Server{Handler: g, ReadHeaderTimeout: g.reqTimeout, IdleTimeout: g.keepAlive,
		ErrorLog: slog.NewLogLogger(g.log.Handler(), slog.LevelWarn)}
	if tl, ok := ln.(*tlsListener); ok {
		srv.ConnState = tl.connState
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		g.Close()
		return err
	case <-ctx.Done():
	}
	// The gateway first, while the listener still serves the management API
	// that $disconnect handlers may call; it refuses new handshakes with 503
	// and waits for those in progress.
	g.Close()
	sctx, cancel := context.WithTimeout(context.Background(), g.grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		// A request still running (a slow client, a Fallback streaming)
		// must not keep its connection, nor make Serve fail.
		g.log.Warn("local: closing HTTP connections still busy after the shutdown grace", "grace", g.grace)
		err = srv.Close()
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
