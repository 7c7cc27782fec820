package ws_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/lambdaws/lambdaws/ws"
)

func TestRequestHelpers(t *testing.T) {
	r, _ := newRouter(false)
	var got *ws.Request
	keep := func(_ context.Context, req *ws.Request) error { got = req; return nil }
	r.OnConnect(keep)
	r.OnDisconnect(keep)
	r.OnMessage(keep)

	serve(t, r, event(t, "connect"))
	for _, tt := range []struct{ got, want string }{
		{got.Header("sec-websocket-key"), "BUndHmSUbY2anMncLCXRVA=="},
		{got.Header("X-FORWARDED-FOR"), "206.87.236.185"},
		{got.Header("Host"), "fut2pn5a74.execute-api.us-west-2.amazonaws.com"},
		{got.Header("Missing"), ""},
		{got.Query("token"), "s3cret"},
		{got.Query("room"), "general"},
		{got.Query("Token"), ""}, // query names are case-sensitive
		{got.SourceIP(), "206.87.236.185"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	if a := got.AuthorizerContext(); a["principalId"] != "user-42" || a["tenant"] != "acme" {
		t.Errorf("AuthorizerContext() = %v", a)
	}
	if code, reason := got.DisconnectStatus(); code != 0 || reason != "" {
		t.Errorf("connect DisconnectStatus = %d %q", code, reason)
	}

	serve(t, r, event(t, "disconnect"))
	if code, reason := got.DisconnectStatus(); code != 1001 || reason != "Going away" {
		t.Errorf("DisconnectStatus = %d %q, want 1001 Going away", code, reason)
	}
	if got.AuthorizerContext() != nil {
		t.Errorf("Authorizer() without authorizer = %v", got.AuthorizerContext())
	}

	// Multi-value headers are consulted when the single-value map lacks one.
	e := event(t, "connect")
	e.Headers = nil
	serve(t, r, e)
	if got.Header("origin") != "https://example.com" {
		t.Errorf("multi-value header lookup = %q", got.Header("origin"))
	}

	// A repeated name gives its last value, as API Gateway's single-value
	// maps keep the last.
	e.Headers, e.QueryStringParameters = nil, nil
	e.MultiValueHeaders = map[string][]string{"X-Dup": {"first", "last"}}
	e.MultiValueQueryStringParameters = map[string][]string{"token": {"a", "b"}}
	serve(t, r, e)
	if got.Header("x-dup") != "last" || got.Query("token") != "b" {
		t.Errorf("repeated names: Header = %q, Query = %q, want the last values", got.Header("x-dup"), got.Query("token"))
	}
}

func TestDecodeJSON(t *testing.T) {
	r, _ := newRouter(true)
	var v struct{ A int }
	r.OnRoute("decode", func(_ context.Context, req *ws.Request) error { return req.DecodeJSON(&v) })
	r.OnRoute("strict", func(_ context.Context, req *ws.Request) error {
		var n struct{ Action int }
		return req.DecodeJSON(&n)
	})
	e := event(t, "sendmessage")
	e.RequestContext.RouteKey = "decode"
	e.Body = `{"a": 7}`
	if resp := serve(t, r, e); resp.StatusCode != 200 || v.A != 7 {
		t.Fatalf("decode: %d, v=%+v", resp.StatusCode, v)
	}
	for _, body := range []string{"not json", `{"a":`, "\xff\xfe"} {
		e.Body = body
		if resp := serve(t, r, e); resp.StatusCode != 400 || resp.Body != "invalid JSON body" {
			t.Errorf("body %q: response %d %q, want 400 invalid JSON body", body, resp.StatusCode, resp.Body)
		}
	}
	e.RequestContext.RouteKey = "strict"
	e.Body = `{"action":"strict"}` // string into int
	if resp := serve(t, r, e); resp.StatusCode != 400 {
		t.Errorf("wrong type answered %d, want 400", resp.StatusCode)
	}
}

func TestSelectSubprotocol(t *testing.T) {
	tests := []struct {
		offered   string
		supported []string
		want      string
	}{
		{"chat.v2, chat.v1", []string{"chat.v1", "chat.v2"}, "chat.v2"}, // client preference wins
		{"chat.v2, chat.v1", []string{"chat.v1"}, "chat.v1"},
		{"chat.v2, chat.v1", []string{"graphql-ws"}, ""},
		{"", []string{"chat.v1"}, ""},
		{" , ,chat.v1", []string{"", "chat.v1"}, "chat.v1"},
	}
	for _, tt := range tests {
		t.Run(tt.offered, func(t *testing.T) {
			var chosen string
			r := ws.NewRouter()
			r.Logger = discard
			r.OnMessage(func(context.Context, *ws.Request) error { return nil })
			r.OnConnect(func(_ context.Context, req *ws.Request) error {
				chosen = req.SelectSubprotocol(tt.supported...)
				if chosen == "" {
					return ws.Reject(400, "no supported subprotocol")
				}
				return nil
			})
			e := event(t, "connect")
			e.Headers["Sec-WebSocket-Protocol"] = tt.offered
			resp := serve(t, r, e)
			if chosen != tt.want || resp.Headers["Sec-WebSocket-Protocol"] != tt.want {
				t.Errorf("chosen %q, header %q, want %q", chosen, resp.Headers["Sec-WebSocket-Protocol"], tt.want)
			}
			if tt.want == "" && resp.StatusCode != 400 {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
		})
	}
}

func TestRespondGivesTwoWayBody(t *testing.T) {
	r, _ := newRouter(true)
	r.OnRoute("sendmessage", func(_ context.Context, req *ws.Request) error {
		return req.Respond(map[string]any{"type": "ack", "n": 1})
	})
	r.OnRoute("raw", func(_ context.Context, req *ws.Request) error { return req.Respond("plain text") })
	r.OnRoute("bad", func(_ context.Context, req *ws.Request) error { return req.Respond(func() {}) })
	resp := serve(t, r, event(t, "sendmessage"))
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || body["type"] != "ack" {
		t.Errorf("body %q (%v)", resp.Body, err)
	}
	for key, want := range map[string]struct {
		status int
		body   string
	}{"raw": {200, "plain text"}, "bad": {500, ""}} {
		e := event(t, "sendmessage")
		e.RequestContext.RouteKey = key
		if resp := serve(t, r, e); resp.StatusCode != want.status || resp.Body != want.body {
			t.Errorf("%s: %d %q, want %d %q", key, resp.StatusCode, resp.Body, want.status, want.body)
		}
	}
}

func TestRequestFromContext(t *testing.T) {
	r, _ := newRouter(true)
	var same bool
	r.OnRoute("sendmessage", func(ctx context.Context, req *ws.Request) error {
		got, ok := ws.RequestFromContext(ctx)
		same = ok && got == req
		return nil
	})
	serve(t, r, event(t, "sendmessage"))
	if !same {
		t.Error("RequestFromContext did not return the handler's request")
	}
	if _, ok := ws.RequestFromContext(context.Background()); ok {
		t.Error("RequestFromContext found a request in a bare context")
	}
}
