package local

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lambdaws/lambdaws/registry"
)

// Limits API Gateway enforces and the emulator copies.
const (
	maxFrame           = 32 << 10  // bytes in one WebSocket frame from a client
	maxMessage         = 128 << 10 // bytes in one message from a client
	maxPost            = 131072    // bytes of PostToConnection Data
	integrationTimeout = 29 * time.Second
	outboxFrames       = 128             // frames queued for a client before PostToConnection answers 429
	outboxBytes        = 1 << 20         // bytes queued for a client before PostToConnection answers 429
	drainTimeout       = 5 * time.Second // a close waits this long for queued frames to be written
)

// DefaultAddr is the address ListenAndServe binds when given "".
const DefaultAddr = "127.0.0.1:8080"

// Options configures a Gateway. The zero value, and a nil *Options, give the
// defaults documented on each field.
type Options struct {
	// Stage is the API stage: the first path segment of the management API
	// (/{stage}/@connections/{id}) and requestContext.stage. Default "local".
	Stage string

	// RouteSelectionExpression picks the route of a message, as the API's
	// setting of the same name. Default registry.DefaultExpression
	// ("$request.body.action").
	RouteSelectionExpression string

	// Routes lists the route keys the API defines. Default {"$connect",
	// "$disconnect", "$default"}. A predefined key that is missing is not
	// invoked: no "$connect" accepts every handshake, no "$default" answers
	// unmatched messages with the Forbidden frame. Other keys are custom
	// routes chosen by RouteSelectionExpression.
	Routes []string

	// OneWay makes every route one-way: the handler's response body is not
	// sent to the client. By default routes are two-way, as if each had a
	// $default route response (which a deployed API needs for the same
	// behaviour).
	OneWay bool

	// IdleTimeout closes a connection that sent no message for this long,
	// with 1001 "Going away". Default 10 minutes.
	IdleTimeout time.Duration

	// MaxLifetime closes every connection this long after it opened, with
	// 1001 "Going away". Default 2 hours.
	MaxLifetime time.Duration

	// Logger receives one line per connect, message and disconnect. Default
	// slog.Default().
	Logger *slog.Logger

	// Fallback serves requests that are neither WebSocket handshakes nor
	// management API calls, such as a page at GET /. Default: 426 Upgrade
	// Required at / and /{stage}, 404 elsewhere.
	Fallback http.Handler
}

// A Gateway emulates one stage of an API Gateway WebSocket API in front of a
// Lambda handler. It is an http.Handler serving WebSocket handshakes on any
// path and the management API at /{stage}/@connections/{id}.
type Gateway struct {
	h        lambda.Handler
	stage    string
	apiID    string
	expr     registry.Expression
	routes   map[string]bool
	oneWay   bool
	idle     time.Duration
	lifetime time.Duration
	log      *slog.Logger
	fallback http.Handler
	instance chan struct{} // held during an invocation: one Lambda instance

	mu     sync.Mutex
	conns  map[string]*conn
	closed bool
	wg     sync.WaitGroup // handshakes in progress and connection goroutines
}

// New returns a Gateway invoking h as Lambda would. It panics if h is nil or
// opts.RouteSelectionExpression does not parse.
func New(h lambda.Handler, opts *Options) *Gateway {
	if h == nil {
		panic("local: nil handler")
	}
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
	expr, err := registry.ParseExpression(o.RouteSelectionExpression)
	if err != nil {
		panic("local: " + err.Error())
	}
	if len(o.Routes) == 0 {
		o.Routes = []string{registry.Connect, registry.Disconnect, registry.Default}
	}
	routes := make(map[string]bool, len(o.Routes))
	for _, k := range o.Routes {
		if k == "" {
			panic("local: empty route key in Options.Routes")
		}
		routes[k] = true
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 10 * time.Minute
	}
	if o.MaxLifetime <= 0 {
		o.MaxLifetime = 2 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Gateway{
		h:        h,
		stage:    o.Stage,
		apiID:    apiID(o.Stage),
		expr:     expr,
		routes:   routes,
		oneWay:   o.OneWay,
		idle:     o.IdleTimeout,
		lifetime: o.MaxLifetime,
		log:      o.Logger,
		fallback: o.Fallback,
		conns:    make(map[string]*conn),
		instance: make(chan struct{}, 1),
	}
}

// apiID derives a stable API id, ten lowercase letters and digits like AWS's,
// from the stage name.
func apiID(stage string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	sum := sha256.Sum256([]byte("lambdaws/local/" + stage))
	b := make([]byte, 10)
	for i := range b {
		b[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return string(b)
}

// ServeHTTP serves WebSocket handshakes (on any path), the management API at
// /{stage}/@connections/{id}, and hands anything else to Options.Fallback.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isUpgrade(r) {
		g.serveWebSocket(w, r)
		return
	}
	if stage, id, isAPI, ok := parsePath(r.URL.EscapedPath()); isAPI {
		if !ok || stage != g.stage {
			writeError(w, http.StatusForbidden, "ForbiddenException", "Forbidden")
			return
		}
		g.manage(w, r, id)
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
// $disconnect invocations, and refuses later handshakes with 503. It does not
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
		c.requestClose(1001, "Going away")
	}
	g.wg.Wait()
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

// ListenAndServe serves a Gateway for h on addr until ctx is done, then closes
// every connection (running their $disconnect) and returns nil. An empty addr
// means DefaultAddr, and an address without a host (":8080") binds 127.0.0.1
// rather than every interface; use "0.0.0.0:8080" for that.
func ListenAndServe(ctx context.Context, addr string, h lambda.Handler, opts *Options) error {
	if addr == "" {
		addr = DefaultAddr
	}
	if host, port, err := net.SplitHostPort(addr); err == nil && host == "" {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return Serve(ctx, ln, h, opts)
}

// Serve is ListenAndServe on a listener the caller opened, for example with
// net.Listen("tcp", "127.0.0.1:0") to learn the port from ln.Addr() first.
// Serve closes ln.
func Serve(ctx context.Context, ln net.Listener, h lambda.Handler, opts *Options) error {
	g := New(h, opts)
	srv := &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second}
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
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
