package connstore_test

import (
	"context"
	"fmt"

	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/lambdaws/lambdaws/connstore"
	"github.com/lambdaws/lambdaws/connstore/storetest"
	"github.com/lambdaws/lambdaws/internal/testenv"
)

// newClient returns the real SDK client pointed at endpoint.
func newClient(endpoint string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("x", "x", ""),
	}
	return dynamodb.NewFromConfig(cfg, append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	}}, optFns...)...)
}

var tableSeq atomic.Int64

// newTable creates a fresh table on the dynalite at endpoint.
func newTable(t testing.TB, client *dynamodb.Client) string {
	t.Helper()
	table := fmt.Sprintf("connections-%d", tableSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := connstore.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	return table
}

func TestDynamoDB(t *testing.T) {
	endpoint := testenv.Dynalite(t)
	client := newClient(endpoint)
	storetest.Run(t, func(t *testing.T) connstore.Store {
		// A small page size, so that every listing crosses pages.
		return connstore.NewDynamoDB(client, newTable(t, client), &connstore.DynamoDBOptions{PageSize: 7, Shards: 3})
	})
}

func TestCreateTableTwice(t *testing.T) {
	client := newClient(testenv.Dynalite(t))
	table := newTable(t, client)
	if err := connstore.CreateTable(t.Context(), client, table); err != nil {
		t.Fatalf("second CreateTable: %v", err)
	}
}
