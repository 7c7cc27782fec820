// Command wsecho is a WebSocket API function that uses aws-lambda-go only,
// for the gateway tests that serve routes with an unmodified binary: it
// accepts handshakes with a token, answers a message with its body, its pid
// and when it ran, hangs or exits when asked, and prints $disconnect's close
// code.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	switch ev.RequestContext.EventType {
	case "CONNECT":
		if ev.QueryStringParameters["token"] == "" {
			return events.APIGatewayProxyResponse{StatusCode: 401, Body: "no token"}, nil
		}
	case "DISCONNECT":
		fmt.Println("disconnect", ev.RequestContext.DisconnectStatusCode)
	case "MESSAGE":
		start := time.Now()
		switch cmd, arg, _ := strings.Cut(ev.Body, " "); cmd {
		case "sleep":
			d, _ := time.ParseDuration(arg)
			time.Sleep(d)
		case "hang":
			select {}
		case "exit":
			os.Exit(3)
		}
		b, _ := json.Marshal(map[string]any{"body": ev.Body, "pid": os.Getpid(), "start": start.UnixNano(), "end": time.Now().UnixNano()})
		return events.APIGatewayProxyResponse{StatusCode: 200, Body: string(b)}, nil
	}
	return events.APIGatewayProxyResponse{StatusCode: 200}, nil
}

func main() {
	lambda.Start(handle)
}
