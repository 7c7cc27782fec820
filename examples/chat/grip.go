package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/lambdaws/lambdaws/grip"
	"github.com/lambdaws/lambdaws/local"
	"github.com/lambdaws/lambdaws/ws"
)

var gripMode = flag.Bool("grip", false, "serve the chat as a GRIP back end for Pushpin/Fanout (WebSocket-over-HTTP) on -addr; "+
	"GRIP_URL is the publish API (default http://localhost:5561/)")

// serveGrip serves the room behind Pushpin or Fanout: WebSocket-over-HTTP
// requests go to the handlers, anything else to the page. A channel publish
// is one call to the proxy, which fans it out to the channel's members.
//
//	go run ./examples/chat -grip -addr 127.0.0.1:8080 &
//	pushpin --route '* 127.0.0.1:8080,over_http'   # clients: ws://127.0.0.1:7999/, page http://127.0.0.1:7999/
func serveGrip(ctx context.Context, room *ChatRoom, addr string) error {
	gripURL := os.Getenv("GRIP_URL")
	if gripURL == "" {
		gripURL = "http://localhost:5561/" // Pushpin's publish port
	}
	pub, err := grip.NewPublisher(gripURL)
	if err != nil {
		return err
	}
	// GRIP_VERIFY_KEY and GRIP_VERIFY_ISS (or the key in GRIP_URL) are read
	// by New.
	h, err := grip.New(nil, &grip.Options{Publisher: pub, HTTP: pageHandler()})
	if err != nil {
		return err
	}
	room.Channels = h.Channels()
	ws.Register(room)
	ln, err := local.Listen(addr)
	if err != nil {
		return err
	}
	fmt.Printf("chat: GRIP back end on http://%s/, publishing to %s\n", ln.Addr(), pub.URL())
	fmt.Printf("chat: start pushpin --route '* %s,over_http' and connect to ws://127.0.0.1:7999/ (page: http://127.0.0.1:7999/)\n", ln.Addr())
	return h.Serve(ctx, ln)
}
