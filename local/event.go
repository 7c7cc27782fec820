package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lambdaws/lambdaws/internal/apigw"
	"github.com/lambdaws/lambdaws/internal/inspect"
	"github.com/lambdaws/lambdaws/internal/logs"
	"github.com/lambdaws/lambdaws/local/lambdaenv"
)

// errIntegrationTimeout is the error of an invocation that API Gateway gave
// up on after its 29 s integration timeout (queue time included); the
// function may still be running.
var errIntegrationTimeout = errors.New("local: integration timed out (API Gateway waits 29 s)")

// outcome describes one finished invocation, for the log.
type outcome struct {
	took time.Duration
	cold bool  // a new environment was started for it
	err  error // an *InvokeError, errIntegrationTimeout, or another failure

	payload, out []byte // the event and the response, for the Inspector
}

// invoke calls f with ev as JSON, as API Gateway calls Lambda: it waits at
// most g.timeout, the integration timeout, for a free environment and the
// result together. An invocation it gave up on keeps its environment until
// the function's own timeout.
func (g *Gateway) invoke(f *lambdaenv.Function, ev any) ([]byte, outcome) {
	type result struct {
		out []byte
		o   outcome
	}
	res := make(chan result, 1)
	g.invokeAsync(f, ev, func(out []byte, o outcome) { res <- result{out, o} })
	r := <-res
	return r.out, r.o
}

// invokeAsync is invoke calling done with the result instead of returning
// it, so that an invocation waiting for an environment holds no goroutine.
// done runs once, in another goroutine or before invokeAsync returns.
func (g *Gateway) invokeAsync(f *lambdaenv.Function, ev any, done func([]byte, outcome)) {
	start := time.Now()
	payload, err := json.Marshal(ev)
	if err != nil {
		done(nil, outcome{err: fmt.Errorf("local: encoding event: %w", err)})
		return
	}
	var finished atomic.Bool
	finish := func(out []byte, o outcome) {
		if finished.CompareAndSwap(false, true) {
			done(out, o)
		}
	}
	// ctx bounds the wait for an environment; giveUp stops waiting for a
	// running invocation, which keeps its environment until its own timeout.
	ctx, cancel := context.WithTimeoutCause(context.Background(), g.timeout, errIntegrationTimeout)
	if g.rec != nil {
		ctx = inspect.WithRequest(ctx, requestIDOf(ev))
	}
	giveUp := context.AfterFunc(ctx, func() {
		finish(nil, outcome{took: time.Since(start), err: errIntegrationTimeout, payload: payload})
	})
	g.calls.Add(1) // until f returns or the call leaves the queue
	f.InvokeFunc(ctx, payload, func(out []byte, cold bool, err error) {
		giveUp()
		cancel()
		finish(out, outcome{time.Since(start), cold, err, payload, out})
		g.calls.Done()
	})
}

// decodeResponse decodes a function's output as an APIGatewayProxyResponse,
// unless the invocation failed with err. JSON null is the zero response.
func decodeResponse(out []byte, err error) (resp events.APIGatewayProxyResponse, _ error) {
	if err != nil {
		return resp, err
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return resp, fmt.Errorf("local: function output is not an APIGatewayProxyResponse: %w", err)
	}
	return resp, nil
}

// logInvocation logs one line for an invocation of f for the route of
// connection c: what the `lambdaws local` command prints. A failed
// invocation or a 5xx answer is an ERROR, whatever the route.
func (g *Gateway) logInvocation(msg string, c *apigw.Conn, requestID, route string, f *lambdaenv.Function, status int, inv outcome, err error) {
	attrs := append([]any{logs.ConnectionID, c.ID, logs.Route, route, logs.Status, status}, invocationAttrs(requestID, f, inv, err)...)
	level := slog.LevelInfo
	if err != nil || status >= 500 {
		level = slog.LevelError
	}
	g.log.Log(context.Background(), level, msg, attrs...)
	g.inspectInvocation(msg, c, requestID, route, f, status, inv, err)
}

// invocationAttrs are the log attributes of an invocation after connectionId,
// route and status.
func invocationAttrs(requestID string, f *lambdaenv.Function, inv outcome, err error) []any {
	start := "warm"
	if inv.cold {
		start = "cold"
	}
	attrs := []any{logs.Function, f.Name(), logs.Duration, inv.took, logs.Start, start, logs.GatewayRequestID, requestID}
	if err != nil {
		attrs = append(attrs, logs.Error, err)
	}
	return attrs
}

// responseHeader finds a header of an integration response, ignoring case.
func responseHeader(resp *events.APIGatewayProxyResponse, name string) string {
	for k, v := range resp.Headers {
		if http.CanonicalHeaderKey(k) == http.CanonicalHeaderKey(name) {
			return v
		}
	}
	for k, vs := range resp.MultiValueHeaders {
		if http.CanonicalHeaderKey(k) == http.CanonicalHeaderKey(name) && len(vs) > 0 {
			return vs[len(vs)-1]
		}
	}
	return ""
}
