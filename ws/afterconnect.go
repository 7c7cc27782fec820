package ws

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/lambdaws/lambdaws/internal/afterconnect"
	"github.com/lambdaws/lambdaws/internal/logs"
	"github.com/lambdaws/lambdaws/sender"
)

// How AfterConnect invokes, and how its invocation waits for the connection.
const (
	invokeTimeout = 2 * time.Second        // bounds the Invoke call a $connect makes
	awaitMax      = 3 * time.Second        // the longest wait for API Gateway to open the connection
	awaitFirst    = 5 * time.Millisecond   // the first pause after a GetConnection answered 410
	awaitMaxPause = 500 * time.Millisecond // the longest pause between GetConnection calls
	maxLambdas    = 16                     // Lambda clients a Router keeps, one per endpoint
)

// AfterConnect registers fn to run right after a connection opened: the
// place for a welcome message, which $connect cannot send (until its handler
// returns, API Gateway has not opened the connection and answers a send with
// 410 Gone).
//
// When a $connect event is answered 200 (its handler returned nil, or there
// is none), the router invokes the same Lambda function asynchronously
// (Lambda Invoke, InvocationType Event) with an event carrying the $connect
// event: its headers, query, requestContext, identity and authorizer
// context. That invocation waits until the connection exists (GetConnection,
// for up to 3 s and at most half the remaining time), then runs fn with a
// Request as on $connect: same ConnectionID, Event (eventType CONNECT),
// Header, Query and Authorizer, with RouteKey "$afterconnect". [Reply],
// [SendMessage] and every other helper work. A connection closed before fn
// could run is skipped with a debug line; so is fn's error when it wraps
// sender.ErrGone. A failed Invoke is logged and never fails the $connect,
// which waits for the Invoke call (2 s at most), never for fn. Middleware
// wraps fn as it wraps routes.
//
// The function invoked is [Router.AfterConnectFunction], else the ARN the
// running invocation was invoked with, else AWS_LAMBDA_FUNCTION_NAME. It
// needs lambda:InvokeFunction on itself, and each connection costs one more
// invocation; docs/afterconnect.md shows the IAM policy. Under package local
// and lambdaws local, the emulator serves the Invoke API and the same code
// runs unchanged. AfterConnect panics for a nil fn, a second AfterConnect, or
// once the router has started serving.
func (r *Router) AfterConnect(fn HandlerFunc) {
	r.mustBeConfigurable("AfterConnect")
	if fn == nil {
		panic("ws: nil AfterConnect handler")
	}
	if r.afterConnect != nil {
		panic("ws: duplicate AfterConnect handler")
	}
	r.afterConnect = fn
}

