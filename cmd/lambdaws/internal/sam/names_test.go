package sam_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
)

// v2 is a template of AWS::ApiGatewayV2::* resources; %API%, %ROUTE%,
// %INTEG%, %STAGE% and %FN% are replaced by a test's properties of each.
const v2 = `Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action%API%}
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: $default, Target: !Sub "integrations/${Integ}"%ROUTE%}
  Integ:
    Type: AWS::ApiGatewayV2::Integration
    Properties: {ApiId: !Ref Api, IntegrationType: AWS_PROXY, IntegrationUri: !GetAtt Fn.Arn%INTEG%}
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Api, StageName: prod%STAGE%}
  Fn:
    Type: AWS::Lambda::Function
    Properties: {Code: fn, Handler: bootstrap, Runtime: provided.al2023%FN%}
`

func withV2(part, props string) string {
	out := v2
	for _, p := range []string{"%API%", "%ROUTE%", "%INTEG%", "%STAGE%", "%FN%"} {
		if p == part {
			out = strings.ReplaceAll(out, p, ", "+props)
		} else {
			out = strings.ReplaceAll(out, p, "")
		}
	}
	return out
}

// TestMisspelledNames: a name the resource type (or Globals) does not have
// is refused at load, with its resource, line and the closest valid name;
// the typos each among them.
func TestMisspelledNames(t *testing.T) {
	serverlessAPI := func(props string) string {
		return strings.Replace(minimal, "{Routes:", "{"+props+", Routes:", 1)
	}
	for _, tc := range []struct {
		name, template string
		want           string // the whole error
	}{
		{"Enviroment", withFn("Enviroment: {Variables: {TABLE: t}}"),
			"line 5: resource Fn (AWS::Serverless::Function) has no property Enviroment: did you mean Environment?"},
		{"CodeURI", strings.Replace(minimal, "CodeUri", "CodeURI", 1),
			"line 5: resource Fn (AWS::Serverless::Function) has no property CodeURI: did you mean CodeUri?"},
		{"Handle", withFn("Handle: bootstrap"),
			"line 5: resource Fn (AWS::Serverless::Function) has no property Handle: did you mean Handler?"},
		{"Timeot", withFn("Timeot: 10"),
			"line 5: resource Fn (AWS::Serverless::Function) has no property Timeot: did you mean Timeout?"},
		{"RouteSelectionExpresion of an ApiGatewayV2::Api", strings.Replace(withV2("", ""), "RouteSelectionExpression", "RouteSelectionExpresion", 1),
			"line 4: resource Api (AWS::ApiGatewayV2::Api) has no property RouteSelectionExpresion: did you mean RouteSelectionExpression?"},
		{"RouteSelectionExpresion of a WebSocketApi", serverlessAPI("RouteSelectionExpresion: $request.body.action"),
			"line 4: resource Api (AWS::Serverless::WebSocketApi) has no property RouteSelectionExpresion: did you mean RouteSelectionExpression?"},
		{"StageNam of a Stage", strings.Replace(withV2("", ""), "StageName", "StageNam", 1),
			"line 13: resource Stage (AWS::ApiGatewayV2::Stage) has no property StageNam: did you mean StageName?"},
		{"StageNam of a WebSocketApi", serverlessAPI("StageNam: prod"),
			"line 4: resource Api (AWS::Serverless::WebSocketApi) has no property StageNam: did you mean StageName?"},
		{"two on separate lines", minimal + "  Other:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: fn\n      Runtim: go\n      MemorySise: 128\n",
			"2 names that SAM or CloudFormation would refuse:\n" +
				"  line 10: resource Other (AWS::Serverless::Function) has no property Runtim: did you mean Runtime?\n" +
				"  line 11: resource Other (AWS::Serverless::Function) has no property MemorySise: did you mean MemorySize?"},
		{"a resource attribute", minimal + "  T:\n    Type: AWS::DynamoDB::Table\n    Propertes: {TableName: t}\n",
			"line 8: resource T (AWS::DynamoDB::Table) has no attribute Propertes: did you mean Properties?"},
		{"IgnoreGlobals outside SAM", withV2("", "") + "    IgnoreGlobals: '*'\n",
			"line 17: resource Fn (AWS::Lambda::Function) has no attribute IgnoreGlobals"},
		{"Route", withV2("%ROUTE%", "AuthorizationTyp: NONE"),
			"line 7: resource Route (AWS::ApiGatewayV2::Route) has no property AuthorizationTyp: did you mean AuthorizationType?"},
		{"Integration", withV2("%INTEG%", "IntegrationURI: x"),
			"line 10: resource Integ (AWS::ApiGatewayV2::Integration) has no property IntegrationURI: did you mean IntegrationUri?"},
		{"Lambda::Function", withV2("%FN%", "Timout: 3"),
			"line 16: resource Fn (AWS::Lambda::Function) has no property Timout: did you mean Timeout?"},
		{"Lambda::Function Environment", withV2("%FN%", "Environment: {Variable: {A: b}}"),
			"line 16: resource Fn (AWS::Lambda::Function), property Environment, has no Variable: did you mean Variables?"},
		{"Permission", withV2("", "") + "  P:\n    Type: AWS::Lambda::Permission\n    Properties: {Action: lambda:InvokeFunction, FunctionName: !Ref Fn, Principle: apigateway.amazonaws.com}\n",
			"line 19: resource P (AWS::Lambda::Permission) has no property Principle: did you mean Principal?"},
		{"Authorizer", withV2("", "") + "  A:\n    Type: AWS::ApiGatewayV2::Authorizer\n    Properties: {ApiId: !Ref Api, AuthorizerType: REQUEST, IdentitySources: [x]}\n",
			"line 19: resource A (AWS::ApiGatewayV2::Authorizer) has no property IdentitySources: did you mean IdentitySource?"},
		{"RouteResponse", withV2("", "") + "  RR:\n    Type: AWS::ApiGatewayV2::RouteResponse\n    Properties: {ApiId: !Ref Api, RouteId: !Ref Route, RouteResponseKeys: $default}\n",
			"line 19: resource RR (AWS::ApiGatewayV2::RouteResponse) has no property RouteResponseKeys: did you mean RouteResponseKey?"},
		{"DynamoDB::Table", minimal + "  T:\n    Type: AWS::DynamoDB::Table\n    Properties: {TableName: t, KeySchemas: []}\n",
			"line 8: resource T (AWS::DynamoDB::Table) has no property KeySchemas: did you mean KeySchema?"},
		{"SimpleTable", minimal + "  T:\n    Type: AWS::Serverless::SimpleTable\n    Properties: {PrimaryKey: {Name: id, Typ: String}}\n",
			"line 8: resource T (AWS::Serverless::SimpleTable), property PrimaryKey, has no Typ: did you mean Type?"},
		{"a route of a WebSocketApi", strings.Replace(minimal, "{FunctionArn:", "{IntegrationTimeot: 5, FunctionArn:", 1),
			"line 4: resource Api (AWS::Serverless::WebSocketApi), property Routes.$default, has no IntegrationTimeot: did you mean IntegrationTimeout?"},
		{"Globals.Function", minimal + "Globals:\n  Function:\n    Timeout: 5\n    Tracin: Active\n",
			"line 9: Globals.Function has no property Tracin: did you mean Tracing?"},
		{"Globals.Function FunctionName", minimal + "Globals:\n  Function:\n    FunctionName: f\n",
			"line 8: Globals.Function has no property FunctionName: SAM takes it from each resource only, not from Globals"},
		{"Globals.Function Environment", minimal + "Globals:\n  Function:\n    Environment: {Varaibles: {A: b}}\n",
			"line 8: Globals.Function, property Environment, has no Varaibles: did you mean Variables?"},
		{"Globals section", minimal + "Globals:\n  Functions:\n    Timeout: 5\n",
			"line 7: Globals has no section Functions: did you mean Function?"},
		{"Globals.WebSocketApi", minimal + "Globals:\n  WebSocketApi:\n    StageName: prod\n",
			"line 8: Globals.WebSocketApi has no property StageName: SAM takes it from each resource only, not from Globals"},
		{"Globals.Api (not read, still SAM's)", minimal + "Globals:\n  Api:\n    Cros: '*'\n",
			"line 8: Globals.Api has no property Cros: did you mean Cors?"},
		{"Properties not a mapping", minimal + "  T: {Type: AWS::DynamoDB::Table, Properties: [TableName]}\n",
			"line 6: resource T (AWS::DynamoDB::Table): Properties is a list, not a mapping"},
		{"Globals section not a mapping", minimal + "Globals:\n  Function: 5\n",
			"line 7: Globals.Function is 5, not a mapping of properties"},
		{"no close name", withFn("Zzzzzzzz: 1"),
			"line 5: resource Fn (AWS::Serverless::Function) has no property Zzzzzzzz"},
		{"a name to quote", withFn("\"Time out\\n\": 1"),
			`line 5: resource Fn (AWS::Serverless::Function) has no property "Time out\n": did you mean Timeout?`},
		{"through a merge key", minimal + "  Other:\n    Type: AWS::Serverless::Function\n    Properties:\n      <<: &p\n        Handlr: x\n      CodeUri: fn\n",
			"line 10: resource Other (AWS::Serverless::Function) has no property Handlr: did you mean Handler?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sam.Parse([]byte(tc.template), "/app", nil)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error:\n%v\nwant:\n%s", err, tc.want)
			}
		})
	}
}

