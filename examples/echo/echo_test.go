package main

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/ws"
	"github.com/lambdaws/lambdaws/ws/wstest"
)

func TestMain(m *testing.M) {
	handle()
	os.Exit(m.Run())
}

// TestEcho sends each kind of message through the local API Gateway
// emulator and checks the reply, as a client of the deployed API would.
func TestEcho(t *testing.T) {
	c := wstest.NewGateway(t, ws.DefaultRouter, nil).Dial(t, nil)
	for _, tc := range []struct{ send, reply string }{
		{`{"action":"echo","data":{"a":[1,2,"x"]}}`, `{"type":"echo","data":{"a":[1,2,"x"]}}`},
		{`{"action":"echo","data":"hello"}`, `{"type":"echo","data":"hello"}`},
		{`{"action":"echo"}`, `{"type":"echo","data":null}`},
		{`{"action":"ping"}`, `{"type":"pong"}`},
		{`{"action":"dance"}`, `{"type":"error","message":"Unknown action: dance"}`},
		{`{"action":5}`, `{"type":"error","message":"Unknown action: 5"}`},
		{`{"data":1}`, `{"type":"error","message":"Missing action"}`},
		{`hello`, `{"type":"error","message":"Missing action"}`},
	} {
		c.Send(t, tc.send)
		c.Expect(t, json.RawMessage(tc.reply))
	}
}

// TestRepliesGoToTheSender: each client receives its own replies only.
func TestRepliesGoToTheSender(t *testing.T) {
	g := wstest.NewGateway(t, ws.DefaultRouter, nil)
	alice, bob := g.Dial(t, nil), g.Dial(t, nil)
	alice.Send(t, `{"action":"ping"}`)
	alice.Expect(t, reply{Type: "pong"})
	g.WaitIdle(t)
	bob.ExpectNone(t, 50*time.Millisecond)
}
