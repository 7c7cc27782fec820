package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/lambdaws/lambdaws/sender"
	"github.com/lambdaws/lambdaws/ws"
	"github.com/lambdaws/lambdaws/ws/wstest"
)

// loadEvent reads a real API Gateway event from testdata.
func loadEvent(name string) events.APIGatewayWebsocketProxyRequest {
	b, err := os.ReadFile("testdata/" + name + ".json")
	if err != nil {
		panic(err)
	}
	var e events.APIGatewayWebsocketProxyRequest
	if err := json.Unmarshal(b, &e); err != nil {
		panic(err)
	}
	return e
}

// Handlers are plain functions registered per route. In a Lambda binary the
// last line of main is lambda.Start(ws.Handler) (or r.Handler for an
// explicit router); here we call the handler with a real event.
func ExampleRouter() {
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error { return nil })
	r.OnMessage(func(ctx context.Context, req *ws.Request) error {
		var msg map[string]int
		if err := req.DecodeJSON(&msg); err != nil {
			return err // answered 400
		}
		return req.Respond(map[string]int{"a+1": msg["a"] + 1})
	})

	resp, _ := r.Handler(context.Background(), loadEvent("message"))
	fmt.Println(resp.StatusCode, resp.Body)
	// Output: 200 {"a+1":2}
}

// Custom routes are served whether API Gateway selected them or the message
// arrived on $default with a matching "action".
func ExampleRouter_OnRoute() {
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error { return nil })
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return req.Respond("default") })
	r.OnRoute("sendmessage", func(ctx context.Context, req *ws.Request) error {
		var msg struct{ Data string }
		if err := req.DecodeJSON(&msg); err != nil {
			return err
		}
		return req.Respond("got " + msg.Data)
	})

	e := loadEvent("sendmessage")
	resp, _ := r.Handler(context.Background(), e)
	fmt.Println(resp.Body)

	e.RequestContext.RouteKey = "$default" // an API that defines only $default
	resp, _ = r.Handler(context.Background(), e)
	fmt.Println(resp.Body)
	// Output:
	// got hello, world
	// got hello, world
}

// OnConnect refuses a handshake with ws.Reject, and picks a subprotocol.
func ExampleReject() {
	r := ws.NewRouter()
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return nil })
	r.OnConnect(func(ctx context.Context, req *ws.Request) error {
		if req.Query("token") != "s3cret" {
			return ws.Reject(http.StatusUnauthorized, "missing token")
		}
		if req.SelectSubprotocol("chat.v1") == "" {
			return ws.Reject(http.StatusBadRequest, "chat.v1 required")
		}
		return nil
	})

	e := loadEvent("connect") // offers "chat.v2, chat.v1" with token=s3cret
	resp, _ := r.Handler(context.Background(), e)
	fmt.Println(resp.StatusCode, resp.Headers["Sec-WebSocket-Protocol"])

	e.QueryStringParameters, e.MultiValueQueryStringParameters = nil, nil
	resp, _ = r.Handler(context.Background(), e)
	fmt.Println(resp.StatusCode, resp.Body)
	// Output:
	// 200 chat.v1
	// 401 missing token
}

// Greeter embeds ws.Server and overrides only OnMessage.
type Greeter struct {
	ws.Server
	greeted int
}

func (g *Greeter) OnMessage(ctx context.Context, req *ws.Request) error {
	g.greeted++
	return req.Respond(fmt.Sprintf("hello #%d from %s", g.greeted, req.SourceIP()))
}

func ExampleRouter_Register() {
	r := ws.NewRouter()
	r.Register(&Greeter{})

	for range 2 {
		resp, _ := r.Handler(context.Background(), loadEvent("message"))
		fmt.Println(resp.Body)
	}
	// Output:
	// hello #1 from 49.105.91.154
	// hello #2 from 49.105.91.154
}

// printSender is a stand-in ws.Sender that prints what it would send; the
// other methods are not called here.
type printSender struct{ ws.Sender }

// Info reports every connection open.
func (printSender) Info(context.Context, string) (*sender.Info, error) { return &sender.Info{}, nil }

func (printSender) Send(_ context.Context, connectionID string, data []byte) error {
	fmt.Printf("to %s: %s\n", connectionID, data)
	return nil
}

// Outside a handler (an SQS consumer, a scheduled Lambda) no event names the
// API: set WEBSOCKET_API_GATEWAY_ENDPOINT, or choose the Sender with
// ContextWithSender, in production sender.NewForEndpoint(url, nil).
func ExampleContextWithSender() {
	ctx := ws.ContextWithSender(context.Background(), printSender{})
	if err := ws.SendMessage(ctx, "abc=", map[string]string{"type": "reminder"}); err != nil {
		fmt.Println(err)
	}
	// Output: to abc=: {"type":"reminder"}
}

// A function's own log lines can share the format of lambdaws's: when the
// function's LoggingConfig sets LogFormat JSON, Lambda sets
// AWS_LAMBDA_LOG_FORMAT=JSON and lambdaws logs through aws-lambda-go's
// lambdacontext.NewLogger: one JSON object per line with "timestamp",
// "level", "message" and the invocation's "requestId", at the level of
// AWS_LAMBDA_LOG_LEVEL. Make it the default logger and pass the handler's
// context:
//
//	{"timestamp":"…","level":"INFO","message":"joined","room":"lobby","requestId":"8f5c0bd4-…"}
func Example_jsonLogs() {
	if os.Getenv("AWS_LAMBDA_LOG_FORMAT") == "JSON" {
		slog.SetDefault(lambdacontext.NewLogger())
	}
	r := ws.NewRouter()
	r.OnRoute("join", func(ctx context.Context, req *ws.Request) error {
		slog.InfoContext(ctx, "joined", "room", "lobby", "connectionId", req.ConnectionID)
		return nil
	})
	r.OnMessage(func(context.Context, *ws.Request) error { return nil })
	// lambda.Start(r.Handler)
}

// A welcome message: the handler runs once API Gateway has opened the
// connection, in an asynchronous invocation of the same function. On AWS,
// lambda.Start(ws.Handler) serves both; here the AfterConnect event is
// served by hand, with a Sender that prints.
func ExampleRouter_AfterConnect() {
	r := ws.NewRouter()
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return nil })
	r.AfterConnect(func(ctx context.Context, req *ws.Request) error {
		return ws.Reply(ctx, map[string]string{"type": "welcome", "id": req.ConnectionID})
	})
	r.Sender = printSender{}
	r.Handler(context.Background(), wstest.AfterConnect(loadEvent("connect"))) // the event the $connect invokes it with
	// Output:
	// to Dwz4leekPHcCG6Q=: {"id":"Dwz4leekPHcCG6Q=","type":"welcome"}
}
