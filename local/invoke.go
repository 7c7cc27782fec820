package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lambdaws/lambdaws/internal/apigw"
	"github.com/lambdaws/lambdaws/internal/logs"
	"github.com/lambdaws/lambdaws/local/lambdaenv"
)

// The Lambda Invoke API (POST /2015-03-31/functions/{name}/invocations), as
// the Gateway serves it for its Functions.
const (
	invokePrefix    = "/2015-03-31/functions/"
	invokeSuffix    = "/invocations"
	maxSyncPayload  = 6 << 20 // bytes of a RequestResponse payload, as on Lambda
	maxAsyncPayload = 1 << 20 // bytes of an Event payload, as on Lambda
)

// asyncRetryDelays are the pauses before the retries of a failed Event
// invocation: Lambda retries twice, after 1 and 2 minutes; the emulator
// after 1 and 2 seconds (see AWS.md).
var asyncRetryDelays = []time.Duration{time.Second, 2 * time.Second}

// invokeAPI is the Gateway's Invoke API: its extra Functions, and the Event
// invocations queued or running, which Close stops.
type invokeAPI struct {
	extra   []*lambdaenv.Function // Options.Functions
	retries []time.Duration       // asyncRetryDelays; tests shorten them

	ctx    context.Context // ended by Close: no more Event invocations
	cancel context.CancelFunc
	mu     sync.Mutex // orders wg.Add after Close's cancel
	wg     sync.WaitGroup
}

func newInvokeAPI(extra []*lambdaenv.Function) *invokeAPI {
	a := &invokeAPI{extra: extra, retries: asyncRetryDelays}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	return a
}

// stop ends the Event invocations, queued, waiting for a retry or running,
// and waits for them.
func (a *invokeAPI) stop() {
	a.mu.Lock()
	a.cancel()
	a.mu.Unlock()
	a.wg.Wait()
}

// isInvokePath reports whether an escaped path is one of the Lambda API,
// which an API Gateway WebSocket API never serves.
func isInvokePath(escaped string) bool { return strings.HasPrefix(escaped, invokePrefix) }

// lookupFunction finds a Function of the Gateway by name, partial ARN
// (123456789012:function:name) or ARN
// (arn:aws:lambda:us-east-1:123456789012:function:name), each optionally
// qualified (:$LATEST, an alias): the emulator has one version of each
// function. The Functions of the routes and the authorizer now served come
// first (SetRoutes replaces them), then Options.Functions.
func (g *Gateway) lookupFunction(name string) *lambdaenv.Function {
	parts := strings.Split(name, ":")
	switch {
	case len(parts) >= 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function" && len(parts) <= 8:
		if parts[4] != apigw.AccountID {
			return nil
		}
		name = parts[6]
	case len(parts) >= 3 && parts[1] == "function" && len(parts) <= 4:
		if parts[0] != apigw.AccountID {
			return nil
		}
		name = parts[2]
	case len(parts) <= 2:
		name = parts[0]
	default:
		return nil
	}
	t := g.table.Load()
	for _, key := range slices.Sorted(maps.Keys(t.routes)) {
		if f := t.routes[key].Function; f != nil && f.Name() == name {
			return f
		}
	}
	if t.authorizer != nil && t.authorizer.Function != nil && t.authorizer.Function.Name() == name {
		return t.authorizer.Function
	}
	for _, f := range g.lambdaAPI.extra {
		if f != nil && f.Name() == name {
			return f
		}
	}
	return nil
}