// invoker is the call of *lambda.Client that AfterConnect makes.
type invoker interface {
	Invoke(ctx context.Context, params *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// lambdas keeps a Router's Lambda clients, created on first use: one from
// the AWS configuration (endpoint ""), and one per emulator endpoint,
// unsigned.
type lambdas struct {
	mu      sync.Mutex
	fixed   invoker // set by tests
	clients map[string]invoker
	warned  atomic.Bool // that there is no function to invoke
}

func (l *lambdas) get(ctx context.Context, endpoint string) (invoker, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fixed != nil {
		return l.fixed, nil
	}
	if c, ok := l.clients[endpoint]; ok {
		return c, nil
	}
	var c invoker
	if endpoint != "" {
		// The emulator checks no signature: no credentials to find, no IMDS
		// lookup, and a laptop without AWS credentials works.
		region := os.Getenv("AWS_REGION")
		if region == "" {
			region = "us-east-1"
		}
		c = lambda.New(lambda.Options{Region: region, BaseEndpoint: aws.String(endpoint), Credentials: aws.AnonymousCredentials{}})
	} else {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil { // not kept: the next $connect tries again
			return nil, err
		}
		c = lambda.NewFromConfig(cfg)
	}
	if l.clients == nil || len(l.clients) == maxLambdas {
		l.clients = make(map[string]invoker)
	}
	l.clients[endpoint] = c
	return c, nil
}

// invokeAfterConnect invokes the AfterConnect function for the $connect
// event, logging a failure.
func (r *Router) invokeAfterConnect(ctx context.Context, event events.APIGatewayWebsocketProxyRequest) {
	rc := &event.RequestContext
	fn := r.afterConnectFunction(ctx)
	attrs := []any{logs.ConnectionID, rc.ConnectionID, logs.GatewayRequestID, rc.RequestID, logs.Function, fn}
	if fn == "" {
		if !r.lambda.warned.Swap(true) { // not on Lambda (a table test, say): once
			r.logger().WarnContext(ctx, "ws: AfterConnect not invoked: no Lambda function (not running on Lambda? set Router.AfterConnectFunction); said once", attrs...)
		}
		return
	}
	payload, err := json.Marshal(afterconnect.Event(event))
	if err == nil {
		var c invoker
		if c, err = r.lambda.get(ctx, lambdaEndpoint(ctx, rc)); err == nil {
			ictx, cancel := context.WithTimeout(ctx, invokeTimeout)
			_, err = c.Invoke(ictx, &lambda.InvokeInput{FunctionName: &fn, InvocationType: types.InvocationTypeEvent, Payload: payload})
			cancel()
		}
	}
	if err != nil {
		r.logger().ErrorContext(ctx, "ws: AfterConnect not invoked", append(attrs, logs.Error, err)...)
	}
}

// afterConnectFunction returns the function AfterConnect invokes.
func (r *Router) afterConnectFunction(ctx context.Context) string {
	if r.AfterConnectFunction != "" {
		return r.AfterConnectFunction
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.InvokedFunctionArn != "" {
		return lc.InvokedFunctionArn
	}
	return os.Getenv("AWS_LAMBDA_FUNCTION_NAME")
}

// lambdaEndpoint returns the emulator's endpoint for an invocation served by
// package local (in-process or not), whose events name the emulator's own
// loopback address, or AWS_ENDPOINT_URL_LAMBDA when it is a loopback URL
// over plain HTTP; else "", the AWS configuration's endpoint. API Gateway's
// domainName is never a loopback address; outside a Lambda invocation
// (package grip, say) the event's domain is not trusted.
func lambdaEndpoint(ctx context.Context, rc *events.APIGatewayWebsocketProxyRequestContext) string {
	if _, ok := lambdacontext.FromContext(ctx); ok && loopback(rc.DomainName) {
		return "http://" + rc.DomainName
	}
	if ep := os.Getenv("AWS_ENDPOINT_URL_LAMBDA"); ep != "" {
		if u, err := url.Parse(ep); err == nil && u.Scheme == "http" && loopback(u.Host) {
			return strings.TrimRight(ep, "/")
		}
	}
	return ""
}

// loopback reports whether hostport ("127.0.0.1:8080", "[::1]:80",
// "localhost") names a loopback host.
func loopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// serveAfterConnect serves the event invokeAfterConnect sent: it waits for
// the connection, then runs the AfterConnect handler. It returns the
// Request made for the handler, nil when none was called.
func (r *Router) serveAfterConnect(ctx context.Context, event events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, *Request) {
	rc := &event.RequestContext
	attrs := []any{logs.ConnectionID, rc.ConnectionID, logs.Route, afterconnect.RouteKey, logs.GatewayRequestID, rc.RequestID}
	switch {
	case r.invalid != nil:
		r.logger().ErrorContext(ctx, "ws: router misconfigured; refusing event", append(attrs, logs.Error, r.invalid)...)
		return status(http.StatusInternalServerError), nil
	case r.afterChain == nil:
		r.logger().WarnContext(ctx, "ws: AfterConnect event, but the router has no AfterConnect handler", attrs...)
		return status(http.StatusNotFound), nil
	case rc.ConnectionID == "":
		r.logger().WarnContext(ctx, "ws: AfterConnect event has no requestContext.connectionId", attrs...)
		return status(http.StatusBadRequest), nil
	}
	req := &Request{ConnectionID: rc.ConnectionID, RouteKey: afterconnect.RouteKey, Event: afterconnect.Connect(event),
		router: r, metrics: r.newMetrics(afterconnect.RouteKey)}
	req.ctx = handlerContext{ctx, req}
	if !r.awaitConnection(&req.ctx, attrs) {
		return status(http.StatusGone), nil
	}
	err := call(&req.ctx, r.afterChain, req)
	if err != nil && errors.Is(err, sender.ErrGone) {
		r.logger().DebugContext(ctx, "ws: AfterConnect: the connection closed meanwhile", append(attrs, logs.Error, err)...)
		return status(http.StatusGone), req
	}
	return r.respond(ctx, req, err), req
}

// awaitConnection waits until API Gateway has opened the connection of ctx's
// request, and reports whether it has.
func (r *Router) awaitConnection(ctx context.Context, attrs []any) bool {
	req, _ := RequestFromContext(ctx)
	s, err := senderFrom(ctx)
	if err != nil {
		r.logger().ErrorContext(ctx, "ws: AfterConnect handler not run", append(attrs, logs.Error, err)...)
		return false
	}
	budget := awaitMax
	if d, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(d)/2)
	}
	deadline := time.Now().Add(budget)
	pause := awaitFirst
	for {
		_, err := s.Info(ctx, req.ConnectionID)
		switch {
		case err == nil:
			return true
		case !errors.Is(err, sender.ErrGone):
			r.logger().ErrorContext(ctx, "ws: AfterConnect handler not run: GetConnection failed", append(attrs, logs.Error, err)...)
			return false
		case time.Now().Add(pause).After(deadline):
			r.logger().DebugContext(ctx, "ws: AfterConnect handler not run: the connection is gone", attrs...)
			return false
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			r.logger().DebugContext(ctx, "ws: AfterConnect handler not run: the invocation ended while waiting for the connection", attrs...)
			return false
		}
		pause = min(2*pause, awaitMaxPause)
	}
}
