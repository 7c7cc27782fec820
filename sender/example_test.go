package sender_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"

	"github.com/lambdaws/lambdaws/sender"
)

func ExampleEncode() {
	for _, v := range []any{
		"plain text",
		[]byte("raw bytes"),
		map[string]string{"action": "joined"},
	} {
		b, _ := sender.Encode(v)
		fmt.Println(string(b))
	}
	// Output:
	// plain text
	// raw bytes
	// {"action":"joined"}
}

func ExampleResolveEndpoint() {
	// The local emulator: plain HTTP to the host and port the client dialled.
	fmt.Println(sender.ResolveEndpoint(events.APIGatewayWebsocketProxyRequestContext{
		DomainName: "127.0.0.1:8080", Stage: "local", APIID: "local",
	}))
	// Output: http://127.0.0.1:8080/local
}

// printClient is a stand-in for *apigatewaymanagementapi.Client: it prints
// what it would send; "c2" is a closed connection.
type printClient struct{}

func (printClient) PostToConnection(_ context.Context, in *apigatewaymanagementapi.PostToConnectionInput, _ ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.PostToConnectionOutput, error) {
	if aws.ToString(in.ConnectionId) == "c2" {
		return nil, &types.GoneException{}
	}
	return &apigatewaymanagementapi.PostToConnectionOutput{}, nil
}

func (printClient) GetConnection(context.Context, *apigatewaymanagementapi.GetConnectionInput, ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.GetConnectionOutput, error) {
	return nil, &types.GoneException{}
}

func (printClient) DeleteConnection(context.Context, *apigatewaymanagementapi.DeleteConnectionInput, ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.DeleteConnectionOutput, error) {
	return &apigatewaymanagementapi.DeleteConnectionOutput{}, nil
}

func ExampleClient_Broadcast() {
	// In a Lambda function: sender.NewForEndpoint(sender.ResolveEndpoint(event.RequestContext), nil).
	s := sender.New(printClient{}, nil)
	ctx := context.Background()

	if err := s.Send(ctx, "c2", []byte("hi")); errors.Is(err, sender.ErrGone) {
		fmt.Println("c2 is gone")
	}

	// A store would yield its members page by page.
	members := func(yield func(string, error) bool) {
		for _, id := range []string{"c1", "c2", "c3", "c4"} {
			if !yield(id, nil) {
				return
			}
		}
	}
	res, err := s.Broadcast(ctx, members, []byte(`{"text":"hello"}`), &sender.BroadcastOptions{
		Skip: "c1", // the connection the message came from
		OnGone: func(_ context.Context, id string) {
			fmt.Println("delete", id, "from the store") // may run concurrently with other calls
		},
	})
	fmt.Println(res.Sent, "sent,", res.Gone, "gone,", res.Failed, "failed;", err)
	// Output:
	// c2 is gone
	// delete c2 from the store
	// 2 sent, 1 gone, 0 failed; <nil>
}
