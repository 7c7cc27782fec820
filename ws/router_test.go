package ws_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lambdaws/lambdaws/ws"
)

func TestRoutesRealEvents(t *testing.T) {
	r, _ := newRouter(false)
	var got []string
	record := func(name string) ws.HandlerFunc {
		return func(_ context.Context, req *ws.Request) error {
			got = append(got, fmt.Sprintf("%s %s %s %q", name, req.RouteKey, req.ConnectionID, req.Body))
			return nil
		}
	}
	r.OnConnect(record("connect"))
	r.OnDisconnect(record("disconnect"))
	r.OnMessage(record("message"))
	r.OnRoute("sendmessage", record("send"))

	tests := []struct{ file, want string }{
		{"connect", `connect $connect Dwz4leekPHcCG6Q= ""`},
		{"message", `message $default R1kmxc2VNjMCFIA= "{\r\n\t\"a\": 1\r\n}"`},
		{"sendmessage", `send sendmessage R1kmxc2VNjMCFIA= "{\"action\":\"sendmessage\",\"data\":\"hello, world\"}"`},
		{"disconnect", `disconnect $disconnect R1kmxc2VNjMCFIA= ""`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got = nil
			resp := serve(t, r, event(t, tt.file))
			if resp.StatusCode != http.StatusOK || resp.Body != "" {
				t.Errorf("response = %d %q, want 200 with no body", resp.StatusCode, resp.Body)
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("handled %q, want [%s]", got, tt.want)
			}
		})
	}
}

func TestDefaultRouterFunctions(t *testing.T) {
	saved := ws.DefaultRouter
	t.Cleanup(func() { ws.DefaultRouter = saved })
	ws.DefaultRouter = ws.NewRouter()

	var got []string
	ws.OnConnect(func(context.Context, *ws.Request) error { got = append(got, "connect"); return nil })
	ws.OnDisconnect(func(context.Context, *ws.Request) error { got = append(got, "disconnect"); return nil })
	ws.OnMessage(func(context.Context, *ws.Request) error { got = append(got, "message"); return nil })
	ws.OnRoute("sendmessage", func(context.Context, *ws.Request) error { got = append(got, "send"); return nil })
	ws.DefaultRouter.Use(func(next ws.HandlerFunc) ws.HandlerFunc {
		return func(ctx context.Context, req *ws.Request) error { got = append(got, "mw"); return next(ctx, req) }
	})
	for _, f := range []string{"connect", "message", "sendmessage", "disconnect"} {
		if resp, err := ws.Handler(context.Background(), event(t, f)); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", f, resp.StatusCode, err)
		}
	}
	want := []string{"mw", "connect", "mw", "message", "mw", "send", "mw", "disconnect"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestActionRouting(t *testing.T) {
	r, _ := newRouter(false)
	var route string
	h := func(_ context.Context, req *ws.Request) error { route = req.RouteKey; return nil }
	r.OnConnect(h)
	r.OnMessage(h)
	r.OnRoute("echo", h)
	r.OnRoute("5", h)
	r.OnRoute("true", h)

	tests := []struct{ body, want string }{
		{`{"action":"echo","data":1}`, "echo"},
		{` { "data" : {"action":"no"}, "action" : "echo" } `, "echo"},
		{`{"act\u0069on":"ech\u006f"}`, "echo"},
		{`{"action":5}`, "5"},
		{`{"action":true}`, "true"},
		{`{"action":"nope"}`, "$default"},
		{`{"action":"$connect"}`, "$default"},
		{`{"action":"$disconnect"}`, "$default"},
		{`{"action":{"x":"echo"}}`, "$default"},
		{`{"action":null}`, "$default"},
		{`{"action":"echo"`, "$default"}, // not JSON
		{`["echo"]`, "$default"},
		{`hello`, "$default"},
		{``, "$default"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			route = ""
			if resp := serve(t, r, message(t, tt.body)); resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if route != tt.want {
				t.Errorf("routed to %q, want %q", route, tt.want)
			}
		})
	}
}

func TestRouteSelectionExpression(t *testing.T) {
	r, _ := newRouter(true)
	r.SetRouteSelectionExpression("$request.body.message.type")
	var route string
	r.OnRoute("join", func(_ context.Context, req *ws.Request) error { route = req.RouteKey; return nil })
	serve(t, r, message(t, `{"action":"other","message":{"type":"join"}}`))
	if route != "join" {
		t.Errorf("routed to %q, want join", route)
	}
	route = ""
	serve(t, r, message(t, `{"action":"join"}`))
	if route != "" {
		t.Errorf("body without message.type went to %q", route)
	}
	mustPanic(t, "route selection expression", func() { ws.NewRouter().SetRouteSelectionExpression("$request.header.x") })
}

