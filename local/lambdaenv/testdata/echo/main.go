// Command echo is a plain aws-lambda-go function for the tests of local's
// Runtime API: it does what the event's "op" says and reports its pid and
// when it ran.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

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
	Start     int64             `json:"start"` // Unix ns
	End       int64             `json:"end"`
	RequestID string            `json:"requestId"`
	ARN       string            `json:"arn"`
	Deadline  int64             `json:"deadline"` // ms until ctx's deadline
	Env       map[string]string `json:"env,omitempty"`
}

func handle(ctx context.Context, c command) (reply, error) {
	r := reply{Arg: c.Arg, Pid: os.Getpid(), Start: time.Now().UnixNano()}
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
	case "print":
		fmt.Println(c.Arg)
		fmt.Fprint(os.Stderr, "to stderr\nno newline")
	case "env":
		r.Env = map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			r.Env[k] = v
		}
	}
	r.End = time.Now().UnixNano()
	return r, nil
}

func main() {
	lambda.Start(handle)
}
