//go:build unix

package integration

import (
	"github.com/lambdaws/lambdaws/internal/testenv"
	"testing"
	"time"
)

// TestEcho drives the echo example through the emulator: the two actions,
// an unknown one, and messages without an action.
func TestEcho(t *testing.T) {
	testenv.Integration(t, "the example echo")
	p := startExample(t, "echo", nil)
	ctx := testContext(t, time.Minute)
	c := dial(t, ctx, "c", p.URL, nil)
	for _, tc := range []struct{ name, send, want string }{
		{"echo object", `{"action":"echo","data":{"a":[1,2,"x"]}}`, `{"type":"echo","data":{"a":[1,2,"x"]}}`},
		{"echo string", `{"action":"echo","data":"hello"}`, `{"type":"echo","data":"hello"}`},
		{"echo without data", `{"action":"echo"}`, `{"type":"echo","data":null}`},
		{"ping", `{"action":"ping"}`, `{"type":"pong"}`},
		{"unknown action", `{"action":"dance"}`, `{"type":"error","message":"Unknown action: dance"}`},
		{"numeric action", `{"action":5}`, `{"type":"error","message":"Unknown action: 5"}`},
		{"no action", `{"data":1}`, `{"type":"error","message":"Missing action"}`},
		{"not JSON", `hello`, `{"type":"error","message":"Missing action"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			c.send(ctx, tc.send)
			c.expect(tc.want)
		})
	}
}
