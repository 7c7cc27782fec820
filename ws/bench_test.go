package ws_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lambdaws/lambdaws/ws"
)

// work is what both handlers below do with a message.
var total int

func work(body []byte) { total += len(body) }

// BenchmarkDispatch compares one $default message through Router.Handler
// with a hand-written switch doing the same work:
//
//	go test -run '^$' -bench Dispatch -benchmem -count 10 ./ws
func BenchmarkDispatch(b *testing.B) {
	e := loadEvent("message")
	ctx := context.Background()

	b.Run("switch", func(b *testing.B) {
		handler := func(ctx context.Context, e events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
			switch e.RequestContext.RouteKey {
			case "$connect", "$disconnect":
				return events.APIGatewayProxyResponse{StatusCode: http.StatusOK}, nil
			case "$default":
				work([]byte(e.Body))
				return events.APIGatewayProxyResponse{StatusCode: http.StatusOK}, nil
			}
			return events.APIGatewayProxyResponse{StatusCode: http.StatusNotFound}, nil
		}
		b.ReportAllocs()
		for b.Loop() {
			if resp, _ := handler(ctx, e); resp.StatusCode != 200 {
				b.Fatal(resp.StatusCode)
			}
		}
	})

	action := e
	action.Body = `{"action":"sendmessage","text":"hello, everyone"}`
	for _, tc := range []struct {
		name    string
		custom  bool
		event   events.APIGatewayWebsocketProxyRequest
		metrics bool
	}{
		{"ws.Handler", false, e, false},
		{"ws.Handler+custom-routes", true, e, false},
		// The body names the custom route: validated and scanned.
		{"ws.Handler+custom-routes+action", true, action, false},
		// An EMF document per invocation (to io.Discard).
		{"ws.Handler+metrics", false, e, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := ws.NewRouter()
			r.OnConnect(func(context.Context, *ws.Request) error { return nil })
			r.OnDisconnect(func(context.Context, *ws.Request) error { return nil })
			r.OnMessage(func(_ context.Context, req *ws.Request) error { work(req.Body); return nil })
			if tc.metrics {
				r.MetricsNamespace = "bench"
				ws.SetMetricsOutput(r, io.Discard)
			}
			if tc.custom { // every $default message is then checked for an "action"
				r.OnRoute("sendmessage", func(_ context.Context, req *ws.Request) error { work(req.Body); return nil })
			}
			b.ReportAllocs()
			for b.Loop() {
				if resp, _ := r.Handler(ctx, tc.event); resp.StatusCode != 200 {
					b.Fatal(resp.StatusCode)
				}
			}
		})
	}
}
