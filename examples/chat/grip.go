package main

import (
	"context"
	"flag"
	"fmt"

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
	opts, err := grip.OptionsFromEnv() // GRIP_URL, GRIP_VERIFY_KEY, GRIP_VERIFY_ISS, GRIP_PREFIX
	if err != nil {
		return err
	}
	if opts.Publisher == nil {
		if opts.Publisher, err = grip.NewPublisher("http://localhost:5561/"); err != nil { // Pushpin's publish port
			return err
		}
	}
	opts.HTTP = pageHandler()
	h, err := grip.New(nil, opts)
	if err != nil {
		return err
	}
	room.Channels = h.Channels()
	ws.Register(room)
	ln, err := local.Listen(addr)
	if err != nil {
		return err
	}
	fmt.Printf("chat: GRIP back end on http://%s/, publishing to %s\n", ln.Addr(), opts.Publisher.URL())
	fmt.Printf("chat: start pushpin --route '* %s,over_http' and connect to ws://127.0.0.1:7999/ (page: http://127.0.0.1:7999/)\n", ln.Addr())
	return h.Serve(ctx, ln)
}