func TestMiddlewareWrapsEveryRouteInOrder(t *testing.T) {
	r, _ := newRouter(false)
	var trace []string
	mw := func(name string) func(ws.HandlerFunc) ws.HandlerFunc {
		return func(next ws.HandlerFunc) ws.HandlerFunc {
			return func(ctx context.Context, req *ws.Request) error {
				trace = append(trace, name+">"+req.RouteKey)
				err := next(ctx, req)
				trace = append(trace, "<"+name)
				return err
			}
		}
	}
	h := func(_ context.Context, req *ws.Request) error { trace = append(trace, "h"); return nil }
	r.Use(mw("a"))
	r.OnConnect(h)
	r.OnMessage(h)
	r.OnRoute("sendmessage", h)
	r.Use(mw("b")) // middleware added after routes still wraps them
	for _, f := range []string{"connect", "sendmessage"} {
		serve(t, r, event(t, f))
	}
	want := []string{"a>$connect", "b>$connect", "h", "<b", "<a", "a>sendmessage", "b>sendmessage", "h", "<b", "<a"}
	if !slices.Equal(trace, want) {
		t.Errorf("trace %q\nwant  %q", trace, want)
	}
}

func TestOutcomes(t *testing.T) {
	secret := "db password is hunter2"
	tests := []struct {
		name       string
		h          ws.HandlerFunc
		wantStatus int
		wantBody   string
		wantLevel  string
		wantLog    string
	}{
		{"nil", func(context.Context, *ws.Request) error { return nil }, 200, "", "", ""},
		{"reject", func(context.Context, *ws.Request) error { return ws.Reject(401, "missing token") }, 401, "missing token", "INFO", "ws: rejected"},
		{"wrapped reject", func(context.Context, *ws.Request) error {
			return fmt.Errorf("auth: %w", ws.Reject(403, "banned"))
		}, 403, "banned", "INFO", "ws: rejected"},
		{"reject with 2xx", func(context.Context, *ws.Request) error { return ws.Reject(204, "odd") }, 500, "", "ERROR", "ws: handler failed"},
		{"error", func(context.Context, *ws.Request) error { return errors.New(secret) }, 500, "", "ERROR", "ws: handler failed"},
		{"panic", func(context.Context, *ws.Request) error { panic(secret) }, 500, "", "ERROR", "ws: handler failed"},
		{"nil map panic", func(context.Context, *ws.Request) error {
			var m map[string]int
			//lint:ignore SA5000 the test needs a runtime panic, not a panic call
			m["x"] = 1
			return nil
		}, 500, "", "ERROR", "ws: handler failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, logs := newRouter(true)
			r.OnRoute("sendmessage", tt.h)
			e := event(t, "sendmessage")
			resp := serve(t, r, e)
			if resp.StatusCode != tt.wantStatus || resp.Body != tt.wantBody {
				t.Errorf("response = %d %q, want %d %q", resp.StatusCode, resp.Body, tt.wantStatus, tt.wantBody)
			}
			if strings.Contains(resp.Body, "hunter2") {
				t.Error("error text reached the response")
			}
			recs := logs.records(t)
			if tt.wantLog == "" {
				if len(recs) != 0 {
					t.Errorf("unexpected logs: %v", recs)
				}
				return
			}
			if len(recs) != 1 {
				t.Fatalf("want 1 log record, got %v", recs)
			}
			rec := recs[0]
			if rec["level"] != tt.wantLevel || rec["msg"] != tt.wantLog || rec["connectionId"] != "R1kmxc2VNjMCFIA=" ||
				rec["route"] != "sendmessage" || rec["gatewayRequestId"] != "R1kp2H3jNjMFd2g=" {
				t.Errorf("log record %v lacks level %s, msg %q, connection id, route or request id", rec, tt.wantLevel, tt.wantLog)
			}
			if strings.Contains(logs.String(), "hello, world") {
				t.Error("the message body was logged")
			}
			if strings.HasPrefix(tt.name, "panic") && !strings.Contains(fmt.Sprint(rec["stack"]), "router_test.go") {
				t.Errorf("panic log has no stack pointing at the handler: %v", rec["stack"])
			}
			// The router keeps serving after a failure.
			if resp := serve(t, r, event(t, "message")); resp.StatusCode != 200 {
				t.Errorf("next event answered %d", resp.StatusCode)
			}
		})
	}
}

func TestValidation(t *testing.T) {
	nop := func(context.Context, *ws.Request) error { return nil }
	tests := []struct {
		name    string
		setup   func(r *ws.Router)
		invalid bool
	}{
		{"empty", func(*ws.Router) {}, false},
		{"both", func(r *ws.Router) { r.OnConnect(nop); r.OnMessage(nop) }, false},
		{"only $default", func(r *ws.Router) { r.OnMessage(nop) }, false},
		{"no $connect", func(r *ws.Router) { r.OnMessage(nop); r.OnDisconnect(nop) }, false},
		{"only custom", func(r *ws.Router) { r.OnRoute("sendmessage", nop) }, false},
		{"no $default, a custom route", func(r *ws.Router) { r.OnConnect(nop); r.OnRoute("x", nop) }, false},
		{"only $connect", func(r *ws.Router) { r.OnConnect(nop) }, true},
		{"only $connect and $disconnect", func(r *ws.Router) { r.OnConnect(nop); r.OnDisconnect(nop) }, true},
		{"only $disconnect", func(r *ws.Router) { r.OnDisconnect(nop) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, logs := newRouter(false)
			tt.setup(r)
			err := r.Validate()
			if !tt.invalid {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "no route receives messages") || !strings.Contains(err.Error(), "ws.OnMessage") {
				t.Fatalf("Validate = %v, want an error naming the fix", err)
			}
			for _, f := range []string{"connect", "sendmessage", "message"} {
				if resp := serve(t, r, event(t, f)); resp.StatusCode != 500 {
					t.Errorf("%s answered %d, want 500", f, resp.StatusCode)
				}
			}
			if !strings.Contains(logs.String(), "misconfigured") || !strings.Contains(logs.String(), "ws.OnMessage") {
				t.Errorf("log does not name the fix: %s", logs)
			}
		})
	}
}

