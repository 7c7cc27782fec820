package connstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TableAPI is the part of the DynamoDB client (*dynamodb.Client) that
// CreateTable calls.
type TableAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// CreateTable creates a table for the DynamoDB store, with its connections
// index, on-demand billing and TTL on the "ttl" attribute, and waits until it
// is ACTIVE. A table that already exists is not an error. It is meant for
// local runs and tests; production tables come from a template (SCHEMA.md).
//
// DynamoDB emulators without UpdateTimeToLive (dynalite) are accepted: their
// tables simply never expire items.
func CreateTable(ctx context.Context, client TableAPI, table string) error {
	s := func(name string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: ptr(name), AttributeType: types.ScalarAttributeTypeS}
	}
	k := func(name string, t types.KeyType) types.KeySchemaElement {
		return types.KeySchemaElement{AttributeName: ptr(name), KeyType: t}
	}
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            &table,
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{s(attrPK), s(attrSK), s(attrShard), s(attrID)},
		KeySchema:            []types.KeySchemaElement{k(attrPK, types.KeyTypeHash), k(attrSK, types.KeyTypeRange)},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: ptr(indexName),
			KeySchema: []types.KeySchemaElement{k(attrShard, types.KeyTypeHash), k(attrID, types.KeyTypeRange)},
			Projection: &types.Projection{
				ProjectionType:   types.ProjectionTypeInclude,
				NonKeyAttributes: []string{attrTTL},
			},
		}},
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return wrap(err, "create table %q", table)
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = 5 * time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: &table}, 5*time.Minute); err != nil {
		return wrap(err, "wait for table %q", table)
	}

	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &table})
	if err != nil {
		return wrap(err, "describe TTL of table %q", table)
	}
	if d := ttl.TimeToLiveDescription; d != nil && (d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		if d.AttributeName != nil && *d.AttributeName != attrTTL {
			return fmt.Errorf("connstore: table %q has TTL on attribute %q, the store needs %q", table, *d.AttributeName, attrTTL)
		}
		return nil
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               &table,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: ptr(attrTTL), Enabled: ptr(true)},
	})
	if errorCode(err) == "UnknownOperationException" {
		return nil // an emulator without TTL
	}
	if err != nil {
		return wrap(err, "enable TTL on table %q", table)
	}
	return nil
}