// serveInvoke serves the Lambda Invoke API to the processes of this
// machine: a request from another host, with a Host header that is not a
// loopback address (DNS rebinding), or with the headers a browser adds
// (Origin, Sec-Fetch-*) is refused with 403.
func (g *Gateway) serveInvoke(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amzn-RequestId", apigw.NewUUID())
	if why := foreignCaller(r); why != "" {
		invokeError(w, http.StatusForbidden, "AccessDeniedException", "local: the Invoke API serves this machine's processes only: "+why)
		return
	}
	rest, _ := strings.CutPrefix(r.URL.EscapedPath(), invokePrefix)
	escaped, ok := strings.CutSuffix(rest, invokeSuffix)
	name, err := url.PathUnescape(escaped)
	if !ok || err != nil || name == "" || strings.Contains(name, "/") {
		invokeError(w, http.StatusNotFound, "UnknownOperationException", "local: only the Invoke operation of the Lambda API is served")
		return
	}
	if r.Method != http.MethodPost {
		invokeError(w, http.StatusMethodNotAllowed, "UnknownOperationException", "local: Invoke takes POST")
		return
	}
	f := g.lookupFunction(name)
	if f == nil {
		invokeError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+name)
		return
	}
	typ := r.Header.Get("X-Amz-Invocation-Type")
	limit := maxSyncPayload
	switch typ {
	case "", "RequestResponse":
		typ = "RequestResponse"
	case "Event":
		limit = maxAsyncPayload
	case "DryRun":
	default:
		invokeError(w, http.StatusBadRequest, "InvalidParameterValueException", fmt.Sprintf("X-Amz-Invocation-Type %q: want RequestResponse, Event or DryRun", typ))
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	switch {
	case err != nil:
		invokeError(w, http.StatusBadRequest, "InvalidRequestContentException", "reading the request body: "+err.Error())
		return
	case len(payload) > limit:
		invokeError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException", fmt.Sprintf("Request must be smaller than %d bytes for the %s invocation type", limit, typ))
		return
	case len(payload) == 0:
		payload = []byte("{}")
	case !json.Valid(payload):
		invokeError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json")
		return
	}
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	switch typ {
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
	case "Event":
		if !g.queueEvent(f, payload) {
			invokeError(w, http.StatusServiceUnavailable, "ServiceException", "local: the gateway is stopping")
			return
		}
		w.WriteHeader(http.StatusAccepted)
	default:
		start := time.Now()
		out, err := f.Invoke(r.Context(), payload)
		var ie *lambdaenv.InvokeError
		switch {
		case errors.As(err, &ie):
			g.log.Warn("local: invoke failed", logs.Function, f.Name(), logs.Type, typ, logs.Duration, time.Since(start), logs.Error, err)
			out, _ = json.Marshal(map[string]string{"errorType": ie.Type, "errorMessage": ie.Message})
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
		case err != nil:
			invokeError(w, http.StatusInternalServerError, "ServiceException", err.Error())
			return
		default:
			g.log.Info("local: invoke", logs.Function, f.Name(), logs.Type, typ, logs.Duration, time.Since(start))
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(out)
	}
}

// queueEvent queues an Event invocation of f, and reports false once the
// gateway is closed. A failed invocation is retried twice, as Lambda does.
func (g *Gateway) queueEvent(f *lambdaenv.Function, payload []byte) bool {
	a := g.lambdaAPI
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ctx.Err() != nil {
		return false
	}
	a.wg.Add(1)
	g.runAsync(f, payload, 0)
	return true
}

// runAsync runs attempt n (from 0) of an Event invocation; the last attempt
// to end calls a.wg.Done.
func (g *Gateway) runAsync(f *lambdaenv.Function, payload []byte, n int) {
	a := g.lambdaAPI
	start := time.Now()
	f.InvokeFunc(a.ctx, payload, func(_ []byte, _ bool, err error) {
		attrs := []any{logs.Function, f.Name(), logs.Type, "Event", logs.Attempt, n + 1, logs.Duration, time.Since(start)}
		switch {
		case err == nil:
			g.log.Info("local: invoke", attrs...)
			a.wg.Done()
			return
		case a.ctx.Err() != nil:
			g.log.Debug("local: invoke stopped: the gateway closed", append(attrs, logs.Error, err)...)
			a.wg.Done()
			return
		case n == len(a.retries):
			g.log.Error("local: invoke failed; event dropped after Lambda's 2 retries", append(attrs, logs.Error, err)...)
			a.wg.Done()
			return
		}
		g.log.Warn("local: invoke failed; retrying", append(attrs, logs.Delay, a.retries[n], logs.Error, err)...)
		ready := make(chan struct{}) // closed once t and stop are set
		var t *time.Timer
		var stop func() bool
		t = time.AfterFunc(a.retries[n], func() {
			<-ready
			stop()
			g.runAsync(f, payload, n+1) // after Close, fails at once and ends
		})
		stop = context.AfterFunc(a.ctx, func() {
			<-ready
			if t.Stop() {
				a.wg.Done()
			}
		})
		close(ready)
	})
}

// foreignCaller returns why a request may not come from a process of this
// machine, "" when it does: it must come from a loopback address or the
// address it reached (a gateway listening on a LAN address), name one of
// them in Host, and carry none of the headers browsers add.
func foreignCaller(r *http.Request) string {
	var local net.IP
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if h, _, err := net.SplitHostPort(a.String()); err == nil {
			local = net.ParseIP(h)
		}
	}
	ours := func(hostport string) bool {
		h := hostport
		if hh, _, err := net.SplitHostPort(hostport); err == nil {
			h = hh
		}
		ip := net.ParseIP(strings.Trim(h, "[]"))
		return strings.EqualFold(h, "localhost") || ip != nil && (ip.IsLoopback() || ip.Equal(local))
	}
	switch {
	case !ours(r.RemoteAddr):
		return "request from another host"
	case !ours(r.Host):
		return "Host is not this machine's address"
	case r.Header["Origin"] != nil:
		return "a browser's request (Origin)"
	}
	for k := range r.Header {
		if strings.HasPrefix(k, "Sec-Fetch-") {
			return "a browser's request (" + k + ")"
		}
	}
	return ""
}

// invokeError writes a Lambda API error as the AWS SDKs parse it: the type
// in X-Amzn-ErrorType and the JSON body.
func invokeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Type    string `json:"Type"`
		Message string `json:"Message"`
	}{"User", msg})
}
