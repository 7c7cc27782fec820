package ws

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lambdaws/lambdaws/internal/afterconnect"
	"github.com/lambdaws/lambdaws/internal/logs"
	"github.com/lambdaws/lambdaws/registry"
	"github.com/lambdaws/lambdaws/sender"
)

// HandlerFunc handles one WebSocket event. Returning nil answers 200,
// returning an error made by [Reject] answers its status, and any other error
// answers 500 without the error's text.
type HandlerFunc func(ctx context.Context, req *Request) error

// Router routes API Gateway WebSocket events to handlers. The zero Router is
// ready to use. Register every handler and middleware before the first event;
// the route table is fixed when the first event is served.
type Router struct {
	// Logger receives one line per failed, rejected or unroutable event.
	// Nil means slog.Default(), or, when AWS_LAMBDA_LOG_FORMAT is JSON,
	// Lambda's JSON log format on stdout with the invocation's requestId at
	// the level of AWS_LAMBDA_LOG_LEVEL (aws-lambda-go's
	// lambdacontext.NewLogger, which a function's own slog calls can use too).
	Logger *slog.Logger

	// Sender delivers what this router's handlers send with [SendMessage],
	// [Reply], [Close], [Info] and [Broadcast], unless their context has one
	// from [ContextWithSender]. Nil means a *sender.Client for the endpoint
	// found from each event (sender.ResolveEndpoint). Code outside a handler
	// never uses it: give it to ContextWithSender.
	Sender Sender

	// MetricsNamespace, when set, makes the router print CloudWatch Embedded
	// Metric Format documents on stdout, in this namespace: one per
	// invocation, with the dimensions Service (POWERTOOLS_SERVICE_NAME, else
	// the function's name) and Route, and the metrics Connects, Disconnects
	// or Messages, Rejected, Errors and Duration (ms), plus, when the handler
	// sent, Sent, Gone, Throttled, Failed, NotAttempted, SendDuration and
	// BroadcastDuration (ms) of its SendMessage, Reply and Broadcast calls.
	// Calls that end after the handler returned are not counted; calls
	// outside a handler print their own document, without Route, when
	// POWERTOOLS_METRICS_NAMESPACE is set. Empty means
	// POWERTOOLS_METRICS_NAMESPACE, as Powertools for AWS Lambda reads it;
	// with neither there are no metrics.
	MetricsNamespace string

	// AfterConnectFunction is the Lambda function that [Router.AfterConnect]
	// invokes: a name, or a partial or full ARN, optionally with a version
	// or alias. Empty means the function serving the $connect event (the
	// ARN it was invoked with, else AWS_LAMBDA_FUNCTION_NAME).
	AfterConnectFunction string

	afterConnect HandlerFunc // from AfterConnect
	lambda       lambdas     // the clients that invoke AfterConnectFunction
	metricsOut   io.Writer   // nil: os.Stdout
	pool         sender.Pool
	routes       registry.Table[HandlerFunc]
	middleware   []func(HandlerFunc) HandlerFunc
	expr         registry.Expression // zero until SetRouteSelectionExpression or the first event

	once       sync.Once
	serving    atomic.Bool
	chain      registry.Table[HandlerFunc] // routes wrapped in middleware
	afterChain HandlerFunc                 // afterConnect wrapped in middleware
	invalid    error                       // from Validate, fixed at first event
}

// NewRouter returns an empty router.
func NewRouter() *Router { return new(Router) }

// OnConnect registers fn for the $connect route. Return [Reject] from it to
// refuse the handshake. Without an OnConnect handler every connection is
// accepted, as API Gateway does for an API without a $connect route.
func (r *Router) OnConnect(fn HandlerFunc) { r.OnRoute(registry.Connect, fn) }

// OnDisconnect registers fn for the $disconnect route. API Gateway calls it
// best-effort after the connection is gone; its result is ignored.
func (r *Router) OnDisconnect(fn HandlerFunc) { r.OnRoute(registry.Disconnect, fn) }

// OnMessage registers fn for the $default route: messages that no custom
// route matches.
func (r *Router) OnMessage(fn HandlerFunc) { r.OnRoute(registry.Default, fn) }