// TestConnectWithoutHandler: as API Gateway accepts a connection when the API
// has no $connect route, a router without OnConnect accepts $connect (200,
// silently) and serves the connection's messages.
func TestConnectWithoutHandler(t *testing.T) {
	r, logs := newRouter(false)
	var got []string
	r.OnMessage(func(_ context.Context, req *ws.Request) error { got = append(got, req.RouteKey); return nil })
	for _, f := range []string{"connect", "message", "disconnect"} {
		if resp := serve(t, r, event(t, f)); resp.StatusCode != http.StatusOK {
			t.Errorf("%s answered %d, want 200", f, resp.StatusCode)
		}
	}
	if !slices.Equal(got, []string{"$default"}) {
		t.Errorf("handled %q, want [$default]", got)
	}
	if logs.String() != "" {
		t.Errorf("logged: %s", logs)
	}
}

func TestRegistrationMistakesPanic(t *testing.T) {
	nop := func(context.Context, *ws.Request) error { return nil }
	mustPanic(t, `nil handler for route "$connect"`, func() { ws.NewRouter().OnConnect(nil) })
	mustPanic(t, "empty route key", func() { ws.NewRouter().OnRoute("", nop) })
	mustPanic(t, `duplicate handler for route "x"`, func() {
		r := ws.NewRouter()
		r.OnRoute("x", nop)
		r.OnRoute("x", nop)
	})
	mustPanic(t, "nil middleware", func() { ws.NewRouter().Use(nil) })
	mustPanic(t, "after the router started serving", func() {
		r, _ := newRouter(true)
		serve(t, r, event(t, "message"))
		r.OnRoute("late", nop)
	})
}

func TestUnservableEvents(t *testing.T) {
	r, logs := newRouter(true)
	tests := []struct {
		name   string
		mutate func(e *events.APIGatewayWebsocketProxyRequest)
		want   int
	}{
		{"no connection id", func(e *events.APIGatewayWebsocketProxyRequest) { e.RequestContext.ConnectionID = "" }, 400},
		{"no route, unknown type", func(e *events.APIGatewayWebsocketProxyRequest) {
			e.RequestContext.RouteKey, e.RequestContext.EventType = "", "SOMETHING"
		}, 400},
		{"no route, MESSAGE type", func(e *events.APIGatewayWebsocketProxyRequest) { e.RequestContext.RouteKey = "" }, 200},
		{"bad base64", func(e *events.APIGatewayWebsocketProxyRequest) { e.IsBase64Encoded = true; e.Body = "%%%" }, 400},
		{"unknown route key falls to $default", func(e *events.APIGatewayWebsocketProxyRequest) { e.RequestContext.RouteKey = "zzz" }, 200},
		{"empty event", func(e *events.APIGatewayWebsocketProxyRequest) { *e = events.APIGatewayWebsocketProxyRequest{} }, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := event(t, "message")
			tt.mutate(&e)
			if resp := serve(t, r, e); resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	if !strings.Contains(logs.String(), "no requestContext.connectionId") {
		t.Errorf("missing connection id was not logged: %s", logs)
	}

	// $disconnect is optional: without a handler it is answered 200, silently.
	before := logs.String()
	if resp := serve(t, r, event(t, "disconnect")); resp.StatusCode != 200 {
		t.Errorf("$disconnect without a handler answered %d, want 200", resp.StatusCode)
	}
	if logs.String() != before {
		t.Errorf("$disconnect without a handler logged: %s", strings.TrimPrefix(logs.String(), before))
	}

	empty, logs := newRouter(false)
	if resp := serve(t, empty, event(t, "message")); resp.StatusCode != 404 {
		t.Errorf("router without handlers answered %d, want 404", resp.StatusCode)
	}
	if !strings.Contains(logs.String(), "no handler for route") {
		t.Errorf("unroutable event was not logged: %s", logs)
	}
}

func TestBase64Body(t *testing.T) {
	r, _ := newRouter(false)
	var body []byte
	r.OnConnect(func(context.Context, *ws.Request) error { return nil })
	r.OnMessage(func(_ context.Context, req *ws.Request) error { body = req.Body; return nil })
	e := message(t, "AP8BAgM=")
	e.IsBase64Encoded = true
	serve(t, r, e)
	if string(body) != "\x00\xff\x01\x02\x03" {
		t.Errorf("body %q", body)
	}
}
