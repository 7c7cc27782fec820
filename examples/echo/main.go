package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lambdaws/lambdaws/local"
	"github.com/lambdaws/lambdaws/ws"
)

// message is what clients send.
type message struct {
	Action json.RawMessage `json:"action"`
	Data   json.RawMessage `json:"data"`
}

// reply is what the server sends back.
type reply struct {
	Type    string          `json:"type"`
	Data    json.RawMessage `json:"data,omitempty"`
	Message string          `json:"message,omitempty"`
}

func main() {
	addr := flag.String("addr", local.DefaultAddr, "address to serve on when not running in AWS Lambda")
	flag.Parse()

	handle()

	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		lambda.Start(ws.Handler)
		return
	}
	serve := serveLocal
	if *gripMode {
		serve = serveGrip
	}
	if err := serve(*addr); err != nil {
		log.Fatal(err)
	}
}

// handle registers the handlers on ws.DefaultRouter.
func handle() {
	ws.OnConnect(func(ctx context.Context, req *ws.Request) error { return nil })
	ws.OnDisconnect(func(ctx context.Context, req *ws.Request) error { return nil })
	ws.OnRoute("echo", func(ctx context.Context, req *ws.Request) error {
		var m message
		if err := json.Unmarshal(req.Body, &m); err != nil {
			return err
		}
		data := m.Data
		if len(data) == 0 {
			data = json.RawMessage("null")
		}
		return ws.Reply(ctx, reply{Type: "echo", Data: data})
	})
	ws.OnRoute("ping", func(ctx context.Context, req *ws.Request) error {
		return ws.Reply(ctx, reply{Type: "pong"})
	})
	ws.OnMessage(func(ctx context.Context, req *ws.Request) error {
		return ws.Reply(ctx, reply{Type: "error", Message: unknown(req.Body)})
	})
}

// unknown describes a message that selected no route.
func unknown(body []byte) string {
	var m message
	if json.Unmarshal(body, &m) != nil || len(m.Action) == 0 || bytes.Equal(m.Action, []byte("null")) {
		return "Missing action"
	}
	var s string
	if json.Unmarshal(m.Action, &s) != nil {
		s = string(m.Action) // a number or another JSON value, as route selection stringifies it
	}
	return "Unknown action: " + s
}

// serveLocal serves the handlers behind the API Gateway emulator until
// SIGINT or SIGTERM. Routes are one-way (local's default), as in
// template.yaml: the handlers answer through the management API.
func serveLocal(addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := local.Listen(addr)
	if err != nil {
		return err
	}
	fmt.Printf("echo: listening on ws://%s/\n", ln.Addr())
	return local.Serve(ctx, ln, ws.Handler, nil)
}
