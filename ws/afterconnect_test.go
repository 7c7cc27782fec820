package ws_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/lambdaws/lambdaws/sender"
	"github.com/lambdaws/lambdaws/ws"
)

const testARN = "arn:aws:lambda:us-east-1:123456789012:function:chat"

// lambdaCtx is the context of an invocation of testARN.
func lambdaCtx() context.Context {
	return lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{InvokedFunctionArn: testARN})
}

// fakeLambda records the Invoke calls a router makes.
type fakeLambda struct {
	mu       sync.Mutex
	calls    []*lambda.InvokeInput
	deadline time.Duration // left on the context of the last call
	err      error
}

func (f *fakeLambda) Invoke(ctx context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, in)
	if d, ok := ctx.Deadline(); ok {
		f.deadline = time.Until(d)
	}
	if f.err != nil {
		return nil, f.err
	}
	return &lambda.InvokeOutput{StatusCode: http.StatusAccepted}, nil
}

// openingSender answers GetConnection with 410 for the first gone calls, as API
// Gateway does until it has opened the connection, and records sends.
type openingSender struct {
	mu    sync.Mutex
	gone  int // Info calls still to answer with ErrGone; -1 for always
	infos int
	sent  []string
}

func (s *openingSender) goneErr() error {
	return fmt.Errorf("fake: 410: %w", sender.ErrGone)
}

func (s *openingSender) Send(_ context.Context, id string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone != 0 {
		return s.goneErr()
	}
	s.sent = append(s.sent, id+" "+string(data))
	return nil
}

func (s *openingSender) Close(context.Context, string) error { return nil }

func (s *openingSender) Info(context.Context, string) (*sender.Info, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.infos++
	if s.gone != 0 {
		if s.gone > 0 {
			s.gone--
		}
		return nil, s.goneErr()
	}
	return &sender.Info{}, nil
}

func (s *openingSender) Broadcast(context.Context, iter.Seq2[string, error], []byte, *sender.BroadcastOptions) (sender.Result, error) {
	return sender.Result{}, errors.New("fake: no broadcast")
}

// afterRouter is a router greeting with AfterConnect through fakes.
func afterRouter(t *testing.T) (*ws.Router, *fakeLambda, *openingSender, *logBuffer) {
	r, logs := newRouter(true)
	fl, fs := &fakeLambda{}, &openingSender{}
	ws.SetLambda(r, fl)
	r.Sender = fs
	r.AfterConnect(func(ctx context.Context, req *ws.Request) error {
		return ws.Reply(ctx, fmt.Sprintf("welcome %s via %s, %s, ua %q, auth %v", req.ConnectionID, req.RouteKey,
			req.Event.RequestContext.EventType, req.Header("User-Agent"), req.Authorizer()["principalId"]))
	})
	return r, fl, fs, logs
}

// TestAfterConnectInvokesAfterConnect: a successful $connect invokes the
// function it runs in, asynchronously, with the $connect event; serving
// that event runs the handler, which sends to the connection.
func TestAfterConnectInvokesAfterConnect(t *testing.T) {
	r, fl, fs, _ := afterRouter(t)
	connect := event(t, "connect")
	connect.RequestContext.Authorizer = map[string]any{"principalId": "ann"}
	resp, _ := r.Handler(lambdaCtx(), connect)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("$connect status %d", resp.StatusCode)
	}
	if len(fl.calls) != 1 {
		t.Fatalf("%d Invoke calls, want 1", len(fl.calls))
	}
	in := fl.calls[0]
	if aws.ToString(in.FunctionName) != testARN || in.InvocationType != "Event" {
		t.Errorf("Invoke %s as %s, want %s as Event", aws.ToString(in.FunctionName), in.InvocationType, testARN)
	}
	if fl.deadline <= 0 || fl.deadline > 2*time.Second {
		t.Errorf("the Invoke call had %v left, want at most 2 s", fl.deadline)
	}
	if len(fs.sent) != 0 || fs.infos != 0 {
		t.Errorf("$connect sent %q or asked GetConnection %d times", fs.sent, fs.infos)
	}

	var after events.APIGatewayWebsocketProxyRequest
	if err := json.Unmarshal(in.Payload, &after); err != nil {
		t.Fatal(err)
	}
	fs.gone = 2 // API Gateway has not opened the connection yet
	if resp, _ := r.Handler(lambdaCtx(), after); resp.StatusCode != http.StatusOK {
		t.Errorf("AfterConnect status %d", resp.StatusCode)
	}
	want := fmt.Sprintf("%s welcome %s via $afterconnect, CONNECT, ua %q, auth ann", connect.RequestContext.ConnectionID,
		connect.RequestContext.ConnectionID, connect.Headers["User-Agent"])
	if len(fs.sent) != 1 || fs.sent[0] != want {
		t.Errorf("sent %q, want [%q]", fs.sent, want)
	}
	if fs.infos != 3 {
		t.Errorf("%d GetConnection calls, want 3 (two 410s, then open)", fs.infos)
	}
	if len(fl.calls) != 1 {
		t.Errorf("%d Invoke calls after AfterConnect, want 1", len(fl.calls))
	}
}

