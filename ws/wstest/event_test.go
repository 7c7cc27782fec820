package wstest_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lambdaws/lambdaws/ws"
	"github.com/lambdaws/lambdaws/ws/wstest"
)

// TestEventsAreShapedLikeLocals compares the built events with the ones the
// local emulator sends for the same handshake, message and close: the same
// fields, and the same values where they do not depend on the connection.
func TestEventsAreShapedLikeLocals(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]events.APIGatewayWebsocketProxyRequest{}
	r := ws.NewRouter()
	r.Use(func(next ws.HandlerFunc) ws.HandlerFunc {
		return func(ctx context.Context, req *ws.Request) error {
			mu.Lock()
			seen[req.Event.RequestContext.EventType] = req.Event
			mu.Unlock()
			return next(ctx, req)
		}
	})
	nothing := func(ctx context.Context, req *ws.Request) error { return nil }
	r.OnConnect(nothing)
	r.OnMessage(nothing)
	r.OnDisconnect(nothing)
	g := wstest.NewGateway(t, r, nil)
	hs := &wstest.Handshake{
		Header:       http.Header{"Origin": {"https://example.com"}, "X-Forwarded-For": {"203.0.113.9"}},
		Query:        url.Values{"room": {"lobby"}},
		Subprotocols: []string{"chat.v1"},
	}
	c := g.Dial(t, hs)
	c.Send(t, `{"action":"hi"}`)
	g.WaitIdle(t)
	c.Close(t)

	id := c.ID()
	for _, tc := range []struct {
		name  string
		built events.APIGatewayWebsocketProxyRequest
	}{
		{"CONNECT", wstest.Connect(id, hs)},
		{"MESSAGE", wstest.Message(id, `{"action":"hi"}`)},
		{"DISCONNECT", wstest.Disconnect(id, 1000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			got := seen[tc.name]
			mu.Unlock()
			if a, b := fields(t, got), fields(t, tc.built); !slices.Equal(a, b) {
				t.Errorf("fields differ:\nlocal: %s\nbuilt: %s", a, b)
			}
			lrc, brc := got.RequestContext, tc.built.RequestContext
			for _, f := range []struct{ name, local, built string }{
				{"routeKey", lrc.RouteKey, brc.RouteKey},
				{"eventType", lrc.EventType, brc.EventType},
				{"messageDirection", lrc.MessageDirection, brc.MessageDirection},
				{"stage", lrc.Stage, brc.Stage},
				{"apiId", lrc.APIID, brc.APIID},
				{"connectionId", lrc.ConnectionID, brc.ConnectionID},
				{"sourceIp", lrc.Identity.SourceIP, brc.Identity.SourceIP},
				{"body", got.Body, tc.built.Body},
				{"query", strings.Join(slices.Sorted(maps.Keys(got.QueryStringParameters)), ","), strings.Join(slices.Sorted(maps.Keys(tc.built.QueryStringParameters)), ",")},
				{"Origin", got.Headers["Origin"], tc.built.Headers["Origin"]},
				{"Sec-WebSocket-Protocol", got.Headers["Sec-WebSocket-Protocol"], tc.built.Headers["Sec-WebSocket-Protocol"]},
				{"X-Forwarded-For", got.Headers["X-Forwarded-For"], tc.built.Headers["X-Forwarded-For"]},
				{"X-Forwarded-Proto", got.Headers["X-Forwarded-Proto"], tc.built.Headers["X-Forwarded-Proto"]},
			} {
				if f.local != f.built {
					t.Errorf("%s: local %q, built %q", f.name, f.local, f.built)
				}
			}
			if lrc.DisconnectStatusCode != brc.DisconnectStatusCode {
				t.Errorf("disconnectStatusCode: local %d, built %d", lrc.DisconnectStatusCode, brc.DisconnectStatusCode)
			}
			for k := range tc.built.Headers {
				if _, ok := got.Headers[k]; !ok {
					t.Errorf("built header %s, which local does not send", k)
				}
			}
		})
	}
}

// fields lists the JSON fields of an event, as dotted paths, without the
// names of headers and query parameters.
func fields(t *testing.T, ev events.APIGatewayWebsocketProxyRequest) []string {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		out = append(out, prefix)
		if m, ok := v.(map[string]any); ok && !strings.Contains(strings.ToLower(prefix), "headers") && !strings.Contains(prefix, "QueryString") {
			for k, v := range m {
				walk(prefix+"."+k, v)
			}
		}
	}
	walk("", m)
	sort.Strings(out)
	return out
}
