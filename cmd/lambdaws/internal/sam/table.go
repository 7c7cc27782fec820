package sam

import (
	"fmt"
	"slices"
	"strings"
)

// Table is an AWS::DynamoDB::Table (or AWS::Serverless::SimpleTable, given
// in DynamoDB::Table form).
type Table struct {
	LogicalID string
	Name      string
	// Properties are the table's properties that describe its schema,
	// resolved: AttributeDefinitions, KeySchema, GlobalSecondaryIndexes,
	// LocalSecondaryIndexes, BillingMode, ProvisionedThroughput,
	// TimeToLiveSpecification.
	Properties map[string]any
}

// tableProperties are the properties of AWS::DynamoDB::Table that describe
// its schema.
var tableProperties = []string{"AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes",
	"LocalSecondaryIndexes", "BillingMode", "ProvisionedThroughput", "TimeToLiveSpecification"}

func (l *loader) readTables() error {
	for _, id := range l.ofType("AWS::DynamoDB::Table") {
		res := l.r.resources[id]
		t := &Table{LogicalID: id, Properties: map[string]any{}}
		name, err := l.r.ref(id)
		if err != nil {
			return fmt.Errorf("table %s, property TableName: %w", id, err)
		}
		t.Name = name.(string)
		for _, p := range tableProperties {
			if v, ok := res.Properties[p]; ok {
				x, err := l.r.resolve(v)
				if err != nil {
					return fmt.Errorf("table %s, property %s: %w", id, p, err)
				}
				if x != noValue {
					t.Properties[p] = x
				}
			}
		}
		l.t.Tables = append(l.t.Tables, t)
	}
	for _, id := range l.ofType("AWS::Serverless::SimpleTable") {
		props := l.r.resources[id].Properties
		name, err := l.r.ref(id)
		if err != nil {
			return fmt.Errorf("table %s, property TableName: %w", id, err)
		}
		key := map[string]any{"Name": "id", "Type": "String"}
		if pk := props["PrimaryKey"]; pk != nil {
			x, err := l.r.resolve(pk)
			if err != nil || mapOf(x) == nil {
				return fmt.Errorf("table %s, property PrimaryKey: %v", id, cmpErr(err, "not a mapping"))
			}
			key = mapOf(x)
		}
		typ := map[string]string{"String": "S", "Number": "N", "Binary": "B"}[fmt.Sprint(key["Type"])]
		if typ == "" {
			return fmt.Errorf("table %s, property PrimaryKey: Type %v is not String, Number or Binary", id, key["Type"])
		}
		t := &Table{LogicalID: id, Name: name.(string), Properties: map[string]any{
			"AttributeDefinitions": []any{map[string]any{"AttributeName": key["Name"], "AttributeType": typ}},
			"KeySchema":            []any{map[string]any{"AttributeName": key["Name"], "KeyType": "HASH"}},
			"BillingMode":          "PAY_PER_REQUEST",
		}}
		l.t.Tables = append(l.t.Tables, t)
	}
	slices.SortFunc(l.t.Tables, func(a, b *Table) int { return strings.Compare(a.LogicalID, b.LogicalID) })
	return nil
}

func cmpErr(err error, def string) string {
	if err != nil {
		return err.Error()
	}
	return def
}
