// Command afterconnect is a lambdaws function for the AfterConnect tests
// (TestLocalAfterConnect): it greets each connection with
// {"welcome":"<connection id>"} from ws.AfterConnect, refuses a $connect
// with ?deny=1 (403), and answers "ping" with "pong". It prints one line per
// AfterConnect run ("greeted <id>") and one per 410 answer of the
// management API ("410 <op> <id>"), which the test counts. With ?late=1 its
// first GetConnection waits 500 ms, so that a client closing at once is gone
// by then.
package main

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lambdaws/lambdaws/sender"
	"github.com/lambdaws/lambdaws/ws"
)

func main() {
	ws.DefaultRouter.Sender = &counting{}
	ws.OnConnect(func(ctx context.Context, req *ws.Request) error {
		if req.Query("deny") != "" {
			return ws.Reject(http.StatusForbidden, "denied")
		}
		return nil
	})
	ws.OnMessage(func(ctx context.Context, req *ws.Request) error { return ws.Reply(ctx, "pong") })
	ws.AfterConnect(func(ctx context.Context, req *ws.Request) error {
		fmt.Println("greeted", req.ConnectionID)
		return ws.Reply(ctx, map[string]string{"welcome": req.ConnectionID})
	})
	lambda.Start(ws.Handler)
}

// counting is the management API client of the request's endpoint,
// printing its 410 answers.
type counting struct{ pool sender.Pool }

func (c *counting) client(ctx context.Context) *sender.Client {
	req, _ := ws.RequestFromContext(ctx)
	return c.pool.Get(sender.ResolveEndpoint(req.Event.RequestContext))
}

func note(op, id string, err error) error {
	if errors.Is(err, sender.ErrGone) {
		fmt.Println("410", op, id)
	}
	return err
}

func (c *counting) Send(ctx context.Context, id string, data []byte) error {
	return note("post", id, c.client(ctx).Send(ctx, id, data))
}

func (c *counting) Close(ctx context.Context, id string) error {
	return note("delete", id, c.client(ctx).Close(ctx, id))
}

func (c *counting) Info(ctx context.Context, id string) (*sender.Info, error) {
	if req, _ := ws.RequestFromContext(ctx); req.Query("late") != "" && req.RouteKey == "$afterconnect" {
		time.Sleep(500 * time.Millisecond)
	}
	info, err := c.client(ctx).Info(ctx, id)
	return info, note("get", id, err)
}

func (c *counting) Broadcast(ctx context.Context, ids iter.Seq2[string, error], data []byte, opts *sender.BroadcastOptions) (sender.Result, error) {
	return c.client(ctx).Broadcast(ctx, ids, data, opts)
}
