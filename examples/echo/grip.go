package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/lambdaws/lambdaws/grip"
	"github.com/lambdaws/lambdaws/local"
)

var gripMode = flag.Bool("grip", false, "serve the handlers as a GRIP back end for Pushpin/Fanout (WebSocket-over-HTTP) on -addr")

// serveGrip serves the handlers behind Pushpin or Fanout until SIGINT or
// SIGTERM:
//
//	go run ./examples/echo -grip -addr 127.0.0.1:8080 &
//	pushpin --route '* 127.0.0.1:8080,over_http'   # clients: ws://127.0.0.1:7999/
func serveGrip(addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts, err := grip.OptionsFromEnv() // GRIP_URL, GRIP_VERIFY_KEY, GRIP_VERIFY_ISS, GRIP_PREFIX
	if err != nil {
		return err
	}
	h, err := grip.New(nil, opts)
	if err != nil {
		return err
	}
	ln, err := local.Listen(addr)
	if err != nil {
		return err
	}
	fmt.Printf("echo: GRIP back end on http://%s/\n", ln.Addr())
	fmt.Printf("echo: start pushpin --route '* %s,over_http' and connect to ws://127.0.0.1:7999/\n", ln.Addr())
	return h.Serve(ctx, ln)
}
