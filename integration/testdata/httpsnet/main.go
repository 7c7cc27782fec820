// Command httpsnet is a WebSocket Lambda function that answers a message
// with Go's default HTTP client, POSTing to
// https://{domainName}/{stage}/@connections/{connectionId}. lambdaws local
// must serve it unmodified.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, event events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	rc := event.RequestContext
	if rc.EventType != "MESSAGE" {
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	}
	u := "https://" + rc.DomainName + "/" + rc.Stage + "/@connections/" + url.PathEscape(rc.ConnectionID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader("httpsnet: "+event.Body))
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return events.APIGatewayProxyResponse{}, fmt.Errorf("POST %s: %s %s", u, resp.Status, body)
	}
	return events.APIGatewayProxyResponse{StatusCode: 200}, nil
}

func main() { lambda.Start(handle) }
