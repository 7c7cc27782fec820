package sender_test

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// fakeClient is an in-memory management API. respond decides the outcome of
// each call from the operation, the id and the attempt number (1-based, per
// operation and id); nil means success.
type fakeClient struct {
	respond func(op, id string, attempt int) error
	delay   time.Duration

	mu       sync.Mutex
	calls    map[string]int // op+" "+id → calls
	total    int
	inFlight int
	maxIn    int
	received map[string][]byte
}

func newFake(respond func(op, id string, attempt int) error) *fakeClient {
	return &fakeClient{respond: respond, calls: map[string]int{}, received: map[string][]byte{}}
}

func (f *fakeClient) call(ctx context.Context, op, id string, data []byte) error {
	f.mu.Lock()
	key := op + " " + id
	f.calls[key]++
	f.total++
	attempt := f.calls[key]
	f.inFlight++
	f.maxIn = max(f.maxIn, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var err error
	if f.respond != nil {
		err = f.respond(op, id, attempt)
	}
	if err == nil && op == "post" {
		f.mu.Lock()
		f.received[id] = append([]byte(nil), data...)
		f.mu.Unlock()
	}
	return err
}

func (f *fakeClient) callsFor(op, id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op+" "+id]
}

func (f *fakeClient) PostToConnection(ctx context.Context, in *apigatewaymanagementapi.PostToConnectionInput, _ ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.PostToConnectionOutput, error) {
	if err := f.call(ctx, "post", aws.ToString(in.ConnectionId), in.Data); err != nil {
		return nil, err
	}
	return &apigatewaymanagementapi.PostToConnectionOutput{}, nil
}

func (f *fakeClient) GetConnection(ctx context.Context, in *apigatewaymanagementapi.GetConnectionInput, _ ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.GetConnectionOutput, error) {
	if err := f.call(ctx, "get", aws.ToString(in.ConnectionId), nil); err != nil {
		return nil, err
	}
	return &apigatewaymanagementapi.GetConnectionOutput{
		ConnectedAt:  aws.Time(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		LastActiveAt: aws.Time(time.Date(2026, 1, 2, 3, 9, 0, 0, time.UTC)),
		Identity:     &types.Identity{SourceIp: aws.String("203.0.113.7"), UserAgent: aws.String("test-agent")},
	}, nil
}

func (f *fakeClient) DeleteConnection(ctx context.Context, in *apigatewaymanagementapi.DeleteConnectionInput, _ ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.DeleteConnectionOutput, error) {
	if err := f.call(ctx, "delete", aws.ToString(in.ConnectionId), nil); err != nil {
		return nil, err
	}
	return &apigatewaymanagementapi.DeleteConnectionOutput{}, nil
}

// sdkError builds an error shaped like the SDK's: an OperationError around a
// ResponseError (carrying the HTTP status) around the API error.
func sdkError(op string, status int, apiErr error) error {
	return &smithy.OperationError{
		ServiceID:     "ApiGatewayManagementApi",
		OperationName: op,
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
				Err:      apiErr,
			},
		},
	}
}

func statusError(status int) error {
	return sdkError("PostToConnection", status, &smithy.GenericAPIError{Code: http.StatusText(status)})
}