// TestAfterConnectNotInvoked: a refused or failed $connect, other routes
// and a router without AfterConnect invoke nothing.
func TestAfterConnectNotInvoked(t *testing.T) {
	for _, tt := range []struct {
		name    string
		connect ws.HandlerFunc
		ev      string
	}{
		{"rejected", func(context.Context, *ws.Request) error { return ws.Reject(http.StatusForbidden, "no") }, "connect"},
		{"failed", func(context.Context, *ws.Request) error { return errors.New("boom") }, "connect"},
		{"message", nil, "message"},
		{"disconnect", nil, "disconnect"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := newRouter(false)
			r.OnMessage(func(context.Context, *ws.Request) error { return nil })
			if tt.connect != nil {
				r.OnConnect(tt.connect)
			}
			fl := &fakeLambda{}
			ws.SetLambda(r, fl)
			r.AfterConnect(func(context.Context, *ws.Request) error { return nil })
			r.Handler(lambdaCtx(), event(t, tt.ev))
			if len(fl.calls) != 0 {
				t.Errorf("%d Invoke calls", len(fl.calls))
			}
		})
	}
	r, _ := newRouter(true)
	fl := &fakeLambda{}
	ws.SetLambda(r, fl)
	r.Handler(lambdaCtx(), event(t, "connect"))
	if len(fl.calls) != 0 {
		t.Errorf("a router without AfterConnect invoked %d times", len(fl.calls))
	}
}

// TestAfterConnectWithoutOnConnect: $connect accepted without a handler
// still greets.
func TestAfterConnectWithoutOnConnect(t *testing.T) {
	r, _ := newRouter(false)
	r.OnMessage(func(context.Context, *ws.Request) error { return nil })
	fl := &fakeLambda{}
	ws.SetLambda(r, fl)
	r.AfterConnect(func(context.Context, *ws.Request) error { return nil })
	r.Handler(lambdaCtx(), event(t, "connect"))
	if len(fl.calls) != 1 {
		t.Errorf("%d Invoke calls, want 1", len(fl.calls))
	}
}

// TestAfterConnectInvokeFailure: a failed Invoke is logged and the $connect
// still succeeds.
func TestAfterConnectInvokeFailure(t *testing.T) {
	r, fl, _, logs := afterRouter(t)
	fl.err = errors.New("AccessDeniedException: not authorized to perform lambda:InvokeFunction")
	resp, _ := r.Handler(lambdaCtx(), event(t, "connect"))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("$connect status %d, want 200", resp.StatusCode)
	}
	if !strings.Contains(logs.String(), `"msg":"ws: AfterConnect not invoked"`) || !strings.Contains(logs.String(), "AccessDenied") {
		t.Errorf("log:\n%s", logs.String())
	}
}

// TestAfterConnectFunctionName: the function invoked is the router's
// AfterConnectFunction, else the invoked ARN, else AWS_LAMBDA_FUNCTION_NAME;
// without any, nothing is invoked and that is said once.
func TestAfterConnectFunctionName(t *testing.T) {
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "from-env")
	for _, tt := range []struct {
		name, set string
		ctx       context.Context
		want      string
	}{
		{"explicit", "chat-prod", lambdaCtx(), "chat-prod"},
		{"invoked ARN", "", lambdaCtx(), testARN},
		{"environment", "", context.Background(), "from-env"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, fl, _, _ := afterRouter(t)
			r.AfterConnectFunction = tt.set
			r.Handler(tt.ctx, event(t, "connect"))
			if len(fl.calls) != 1 || aws.ToString(fl.calls[0].FunctionName) != tt.want {
				t.Errorf("invoked %v, want %s", fl.calls, tt.want)
			}
		})
	}
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "")
	r, fl, _, logs := afterRouter(t)
	for range 3 {
		r.Handler(context.Background(), event(t, "connect"))
	}
	if len(fl.calls) != 0 || strings.Count(logs.String(), "no Lambda function") != 1 {
		t.Errorf("%d calls; log:\n%s", len(fl.calls), logs.String())
	}
}

