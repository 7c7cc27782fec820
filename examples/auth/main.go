package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lambdaws/lambdaws/ws"
)

// user is who the authorizer let in: the "user" key of its context, which
// API Gateway repeats on every event of the connection.
func user(req *ws.Request) string {
	name, _ := req.AuthorizerContext()["user"].(string)
	return name
}

func main() {
	ws.OnConnect(func(ctx context.Context, req *ws.Request) error {
		if user(req) == "" { // only when the route has no authorizer: a setup mistake
			return fmt.Errorf("no authorizer context on $connect")
		}
		return nil
	})
	ws.OnDisconnect(func(ctx context.Context, req *ws.Request) error { return nil })
	ws.OnMessage(func(ctx context.Context, req *ws.Request) error {
		return ws.Reply(ctx, user(req)+": "+string(req.Body))
	})

	if os.Getenv("AWS_LAMBDA_RUNTIME_API") == "" {
		fmt.Fprintln(os.Stderr, "auth: this is a Lambda function; run it with its authorizer:\n\n"+
			"  go run ./cmd/lambdaws local --template examples/auth/template.yaml")
		os.Exit(2)
	}
	lambda.Start(ws.Handler)
}
