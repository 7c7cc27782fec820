package testenv

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestRepoRoot(t *testing.T) {
	root := RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("RepoRoot() = %q, no go.mod there: %v", root, err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "testenv", "testenv.go")); err != nil {
		t.Fatalf("RepoRoot() = %q, not this module's root: %v", root, err)
	}
}

// TestDynalite checks that Dynalite returns the endpoint of a working
// DynamoDB API: the real SDK client creates a table there and lists it.
func TestDynalite(t *testing.T) {
	start := time.Now()
	endpoint := Dynalite(t)
	t.Logf("dynalite answered at %s after %v", endpoint, time.Since(start))
	client := dynamodb.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("x", "x", ""),
	}, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
	ctx := t.Context()
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("testenv"),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("k"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("k"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	out, err := client.ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatalf("ListTables: %v", err)
	}
	if !slices.Equal(out.TableNames, []string{"testenv"}) {
		t.Fatalf("ListTables = %q, want [testenv] on a fresh dynalite", out.TableNames)
	}
}

func TestDynaliteStops(t *testing.T) {
	var endpoint string
	t.Run("start", func(t *testing.T) { endpoint = Dynalite(t) })
	if endpoint == "" {
		t.Skip("dynalite not started")
	}
	client := &http.Client{Timeout: time.Second}
	if resp, err := client.Get(endpoint); err == nil {
		resp.Body.Close()
		t.Fatalf("dynalite at %s still answers after its test finished", endpoint)
	}
}

// TestDynaliteAbortedRequest checks that a client closing its connection in
// the middle of a request body, as a Go call whose context ends does, costs
// that request only: dynalite alone threw "Error: aborted" and exited, and
// every later test of the package failed with "connection refused".
func TestDynaliteAbortedRequest(t *testing.T) {
	endpoint := Dynalite(t)
	for range 3 {
		c, err := net.Dial("tcp", strings.TrimPrefix(endpoint, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.0\r\n"+
			"X-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Length: 1000\r\n\r\n{", c.RemoteAddr())
		c.(*net.TCPConn).SetLinger(0) // a reset, as a cancelled request may end
		c.Close()
	}
	client := dynamodb.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("x", "x", ""),
	}, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
	// dynalite handles the aborts before this request on its one thread.
	if _, err := client.ListTables(t.Context(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("ListTables after aborted requests: %v", err)
	}
}
