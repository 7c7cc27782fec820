package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
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

// createTables creates the tables of the template that do not exist at the
// DynamoDB endpoint of db. A DynamoDB lambdaws started takes any
// credentials; another uses this shell's.
func createTables(ctx context.Context, db *dynamoDB, tables []*sam.Table, out io.Writer) error {
	if len(tables) == 0 {
		return nil
	}
	cfg := aws.Config{Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
	if !db.started {
		var err error
		if cfg, err = config.LoadDefaultConfig(ctx); err != nil {
			return err
		}
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(db.endpoint) })
	for _, t := range tables {
		if err := createTable(ctx, client, t, !db.started, out); err != nil {
			return fmt.Errorf("table %s (%s) at %s: %w", t.Name, t.LogicalID, db.endpoint, err)
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

// createTable creates t unless it exists, and sets its TTL if ttl (dynalite
// has no TTL).
func createTable(ctx context.Context, client *dynamodb.Client, t *sam.Table, ttl bool, out io.Writer) error {
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
	switch spec := s.TimeToLiveSpecification; {
	case spec == nil || !aws.ToBool(spec.Enabled):
	case !ttl:
		fmt.Fprintf(out, "note: table %s: the local DynamoDB does not expire items (TTL on %s)\n", t.Name, aws.ToString(spec.AttributeName))
	default:
		if _, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: &t.Name, TimeToLiveSpecification: spec}); err != nil {
			fmt.Fprintf(out, "warning: table %s: TTL on %s not set (the endpoint answered: %v); items do not expire\n", t.Name, aws.ToString(spec.AttributeName), err)
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