// OnRoute registers fn for a route key. A custom key such as "sendmessage" is
// served both when API Gateway routes the event to it and when a message
// arrives on $default whose body selects it (by default its "action" field),
// so custom routes work on an API that defines only $default.
//
// OnRoute panics for a nil fn, an empty or duplicate key, or once the router
// has started serving.
func (r *Router) OnRoute(routeKey string, fn HandlerFunc) {
	r.mustBeConfigurable("OnRoute")
	if fn == nil {
		panic(fmt.Sprintf("ws: nil handler for route %q", routeKey))
	}
	if err := r.routes.Add(routeKey, fn); err != nil {
		panic("ws: " + strings.TrimPrefix(err.Error(), "registry: "))
	}
}

// Use appends middleware. Each wraps every route's handler, the first given
// outermost. Use panics once the router has started serving.
func (r *Router) Use(middleware ...func(next HandlerFunc) HandlerFunc) {
	r.mustBeConfigurable("Use")
	for _, mw := range middleware {
		if mw == nil {
			panic("ws: nil middleware")
		}
	}
	r.middleware = append(r.middleware, middleware...)
}

// SetRouteSelectionExpression sets how a $default message selects a custom
// route, as the API's route selection expression does. The default is
// "$request.body.action". It panics for an expression it cannot evaluate.
func (r *Router) SetRouteSelectionExpression(expr string) {
	r.mustBeConfigurable("SetRouteSelectionExpression")
	e, err := registry.ParseExpression(expr)
	if err != nil {
		panic("ws: " + strings.TrimPrefix(err.Error(), "registry: "))
	}
	r.expr = e
}

// Validate reports a misconfigured router: one with handlers but none that
// receives messages (no $default handler and no custom route). Such a router
// answers every event with 500. $connect and $disconnect handlers are
// optional.
func (r *Router) Validate() error {
	if err := r.routes.Validate(); err != nil {
		return fmt.Errorf("ws: %s: add a ws.OnMessage handler (or ws.OnRoute for a custom route), or embed ws.Server in the value given to ws.Register", strings.TrimPrefix(err.Error(), "registry: "))
	}
	return nil
}

func (r *Router) mustBeConfigurable(op string) {
	if r.serving.Load() {
		panic("ws: " + op + " called after the router started serving events")
	}
}

// start fixes the route table on the first event.
func (r *Router) start() {
	r.serving.Store(true)
	r.invalid = r.Validate()
	if r.expr.String() == "" {
		r.expr, _ = registry.ParseExpression(registry.DefaultExpression)
	}
	for _, key := range r.routes.Keys() {
		h, _ := r.routes.Get(key)
		_ = r.chain.Add(key, r.wrap(h)) // keys are unique in r.routes
	}
	if r.afterConnect != nil {
		r.afterChain = r.wrap(r.afterConnect)
	}
}

// wrap wraps h in the middleware.
func (r *Router) wrap(h HandlerFunc) HandlerFunc {
	for i := len(r.middleware) - 1; i >= 0; i-- {
		h = r.middleware[i](h)
	}
	return h
}

// Handler serves one API Gateway WebSocket event. Its signature is the one
// lambda.Start expects:
//
//	lambda.Start(router.Handler)
//
// It never returns an error: every outcome is a status in the response, so
// that a failing handler does not make Lambda retry or log the event as a
// crash.
func (r *Router) Handler(ctx context.Context, event events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	r.once.Do(r.start)
	start := time.Now()
	var resp events.APIGatewayProxyResponse
	var req *Request
	after := afterconnect.Is(&event)
	if after {
		resp, req = r.serveAfterConnect(ctx, event)
	} else {
		resp, req = r.serve(ctx, event)
		if r.afterConnect != nil && resp.StatusCode == http.StatusOK && r.invalid == nil {
			if key, _ := eventRoute(&event.RequestContext); key == registry.Connect {
				r.invokeAfterConnect(ctx, event)
			}
		}
	}
	if req != nil && req.metrics != nil {
		r.flushMetrics(ctx, req.metrics, req.RouteKey, resp.StatusCode, req.rejected, time.Since(start))
	} else if req == nil && !after && r.namespace() != "" {
		route := event.RequestContext.RouteKey
		if route == "" {
			route = "unknown"
		}
		r.flushMetrics(ctx, r.newMetrics(route), route, resp.StatusCode, false, time.Since(start))
	}
	return resp, nil
}

