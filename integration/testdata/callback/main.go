// Command callback is a WebSocket function written as CDK, Serverless
// Framework and Terraform apps often are: it answers through the management
// API at the callback URL its environment names (CALLBACK_URL, which the
// template builds from the API's id, region and stage), not from the event,
// and reports the API id it was given (API_ID) and the one in the event.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
)

func handle(ctx context.Context, event events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	rc := event.RequestContext
	if rc.RouteKey == "$connect" || rc.RouteKey == "$disconnect" {
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	}
	user, _ := rc.Authorizer.(map[string]any)["principalId"].(string)
	reply, _ := json.Marshal(map[string]string{
		"apiId":    rc.APIID,
		"envApiId": os.Getenv("API_ID"),
		"callback": os.Getenv("CALLBACK_URL"),
		"endpoint": os.Getenv("API_ENDPOINT"),
		"user":     user,
	})
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	client := apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(os.Getenv("CALLBACK_URL"))
	})
	_, err = client.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: &rc.ConnectionID, Data: reply,
	})
	return events.APIGatewayProxyResponse{StatusCode: 200}, err
}

func main() { lambda.Start(handle) }
