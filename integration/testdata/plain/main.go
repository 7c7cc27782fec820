// Command plain is a WebSocket Lambda function written with aws-lambda-go
// and the AWS SDK only, as many deployed ones are: lambdaws local must run it
// unmodified. $connect refuses ?deny=1 with 403; a message is printed to
// stdout and answered through the management API with what the function
// saw of its environment.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
)

func handle(ctx context.Context, event events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	rc := event.RequestContext
	switch rc.RouteKey {
	case "$connect":
		if event.QueryStringParameters["deny"] != "" {
			return events.APIGatewayProxyResponse{StatusCode: 403, Body: "denied"}, nil
		}
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	case "$disconnect":
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	}
	fmt.Printf("plain got %s\n", event.Body)
	reply, _ := json.Marshal(map[string]string{
		"route":    rc.RouteKey,
		"stage":    rc.Stage,
		"stageVar": event.StageVariables["color"],
		"function": os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
		"memory":   os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
		"greeting": os.Getenv("GREETING"),
		"table":    os.Getenv("TABLE"),
		"handler":  os.Getenv("_HANDLER"),
		"logs":     os.Getenv("AWS_LAMBDA_LOG_FORMAT") + " " + os.Getenv("AWS_LAMBDA_LOG_LEVEL"),
	})
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	// The management API of the API that sent the event; plain HTTP when
	// the domain is a loopback address (a local emulator).
	scheme := "https"
	if host, _, _ := net.SplitHostPort(rc.DomainName); net.ParseIP(host).IsLoopback() {
		scheme = "http"
	}
	client := apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(scheme + "://" + rc.DomainName + "/" + rc.Stage)
	})
	_, err = client.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: &rc.ConnectionID, Data: reply,
	})
	return events.APIGatewayProxyResponse{StatusCode: 200}, err
}

func main() { lambda.Start(handle) }
