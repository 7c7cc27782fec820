// Command gomake is a Go function that sam build (and lambdaws local)
// builds with its Makefile: it answers "go" messages with its _HANDLER.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lambdaws/lambdaws/ws"
)

func main() {
	ws.OnRoute("go", func(ctx context.Context, req *ws.Request) error {
		return ws.Reply(ctx, "made by make, _HANDLER="+os.Getenv("_HANDLER"))
	})
	lambda.Start(ws.Handler)
}