// serve answers an event, and returns the Request made for its handler, nil
// when none was called.
func (r *Router) serve(ctx context.Context, event events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, *Request) {
	rc := &event.RequestContext
	if r.invalid != nil {
		r.logger().ErrorContext(ctx, "ws: router misconfigured; refusing event", logs.Error, r.invalid,
			logs.ConnectionID, rc.ConnectionID, logs.Route, rc.RouteKey, logs.GatewayRequestID, rc.RequestID)
		return status(http.StatusInternalServerError), nil
	}
	routeKey, bad := eventRoute(rc)
	if bad == "" && rc.ConnectionID == "" {
		bad = "event has no requestContext.connectionId"
	}
	var body []byte
	if bad == "" && event.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(event.Body); err != nil {
			bad = "event body is not valid base64"
		}
	} else if event.Body != "" {
		body = []byte(event.Body)
	}
	if bad != "" {
		r.logger().WarnContext(ctx, "ws: "+bad+"; not an API Gateway WebSocket event?",
			logs.ConnectionID, rc.ConnectionID, logs.Route, rc.RouteKey, logs.EventType, rc.EventType, logs.GatewayRequestID, rc.RequestID)
		return status(http.StatusBadRequest), nil
	}
	key, h, ok := r.chain.Route(routeKey, body, r.expr)
	if !ok {
		if key == registry.Connect || key == registry.Disconnect { // optional: accept, as API Gateway does
			return status(http.StatusOK), nil
		}
		r.logger().WarnContext(ctx, "ws: no handler for route", logs.ConnectionID, rc.ConnectionID,
			logs.Route, routeKey, logs.GatewayRequestID, rc.RequestID)
		return status(http.StatusNotFound), nil
	}
	req := &Request{ConnectionID: rc.ConnectionID, RouteKey: key, Body: body, Event: event, router: r, metrics: r.newMetrics(key)}
	req.ctx = handlerContext{ctx, req}
	err := call(&req.ctx, h, req)
	return r.respond(ctx, req, err), req
}

// eventRoute returns the event's route key, derived from its type when the
// route key is missing, or a reason the event cannot be served.
func eventRoute(rc *events.APIGatewayWebsocketProxyRequestContext) (key, bad string) {
	if rc.RouteKey != "" {
		return rc.RouteKey, ""
	}
	switch rc.EventType {
	case "CONNECT":
		return registry.Connect, ""
	case "DISCONNECT":
		return registry.Disconnect, ""
	case "MESSAGE":
		return registry.Default, ""
	}
	return "", fmt.Sprintf("event has no routeKey and unknown eventType %q", rc.EventType)
}

// call runs h, turning a panic into an error that carries the stack.
func call(ctx context.Context, h HandlerFunc, req *Request) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: p, stack: debug.Stack()}
		}
	}()
	return h(ctx, req)
}

type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("ws: handler panicked: %v", p.value) }

func (r *Router) respond(ctx context.Context, req *Request, err error) events.APIGatewayProxyResponse {
	resp := events.APIGatewayProxyResponse{StatusCode: http.StatusOK, Headers: req.headers, Body: req.response}
	if err == nil {
		return resp
	}
	rc := &req.Event.RequestContext
	attrs := []any{logs.ConnectionID, req.ConnectionID, logs.Route, req.RouteKey, logs.GatewayRequestID, rc.RequestID}
	if rej, ok := asReject(err); ok {
		attrs = append(attrs, logs.Status, rej.status, logs.Reason, rej.reason)
		if rej.cause != nil { // which field failed DecodeJSON: for the log, never for the client
			attrs = append(attrs, logs.Error, rej.cause)
		}
		r.logger().InfoContext(ctx, "ws: rejected", attrs...)
		req.rejected = true
		resp.StatusCode, resp.Body = rej.status, rej.reason
		return resp
	}
	if p, ok := err.(*panicError); ok {
		attrs = append(attrs, logs.Stack, string(p.stack))
	}
	r.logger().ErrorContext(ctx, "ws: handler failed", append(attrs, logs.Error, err)...)
	return status(http.StatusInternalServerError)
}

func (r *Router) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return logs.Default()
}

func status(code int) events.APIGatewayProxyResponse {
	return events.APIGatewayProxyResponse{StatusCode: code}
}
