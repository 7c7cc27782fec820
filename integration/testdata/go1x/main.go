// Command go1x is a Lambda function of the go1.x era: built with
// aws-lambda-go v1.17.0 (its own module, so that the main module's version
// is untouched), it speaks only the go1.x runtime's RPC protocol. It listens
// on _LAMBDA_SERVER_PORT and never asks the Runtime API for an invocation.
//
// It does what a command says: {"op", "arg", "ms"}, as an invocation's
// payload or as the body of an API Gateway WebSocket message (a body that is
// not JSON reads "op arg"), answering the message two-way.
// It answers with its pid, its Lambda context and, for "env", its
// environment. GO1X_INIT fails the init: "exit" exits with status 3, "hang"
// never listens.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type command struct {
	Op  string `json:"op"`
	Arg string `json:"arg"`
	Ms  int    `json:"ms"`
}

type reply struct {
	Arg       string            `json:"arg"`
	Pid       int               `json:"pid"`
	RequestID string            `json:"requestId"`
	ARN       string            `json:"arn"`
	Deadline  int64             `json:"deadline"` // ms until ctx's deadline
	TraceID   string            `json:"traceId"`
	Env       map[string]string `json:"env,omitempty"`
}

func run(ctx context.Context, c command) (reply, error) {
	r := reply{Arg: c.Arg, Pid: os.Getpid(), TraceID: os.Getenv("_X_AMZN_TRACE_ID")}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.RequestID, r.ARN = lc.AwsRequestID, lc.InvokedFunctionArn
	}
	if d, ok := ctx.Deadline(); ok {
		r.Deadline = time.Until(d).Milliseconds()
	}
	switch c.Op {
	case "sleep":
		time.Sleep(time.Duration(c.Ms) * time.Millisecond)
	case "hang":
		select {} // ignores ctx, as a stuck call would
	case "error":
		return r, errors.New(c.Arg)
	case "panic":
		panic(c.Arg)
	case "exit":
		os.Exit(1)
	case "big":
		r.Arg = strings.Repeat("x", c.Ms<<20)
	case "print":
		fmt.Println(c.Arg)
	case "env":
		r.Env = map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			r.Env[k] = v
		}
	}
	return r, nil
}

// event is a command, or an API Gateway WebSocket event.
type event struct {
	command
	events.APIGatewayWebsocketProxyRequest
}

func handle(ctx context.Context, ev event) (interface{}, error) {
	if ev.RequestContext.RouteKey == "" {
		return run(ctx, ev.command)
	}
	if ev.RequestContext.EventType != "MESSAGE" {
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	}
	var c command
	if json.Unmarshal([]byte(ev.Body), &c) != nil {
		c.Op, c.Arg, _ = strings.Cut(ev.Body, " ")
	}
	r, err := run(ctx, c)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(r)
	return events.APIGatewayProxyResponse{StatusCode: 200, Body: string(body)}, nil
}

func main() {
	switch os.Getenv("GO1X_INIT") {
	case "exit":
		os.Exit(3)
	case "hang":
		select {}
	}
	lambda.Start(handle)
}
