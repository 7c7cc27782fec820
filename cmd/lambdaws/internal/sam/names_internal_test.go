package sam

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestPropertiesData checks properties.yaml, the extract of the published
// schemas, against what this package reads: every type it reads has its
// names, every property it reads is one of them, and SAM's Globals take
// only properties of their resource type.
func TestPropertiesData(t *testing.T) {
	known := knownNames()
	// Every AWS:: type the reader names.
	files, _ := filepath.Glob("*.go")
	typeName := regexp.MustCompile(`"(AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)"`)
	var read []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range typeName.FindAllSubmatch(src, -1) {
			read = append(read, string(m[1]))
		}
	}
	if len(read) < 8 {
		t.Fatalf("found only the types %s in the reader", read)
	}
	for _, typ := range read {
		if _, ok := known.Types[typ]; !ok {
			t.Errorf("the reader reads %s; properties.yaml has no names for it", typ)
		}
	}
	// The properties the reader reads.
	for typ, props := range map[string][]string{
		"AWS::Serverless::Function":        {"CodeUri", "Handler", "Runtime", "MemorySize", "Timeout", "Environment", "LoggingConfig", "PackageType", "FunctionName"},
		"AWS::Lambda::Function":            {"Code", "Handler", "Runtime", "MemorySize", "Timeout", "Environment", "LoggingConfig", "PackageType", "FunctionName"},
		"AWS::Serverless::WebSocketApi":    {"RouteSelectionExpression", "StageName", "StageVariables", "Routes", "Auth"},
		"AWS::Serverless::SimpleTable":     {"PrimaryKey", "TableName"},
		"AWS::ApiGatewayV2::Api":           {"ProtocolType", "RouteSelectionExpression"},
		"AWS::ApiGatewayV2::Route":         {"ApiId", "RouteKey", "Target", "AuthorizationType", "AuthorizerId"},
		"AWS::ApiGatewayV2::Integration":   {"ApiId", "IntegrationType", "IntegrationUri"},
		"AWS::ApiGatewayV2::Authorizer":    {"ApiId", "AuthorizerType", "AuthorizerUri", "IdentitySource"},
		"AWS::ApiGatewayV2::RouteResponse": {"ApiId", "RouteId", "RouteResponseKey"},
		"AWS::ApiGatewayV2::Stage":         {"ApiId", "StageName", "StageVariables"},
		"AWS::DynamoDB::Table":             append(slices.Clone(tableProperties), "TableName"),
	} {
		for _, p := range props {
			if !slices.Contains(known.Types[typ].Properties, p) {
				t.Errorf("%s: properties.yaml lacks %s, which the reader reads", typ, p)
			}
		}
	}
	for _, typ := range []string{"AWS::Serverless::Function", "AWS::Lambda::Function"} {
		for name, want := range map[string][]string{
			"Environment":   {"Variables"},
			"LoggingConfig": {"LogFormat", "ApplicationLogLevel", "SystemLogLevel"},
		} {
			for _, p := range want {
				if !slices.Contains(known.Types[typ].Nested[name], p) {
					t.Errorf("%s: properties.yaml lacks %s.%s", typ, name, p)
				}
			}
		}
	}
	ws := known.Types["AWS::Serverless::WebSocketApi"].Nested
	if !slices.Contains(ws["Routes.*"], "FunctionArn") || !slices.Contains(ws["Auth"], "AuthArn") {
		t.Errorf("WebSocketApi nested: %v", ws)
	}
	for section, props := range known.Globals {
		typ, ok := known.Types["AWS::Serverless::"+section]
		if !ok {
			continue
		}
		for _, p := range props {
			if !slices.Contains(typ.Properties, p) {
				t.Errorf("Globals.%s takes %s, which AWS::Serverless::%s has not", section, p, section)
			}
		}
	}
	for _, s := range []string{"Function", "WebSocketApi", "SimpleTable", "Api", "HttpApi"} {
		if len(known.Globals[s]) == 0 {
			t.Errorf("Globals.%s has no properties", s)
		}
	}
	for typ, v := range known.Types {
		if !slices.IsSorted(v.Properties) || len(v.Properties) == 0 {
			t.Errorf("%s: properties not sorted, or none", typ)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"Timeot", "Timeout", 1}, {"Handle", "Handler", 1},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
