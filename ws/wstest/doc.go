// Package wstest is the test kit for WebSocket handlers written with package
// ws, as net/http/httptest is for HTTP handlers. A first test:
//
//	func TestEcho(t *testing.T) {
//		r := ws.NewRouter()
//		r.OnMessage(func(ctx context.Context, req *ws.Request) error { return ws.Reply(ctx, req.Body) })
//
//		c := wstest.NewGateway(t, r, nil).Dial(t, nil)
//		c.Send(t, "hello")
//		c.Expect(t, "hello")
//	}
//
// Its three parts:
//
//   - gateway.go, conn.go: [NewGateway] serves a Router behind the local API
//     Gateway emulator (package local) on a loopback port, so handlers run as
//     on AWS. [Gateway.Dial] opens real WebSocket connections whose [Conn.ID]
//     is the handlers' ConnectionID; [Gateway.WaitIdle] and [Conn.Close] wait
//     for the handlers, so tests need no sleeps; a [Handshake] adds headers,
//     query parameters and subprotocols. [Options] (nil: a deployed API's
//     defaults) set the stage, idle timeout, two-way routes and an
//     authorizer; as on AWS, routes are one-way unless TwoWay.
//     A Router's AfterConnect handler runs after each successful Dial, as
//     on AWS, through the emulator's Lambda Invoke API.
//   - event.go: [Connect], [Message] and [Disconnect] build the events API
//     Gateway sends (as package local does), for table tests of
//     Router.Handler; give the Router a Sender for what its handlers send.
//     [AfterConnect] builds the event of an AfterConnect handler.
//   - recorder.go: [Recorder], a ws.Sender that records what handlers send
//     and can make connections gone or throttled.
//
// What a test starts, t.Cleanup stops. Helpers call t.Fatalf, so call them
// from the test's goroutine; waits fail after [Gateway.Timeout].
package wstest
