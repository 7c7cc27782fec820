// Package wstest is the test kit for WebSocket handlers written with package
// ws, as net/http/httptest is for HTTP handlers. A first test:
//
//	func TestEcho(t *testing.T) {
//		r := ws.NewRouter()
//		r.OnMessage(func(ctx context.Context, req *ws.Request) error { return ws.Reply(ctx, req.Body) })
//
//		c := wstest.NewGateway(t, r).Dial(t)
//		c.Send(t, "hello")
//		c.Expect(t, "hello")
//	}
//
// It has two parts, from the most faithful to the fastest:
//
//   - gateway.go, conn.go: [NewGateway] serves a Router behind the local API
//     Gateway emulator (package local) on a loopback port, so handlers run as
//     they do on AWS: Lambda's JSON events, $connect deciding the handshake,
//     ws.SendMessage going through the management API. [Gateway.Dial] opens
//     real WebSocket connections whose [Conn.ID] is the handlers'
//     ConnectionID; [Gateway.WaitIdle] and [Conn.Close] wait for the
//     handlers, so tests need no sleeps.
//   - recorder.go: [Recorder] is a ws.Sender that records messages instead
//     of sending them, and can make connections gone or throttled.
//
// Everything a test starts is stopped by t.Cleanup. Helpers fail the test
// with t.Fatalf, so call them from the test's goroutine; waits give up after
// [Gateway.Timeout].
package wstest
