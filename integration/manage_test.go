//go:build unix

package integration

import (
	"errors"
	"github.com/lambdaws/lambdaws/internal/testenv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/coder/websocket"
)

// managementClient is the real SDK client for the management API of the
// emulator at addr (stage "local"), as a back-end job would build it.
func managementClient(addr string) *apigatewaymanagementapi.Client {
	return apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String("http://" + addr + "/local"),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer:      aws.NopRetryer{},
	})
}

// TestManagementAPI calls POST, GET and DELETE @connections on the running
// echo example with the real SDK client, then sees 410 GoneException for
// each once the connection is closed.
func TestManagementAPI(t *testing.T) {
	testenv.Integration(t, "the example echo")
	p := startExample(t, "echo", nil)
	ctx := testContext(t, time.Minute)
	c := dial(t, ctx, "c", p.URL, &websocket.DialOptions{HTTPHeader: map[string][]string{"User-Agent": {"integration-test/1"}}})
	m, err := p.waitLog(connectLine, 1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	id := m[0][1]
	api := managementClient(p.Addr)

	if _, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: &id, Data: []byte("from the back end")}); err != nil {
		t.Fatalf("PostToConnection: %v", err)
	}
	c.expect("from the back end")

	info, err := api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: &id})
	if err != nil {
		t.Fatalf("GetConnection: %v", err)
	}
	if info.ConnectedAt == nil || time.Since(*info.ConnectedAt) > time.Minute || info.LastActiveAt == nil ||
		info.Identity == nil || aws.ToString(info.Identity.SourceIp) != "127.0.0.1" || aws.ToString(info.Identity.UserAgent) != "integration-test/1" {
		t.Fatalf("GetConnection: connectedAt %v lastActiveAt %v identity %+v", info.ConnectedAt, info.LastActiveAt, info.Identity)
	}

	if _, err := api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: &id}); err != nil {
		t.Fatalf("DeleteConnection: %v", err)
	}
	if code := c.closed(); code != websocket.StatusNormalClosure {
		t.Fatalf("after DeleteConnection the client saw %v (%v), want 1000", code, c.err)
	}

	gone := func(op string, err error) {
		t.Helper()
		var g *types.GoneException
		if !errors.As(err, &g) {
			t.Errorf("%s after close: %v, want GoneException", op, err)
		}
	}
	_, err = api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: &id, Data: []byte("late")})
	gone("PostToConnection", err)
	_, err = api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: &id})
	gone("GetConnection", err)
	_, err = api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: &id})
	gone("DeleteConnection", err)
	unknown := "AAAAAAAAAAAAAAA="
	_, err = api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: &unknown, Data: []byte("x")})
	gone("PostToConnection to an unknown id", err)

	// A payload over 131072 bytes is refused with 413 (PayloadTooLargeException).
	c2 := dial(t, ctx, "c2", p.URL, nil)
	m, err = p.waitLog(connectLine, 2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	id2 := m[1][1]
	_, err = api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: &id2, Data: make([]byte, 131073)})
	var tooLarge *types.PayloadTooLargeException
	if !errors.As(err, &tooLarge) {
		t.Errorf("PostToConnection of 131073 bytes: %v, want PayloadTooLargeException", err)
	}
	c2.send(ctx, `{"action":"ping"}`)
	c2.expect(`{"type":"pong"}`)
}
