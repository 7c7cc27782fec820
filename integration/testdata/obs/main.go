// Command obs is a lambdaws function for the logs-and-metrics test: its
// template sets LoggingConfig JSON and a metrics namespace. A message
// {"count": n} is answered "ok"; any other body fails DecodeJSON.
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/lambdaws/lambdaws/ws"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	ws.OnMessage(func(ctx context.Context, req *ws.Request) error {
		var m struct {
			Count int `json:"count"`
		}
		if err := req.DecodeJSON(&m); err != nil {
			return err
		}
		slog.DebugContext(ctx, "below the level")
		slog.InfoContext(ctx, "counted", "count", m.Count)
		return ws.Reply(ctx, "ok")
	})
	lambda.Start(ws.Handler)
}