// afterEvent returns the AfterConnect event that the $connect of testdata
// makes.
func afterEvent(t *testing.T) events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	r, fl, _, _ := afterRouter(t)
	r.Handler(lambdaCtx(), event(t, "connect"))
	var ev events.APIGatewayWebsocketProxyRequest
	if err := json.Unmarshal(fl.calls[0].Payload, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestAfterConnectGone: a connection that never opens (its client left
// first) is dropped after a bounded number of GetConnection calls, with
// debug lines only, and its handler does not run.
func TestAfterConnectGone(t *testing.T) {
	r, _, fs, logs := afterRouter(t)
	fs.gone = -1
	ctx, cancel := context.WithTimeout(lambdaCtx(), 2*time.Second)
	defer cancel()
	start := time.Now()
	r.Handler(ctx, afterEvent(t))
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("waited %v with 2 s left, want at most half", took)
	}
	if len(fs.sent) != 0 || fs.infos < 2 || fs.infos > 12 {
		t.Errorf("sent %q after %d GetConnection calls", fs.sent, fs.infos)
	}
	for _, rec := range logs.records(t) {
		if rec["level"] != "DEBUG" {
			t.Errorf("log line at %s: %v", rec["level"], rec)
		}
	}
}

// TestAfterConnectHandlerGone: a handler whose send finds the connection
// gone (closed meanwhile) is a debug line, not an error.
func TestAfterConnectHandlerGone(t *testing.T) {
	r, logs := newRouter(true)
	fs := &openingSender{}
	r.Sender = fs
	r.AfterConnect(func(ctx context.Context, req *ws.Request) error {
		fs.gone = -1
		return ws.Reply(ctx, "hi")
	})
	r.Handler(lambdaCtx(), afterEvent(t))
	for _, rec := range logs.records(t) {
		if rec["level"] != "DEBUG" {
			t.Errorf("log line at %s: %v", rec["level"], rec)
		}
	}
}

// TestAfterConnectNotForgeable: a client's message cannot select the
// AfterConnect handler, and events API Gateway sends are never taken for an
// AfterConnect event.
func TestAfterConnectNotForgeable(t *testing.T) {
	r, _ := newRouter(false)
	var routes []string
	r.OnMessage(func(_ context.Context, req *ws.Request) error { routes = append(routes, req.RouteKey); return nil })
	r.Sender = &openingSender{}
	ran := false
	r.AfterConnect(func(context.Context, *ws.Request) error { ran = true; return nil })
	ws.SetLambda(r, &fakeLambda{})
	for _, body := range []string{`{"action":"$afterconnect"}`, `{"action":"$connect"}`, `{"eventType":"LAMBDAWS_AFTER_CONNECT"}`} {
		r.Handler(lambdaCtx(), message(t, body))
	}
	forged := event(t, "connect")
	forged.RequestContext.RouteKey = "$afterconnect"
	r.Handler(lambdaCtx(), forged)
	if ran {
		t.Error("the AfterConnect handler ran")
	}
	if len(routes) != 4 { // the forged route key is unknown: $default serves it
		t.Errorf("events routed to %q, want $default four times", routes)
	}
}

// TestAfterConnectMiddlewareAndRegister: middleware wraps the handler, and
// Register wires a struct's AfterConnect method.
func TestAfterConnectMiddlewareAndRegister(t *testing.T) {
	r, _ := newRouter(false)
	fs := &openingSender{}
	r.Sender = fs
	var seen []string
	r.Use(func(next ws.HandlerFunc) ws.HandlerFunc {
		return func(ctx context.Context, req *ws.Request) error {
			seen = append(seen, req.RouteKey)
			return next(ctx, req)
		}
	})
	r.Register(&greeter{})
	r.Handler(lambdaCtx(), afterEvent(t))
	if len(seen) != 1 || seen[0] != "$afterconnect" || len(fs.sent) != 1 {
		t.Errorf("middleware saw %q; sent %q", seen, fs.sent)
	}
}

type greeter struct{ ws.Server }

func (greeter) AfterConnect(ctx context.Context, _ *ws.Request) error { return ws.Reply(ctx, "hello") }

func TestAfterConnectPanics(t *testing.T) {
	for name, f := range map[string]func(r *ws.Router){
		"nil":       func(r *ws.Router) { r.AfterConnect(nil) },
		"duplicate": func(r *ws.Router) { r.AfterConnect(func(context.Context, *ws.Request) error { return nil }) },
		"serving": func(r *ws.Router) {
			r.Handler(context.Background(), event(t, "message"))
			r.AfterConnect(nil)
		},
	} {
		t.Run(name, func(t *testing.T) {
			r, _ := newRouter(true)
			if name == "duplicate" {
				f(r)
			}
			defer func() {
				if p := recover(); p == nil || !strings.HasPrefix(fmt.Sprint(p), "ws: ") {
					t.Errorf("panic %v, want one with the ws: prefix", p)
				}
			}()
			f(r)
		})
	}
}
