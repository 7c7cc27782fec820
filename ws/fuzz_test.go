package ws_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lambdaws/lambdaws/ws"
)

// FuzzHandler feeds arbitrary event JSON and message bodies through Handler:
// it must never panic or return an error, and always answer a defined status.
func FuzzHandler(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, `{"action":"echo","data":1}`)
	}
	f.Add([]byte(`{"requestContext":{"connectionId":"x","eventType":"MESSAGE"},"isBase64Encoded":true,"body":"e30="}`), "")
	f.Add([]byte(`{}`), "\xff")

	r := ws.NewRouter()
	r.Logger = discard
	r.OnConnect(func(_ context.Context, req *ws.Request) error {
		if req.SelectSubprotocol("chat.v1") == "" && req.Query("token") == "" {
			return ws.Reject(401, "no")
		}
		return nil
	})
	r.OnDisconnect(func(_ context.Context, req *ws.Request) error { req.DisconnectStatus(); return nil })
	r.OnMessage(func(_ context.Context, req *ws.Request) error {
		var v map[string]any
		if err := req.DecodeJSON(&v); err != nil {
			return err
		}
		return req.Respond(v)
	})
	r.OnRoute("echo", func(_ context.Context, req *ws.Request) error {
		_, _, _ = req.Header("x"), req.AuthorizerContext(), req.SourceIP() // exercise the helpers
		return req.Respond(req.Body)
	})
	r.OnRoute("boom", func(context.Context, *ws.Request) error { panic("boom") })

	defined := map[int]bool{200: true, 400: true, 401: true, 404: true, 500: true}
	f.Fuzz(func(t *testing.T, raw []byte, body string) {
		var e events.APIGatewayWebsocketProxyRequest
		if json.Unmarshal(raw, &e) != nil {
			return
		}
		if body != "" {
			e.Body = body
		}
		resp, err := r.Handler(context.Background(), e)
		if err != nil || !defined[resp.StatusCode] {
			t.Fatalf("Handler = %d, %v", resp.StatusCode, err)
		}
		if _, err := json.Marshal(resp); err != nil {
			t.Fatalf("response does not marshal: %v", err)
		}
	})
}
