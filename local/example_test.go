package local_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/local"
)

// An echo function, served on a port chosen by the system, with a page at
// GET / on the same address.
func ExampleServe() {
	echo := func(ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		return events.APIGatewayProxyResponse{StatusCode: 200, Body: ev.Body}, nil
	}
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<!doctype html><title>chat</title>")
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- local.Serve(ctx, ln, echo, &local.Options{
			Fallback: page,
			Logger:   slog.New(slog.DiscardHandler),
		})
	}()

	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))

	c, _, err := websocket.Dial(ctx, "ws://"+ln.Addr().String(), nil)
	if err != nil {
		panic(err)
	}
	c.Write(ctx, websocket.MessageText, []byte("hello"))
	_, reply, _ := c.Read(ctx)
	fmt.Println(string(reply))

	stop() // closes the connection with 1001 and runs $disconnect
	_, _, err = c.Read(context.Background())
	fmt.Println(websocket.CloseStatus(err))
	fmt.Println(<-done)
	// Output:
	// <!doctype html><title>chat</title>
	// hello
	// StatusGoingAway
	// <nil>
}
