// Command sdkv1 is a WebSocket Lambda function written with aws-sdk-go v1,
// as many deployed ones are: it answers a message through the management
// API at {domainName}/{stage}, a URL without a scheme, which v1 completes
// with https://. lambdaws local must serve it unmodified, and warn that v1
// ignores AWS_ENDPOINT_URL_* (its DynamoDB calls would reach AWS).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/apigatewaymanagementapi"
)

var sess = session.Must(session.NewSession())

func handle(ctx context.Context, event events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	rc := event.RequestContext
	if rc.EventType == "MESSAGE" {
		api := apigatewaymanagementapi.New(sess, aws.NewConfig().WithEndpoint(rc.DomainName+"/"+rc.Stage))
		_, err := api.PostToConnectionWithContext(ctx, &apigatewaymanagementapi.PostToConnectionInput{
			ConnectionId: aws.String(rc.ConnectionID),
			Data:         []byte("sdkv1: " + event.Body),
		})
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
	}
	return events.APIGatewayProxyResponse{StatusCode: 200}, nil
}

func main() { lambda.Start(handle) }