// TestNamesAllowed: what CloudFormation and SAM accept is not refused:
// types lambdaws does not read, intrinsic functions where a mapping of
// properties would be, Fn::Transform, SAM's resource attributes, and the
// repository's templates.
func TestNamesAllowed(t *testing.T) {
	for _, tc := range []struct{ name, template string }{
		{"unread type", minimal + "  Q: {Type: AWS::SQS::Queue, Properties: {Anything: 1}, Whatever: 2}\n"},
		{"intrinsic properties", minimal + "  T: {Type: AWS::DynamoDB::Table, Properties: !If [C, {TableName: a}, {TableName: b}]}\n" +
			"Conditions: {C: !Equals [a, a]}\n"},
		{"intrinsic values", withFn("Environment: !If [C, {Variables: {A: b}}, !Ref AWS::NoValue], Timeout: !Ref T") +
			"Conditions: {C: !Equals [a, a]}\nParameters: {T: {Type: Number, Default: 5}}\n"},
		{"Fn::Transform", withFn("'Fn::Transform': {Name: AWS::Include, Parameters: {Location: s3://b/k}}")},
		{"SAM attributes", minimal + "  T:\n    Type: AWS::Serverless::SimpleTable\n    DeletionPolicy: Retain\n    IgnoreGlobals: '*'\n    Connectors: {}\n    Metadata: {aws:cdk:path: a/b}\n"},
		{"CloudFormation attributes", withV2("", "") + "    DependsOn: [Api]\n    UpdatePolicy: {}\n    CreationPolicy: {}\n    UpdateReplacePolicy: Retain\n    Condition: C\n" +
			"Conditions: {C: !Equals [a, a]}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := sam.Parse([]byte(tc.template), "/app", nil); err != nil {
				t.Error(err)
			}
		})
	}
	files, _ := filepath.Glob("testdata/*.*")
	more, _ := filepath.Glob("../../../../examples/*/template.yaml")
	files = append(files, more...)
	more, _ = filepath.Glob("../../../../integration/testdata/*.yaml")
	files = append(files, more...)
	more, _ = filepath.Glob("../../../../integration/testdata/*/template.yaml")
	files = append(files, more...)
	if len(files) < 10 {
		t.Fatalf("found only %s", files)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sam.Parse(data, filepath.Dir(name), nil); err != nil && strings.Contains(err.Error(), " has no ") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestIgnoreGlobals: a resource's IgnoreGlobals leaves out all of Globals
// ("*") or the properties it names, as SAM does.
func TestIgnoreGlobals(t *testing.T) {
	globals := "Globals: {Function: {Timeout: 9, MemorySize: 256}}\n"
	for _, tc := range []struct {
		name, ignore string
		timeout      int // seconds
		memory       int
		err          string
	}{
		{"none", "", 9, 256, ""},
		{"all", "'*'", 3, 128, ""},
		{"one", "[Timeout]", 3, 256, ""},
		{"not in Globals", "[Handler]", 0, 0, "resource Fn, attribute IgnoreGlobals: Handler is not a property of Globals.Function"},
		{"neither", "yes", 0, 0, `resource Fn, attribute IgnoreGlobals: "yes" is neither "*" nor a list of properties of Globals.Function`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl := minimal
			if tc.ignore != "" {
				tpl += "    IgnoreGlobals: " + tc.ignore + "\n"
				tpl = strings.Replace(tpl, "  Fn: {Type: AWS::Serverless::Function, Properties: {CodeUri: fn}}\n", "  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: fn}\n", 1)
			}
			got, err := sam.Parse([]byte(tpl+globals), "/app", nil)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fn := got.Functions["Fn"]
			if int(fn.Timeout.Seconds()) != tc.timeout || fn.MemorySize != tc.memory {
				t.Errorf("Timeout %v, MemorySize %d; want %ds, %d", fn.Timeout, fn.MemorySize, tc.timeout, tc.memory)
			}
		})
	}
}

// TestManyMisspelledNames: an error lists the first 20 unknown names, in
// line order, and counts the rest.
func TestManyMisspelledNames(t *testing.T) {
	var b strings.Builder
	b.WriteString(minimal + "  Other:\n    Type: AWS::Serverless::Function\n    Properties:\n")
	for i := range 25 {
		fmt.Fprintf(&b, "      Typo%02d: x\n", i)
	}
	_, err := sam.Parse([]byte(b.String()), "/app", nil)
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 22 || lines[0] != "25 names that SAM or CloudFormation would refuse:" ||
		lines[1] != "  line 9: resource Other (AWS::Serverless::Function) has no property Typo00" || lines[21] != "  and 5 more" {
		t.Errorf("error:\n%v", err)
	}
}
