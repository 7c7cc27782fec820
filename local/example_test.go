package local_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/local"
	"github.com/lambdaws/lambdaws/local/lambdaenv"
)

// An echo function on a two-way route, served on a port chosen by the
// system, with a page at GET / on the same address.
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
			// $default with a route response, so that the client gets
			// what echo returns; routes are one-way by default, as on AWS.
			Routes:   map[string]local.Route{"$connect": {}, "$disconnect": {}, "$default": {TwoWay: true}},
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

// Per-route functions and a Lambda authorizer: $connect needs ?token=secret,
// and the authorizer's context reaches every later event.
func ExampleNew_authorizer() {
	authorize := func(ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		if ev.QueryStringParameters["token"] != "secret" {
			return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized") // 401
		}
		return events.APIGatewayCustomAuthorizerResponse{
			PrincipalID: "ann",
			PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{
				{Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{ev.MethodArn}},
			}},
			Context: map[string]any{"plan": "pro"},
		}, nil
	}
	whoami := func(ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		auth := ev.RequestContext.Authorizer.(map[string]any)
		return events.APIGatewayProxyResponse{StatusCode: 200, Body: fmt.Sprint(auth["principalId"], " on ", auth["plan"])}, nil
	}
	quiet := slog.New(slog.DiscardHandler)
	auth := lambdaenv.New(authorize, &lambdaenv.Options{Name: "auth", Logger: quiet})
	defer auth.Close() // the caller's Functions: closed after the Gateway
	me := lambdaenv.New(whoami, &lambdaenv.Options{Name: "whoami", Logger: quiet})
	defer me.Close()
	g := local.New(nil, &local.Options{
		Routes:     map[string]local.Route{"$default": {Function: me, TwoWay: true}},
		Authorizer: &local.Authorizer{Function: auth, IdentitySource: []string{"route.request.querystring.token"}},
		Logger:     quiet,
	})
	srv := httptest.NewServer(g)
	defer srv.Close()
	defer g.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	ctx := context.Background()

	_, resp, _ := websocket.Dial(ctx, url, nil)
	fmt.Println(resp.StatusCode) // no token: refused without invoking the authorizer
	_, resp, _ = websocket.Dial(ctx, url+"?token=wrong", nil)
	fmt.Println(resp.StatusCode)

	c, _, err := websocket.Dial(ctx, url+"?token=secret", nil)
	if err != nil {
		panic(err)
	}
	defer c.CloseNow()
	c.Write(ctx, websocket.MessageText, []byte("who am I?"))
	_, reply, _ := c.Read(ctx)
	fmt.Println(string(reply))
	// Output:
	// 401
	// 401
	// ann on pro
}
