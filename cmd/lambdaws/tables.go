package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
)

// tableSchema is the part of AWS::DynamoDB::Table that CreateTable takes;
// CloudFormation's property names are the API's.
type tableSchema struct {
	AttributeDefinitions    []types.AttributeDefinition
	KeySchema               []types.KeySchemaElement
	GlobalSecondaryIndexes  []types.GlobalSecondaryIndex
	LocalSecondaryIndexes   []types.LocalSecondaryIndex
	BillingMode             types.BillingMode
	ProvisionedThroughput   *types.ProvisionedThroughput
	TimeToLiveSpecification *types.TimeToLiveSpecification
}

// createTables creates the tables that do not exist at the DynamoDB endpoint
// AWS_ENDPOINT_URL_DYNAMODB names.
func createTables(ctx context.Context, tables []*sam.Table, out io.Writer) error {
	endpoint := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")
	if endpoint == "" {
		return errors.New("--create-tables creates tables in a local DynamoDB: set AWS_ENDPOINT_URL_DYNAMODB (for example http://127.0.0.1:8000)")
	}
	if len(tables) == 0 {
		fmt.Fprintln(out, "--create-tables: the template has no AWS::DynamoDB::Table")
		return nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
	for _, t := range tables {
		if err := createTable(ctx, client, t, out); err != nil {
			return fmt.Errorf("--create-tables: table %s (%s) at %s: %w", t.Name, t.LogicalID, endpoint, err)
		}
	}
	return nil
}

// schemaOf reads the schema of a table from its properties.
func schemaOf(t *sam.Table) (*tableSchema, error) {
	b, err := json.Marshal(typed(t.Properties))
	if err != nil {
		return nil, err
	}
	var s tableSchema
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("reading its properties: %w", err)
	}
	return &s, nil
}

func createTable(ctx context.Context, client *dynamodb.Client, t *sam.Table, out io.Writer) error {
	_, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &t.Name})
	var notFound *types.ResourceNotFoundException
	switch {
	case err == nil:
		fmt.Fprintf(out, "table %s (%s) exists\n", t.Name, t.LogicalID)
		return nil
	case !errors.As(err, &notFound):
		return err
	}
	s, err := schemaOf(t)
	if err != nil {
		return err
	}
	_, err = client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:              &t.Name,
		AttributeDefinitions:   s.AttributeDefinitions,
		KeySchema:              s.KeySchema,
		GlobalSecondaryIndexes: s.GlobalSecondaryIndexes,
		LocalSecondaryIndexes:  s.LocalSecondaryIndexes,
		BillingMode:            s.BillingMode,
		ProvisionedThroughput:  s.ProvisionedThroughput,
	})
	if err != nil {
		return err
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 100 * time.Millisecond })
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: &t.Name}, 30*time.Second); err != nil {
		return err
	}
	fmt.Fprintf(out, "created table %s (%s)\n", t.Name, t.LogicalID)
	if ttl := s.TimeToLiveSpecification; ttl != nil && aws.ToBool(ttl.Enabled) {
		if _, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: &t.Name, TimeToLiveSpecification: ttl}); err != nil {
			fmt.Fprintf(out, "warning: table %s: TTL on %s not set (the endpoint answered: %v); items do not expire\n", t.Name, aws.ToString(ttl.AttributeName), err)
		}
	}
	return nil
}

// typed turns the strings CloudFormation accepts for the schema's numbers and
// booleans (a Number parameter's value is a string) into numbers and
// booleans.
func typed(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = typed(x)
			str, ok := x.(string)
			if !ok {
				continue
			}
			switch k {
			case "ReadCapacityUnits", "WriteCapacityUnits", "MaxReadRequestUnits", "MaxWriteRequestUnits",
				"ReadUnitsPerSecond", "WriteUnitsPerSecond":
				if n, err := strconv.ParseInt(str, 10, 64); err == nil {
					out[k] = n
				}
			case "Enabled":
				if b, err := strconv.ParseBool(str); err == nil {
					out[k] = b
				}
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = typed(x)
		}
		return out
	}
	return v
}
