package ws_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lambdaws/lambdaws/internal/testenv"
	"github.com/lambdaws/lambdaws/ws"
)

// event loads testdata/name.json, a real API Gateway event.
func event(t testing.TB, name string) events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var e events.APIGatewayWebsocketProxyRequest
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// message returns the $default message event with another body.
func message(t testing.TB, body string) events.APIGatewayWebsocketProxyRequest {
	e := event(t, "message")
	e.Body = body
	return e
}

// logBuffer collects a router's log output as JSON lines.
type logBuffer struct{ testenv.LockedBuffer }

// records returns the logged records as maps.
func (l *logBuffer) records(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// newRouter returns a router that logs into the returned buffer and has
// no-op $connect and $default handlers unless withDefaults is false.
func newRouter(withDefaults bool) (*ws.Router, *logBuffer) {
	logs := new(logBuffer)
	r := ws.NewRouter()
	r.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if withDefaults {
		r.OnConnect(func(context.Context, *ws.Request) error { return nil })
		r.OnMessage(func(context.Context, *ws.Request) error { return nil })
	}
	return r, logs
}

func serve(t testing.TB, r *ws.Router, e events.APIGatewayWebsocketProxyRequest) events.APIGatewayProxyResponse {
	t.Helper()
	resp, err := r.Handler(context.Background(), e)
	if err != nil {
		t.Fatalf("Handler returned an error: %v", err)
	}
	return resp
}

func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		p := recover()
		msg, _ := p.(string)
		if p == nil || !strings.HasPrefix(msg, "ws: ") || !strings.Contains(msg, want) {
			t.Fatalf("panic = %v, want a \"ws: \" message containing %q", p, want)
		}
	}()
	f()
}

var discard = slog.New(slog.DiscardHandler)
