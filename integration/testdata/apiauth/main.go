// Command apiauth is a Lambda REQUEST authorizer written as many are: it
// allows a connection with ?token=letmein on the resource it builds from
// the API id in its environment (API_ID, the template's Ref of the API),
// not from the event's methodArn, so it allows only if the two agree.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, event events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	effect := "Deny"
	if event.QueryStringParameters["token"] == "letmein" {
		effect = "Allow"
	}
	resource := "arn:aws:execute-api:" + os.Getenv("AWS_REGION") + ":*:" + os.Getenv("API_ID") + "/*"
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: "ann",
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version:   "2012-10-17",
			Statement: []events.IAMPolicyStatement{{Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{resource}}},
		},
	}, nil
}

func main() { lambda.Start(handle) }
