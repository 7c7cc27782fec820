package sam_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
)

func load(t *testing.T, name string, opts *sam.Options) *sam.Template {
	t.Helper()
	tpl, err := sam.Load(filepath.Join("testdata", name), opts)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func abs(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

func TestChatSample(t *testing.T) {
	tpl := load(t, "chat-sample.yaml", nil)
	equal(t, "API", tpl.API, &sam.API{
		LogicalID:                "SimpleChatWebSocket",
		ID:                       "gwvob8cree",
		RouteSelectionExpression: "$request.body.action",
		Stage:                    "Prod",
		Routes: []sam.Route{
			{Key: "$connect", Function: "OnConnectFunction"},
			{Key: "$disconnect", Function: "OnDisconnectFunction"},
			{Key: "sendmessage", Function: "SendMessageFunction"},
		},
	})
	equal(t, "functions", len(tpl.Functions), 3)
	equal(t, "OnConnectFunction", tpl.Functions["OnConnectFunction"], &sam.Function{
		LogicalID: "OnConnectFunction", CodeURI: abs(t, "onconnect"), Handler: "app.handler",
		Runtime: "nodejs20.x", MemorySize: 256, Timeout: 3 * time.Second,
		Environment: map[string]string{"TABLE_NAME": "simplechat_connections"},
	})
	if len(tpl.Tables) != 1 || tpl.Tables[0].Name != "simplechat_connections" {
		t.Fatalf("tables: %+v", tpl.Tables)
	}
	equal(t, "table properties", tpl.Tables[0].Properties, map[string]any{
		"AttributeDefinitions":  []any{map[string]any{"AttributeName": "connectionId", "AttributeType": "S"}},
		"KeySchema":             []any{map[string]any{"AttributeName": "connectionId", "KeyType": "HASH"}},
		"ProvisionedThroughput": map[string]any{"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
	})
	equal(t, "warnings", tpl.Warnings, []string(nil))

	over := load(t, "chat-sample.yaml", &sam.Options{Parameters: map[string]string{"TableName": "mine"}})
	equal(t, "overridden table", over.Tables[0].Name, "mine")
	equal(t, "overridden env", over.Functions["SendMessageFunction"].Environment["TABLE_NAME"], "mine")
}

func TestServerlessWebSocketAPI(t *testing.T) {
	tpl := load(t, "serverless.yaml", &sam.Options{EnvVars: map[string]map[string]string{
		"Parameters":   {"STAGE": "from-parameters", "UNDECLARED": "x"},
		"SendFunction": {"STAGE": "from-function"},
	}})
	equal(t, "API", tpl.API, &sam.API{
		LogicalID:                "ChatApi",
		ID:                       "bfn8i0wyoe",
		RouteSelectionExpression: "$request.body.action",
		Stage:                    "default", // StageName is AWS::NoValue when Env is dev
		StageVariables:           map[string]string{"env": "dev"},
		Routes: []sam.Route{
			{Key: "$connect", Function: "ChatFunction"},
			{Key: "$default", Function: "ChatFunction"},
			{Key: "$disconnect", Function: "ChatFunction"},
			{Key: "send", Function: "SendFunction"},
		},
		Authorizer: &sam.Authorizer{Function: "AuthFunction", IdentitySource: []string{"route.request.querystring.token"}},
	})
	equal(t, "ChatFunction", tpl.Functions["ChatFunction"], &sam.Function{
		LogicalID: "ChatFunction", CodeURI: abs(t, "chat"), Handler: "bootstrap", Runtime: "provided.al2023",
		BuildMethod: "go1.x", MemorySize: 256, Timeout: 10 * time.Second,
		Environment: map[string]string{"TABLE": "Connections", "STAGE": "from-parameters", "GREETING": "hello"},
	})
	equal(t, "SendFunction", tpl.Functions["SendFunction"].Environment, map[string]string{"TABLE": "Connections", "STAGE": "from-function"})
	equal(t, "SendFunction timeout", tpl.Functions["SendFunction"].Timeout, 20*time.Second)
	equal(t, "AuthFunction code", tpl.Functions["AuthFunction"].CodeURI, abs(t, "auth"))
	if _, ok := tpl.Functions["ProdOnlyFunction"]; ok {
		t.Error("a function the API does not use was read")
	}
	equal(t, "tables", len(tpl.Tables), 1)
	equal(t, "simple table", tpl.Tables[0].Properties["KeySchema"], []any{map[string]any{"AttributeName": "connectionId", "KeyType": "HASH"}})

	prod := load(t, "serverless.yaml", &sam.Options{Parameters: map[string]string{"Env": "prod"}})
	equal(t, "prod stage", prod.API.Stage, "prod")
	equal(t, "prod env", prod.Functions["ChatFunction"].Environment["STAGE"], "prod")
}

func TestCDK(t *testing.T) {
	tpl := load(t, "cdk.json", &sam.Options{Region: "eu-west-1"})
	for _, w := range tpl.Warnings {
		if strings.Contains(w, "used by no route") {
			t.Errorf("warning %q about the authorizer $connect uses", w)
		}
	}
	equal(t, "API", tpl.API, &sam.API{
		LogicalID:                "WsApi1D2B3C4A",
		ID:                       "034a98xkbl",
		RouteSelectionExpression: "$request.body.type",
		Stage:                    "dev",
		StageVariables: map[string]string{
			"color": "blue", "tableArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/Table",
		},
		Routes: []sam.Route{
			{Key: "$connect", Function: "ConnectHandler1A2B3C4D"},
			{Key: "ping", Function: "PingHandlerB1C2D3E4", TwoWay: true},
		},
		Authorizer: &sam.Authorizer{
			Function:       "AuthHandler5E6F7A8B",
			IdentitySource: []string{"route.request.header.Authorization", "route.request.querystring.room"},
		},
	})
	equal(t, "ConnectHandler", tpl.Functions["ConnectHandler1A2B3C4D"], &sam.Function{
		LogicalID: "ConnectHandler1A2B3C4D", CodeURI: abs(t, "asset.0a1b2c"), Handler: "bootstrap", ConstructPath: "Stack/ConnectHandler/Resource",
		Runtime: "provided.al2023", MemorySize: 512, Timeout: 5 * time.Second,
		Environment: map[string]string{
			"TABLE_NAME": "Table", "TABLE_ARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/Table",
		},
	})
	equal(t, "PingHandler code", tpl.Functions["PingHandlerB1C2D3E4"].CodeURI, abs(t, "ping"))
}

func TestIntrinsics(t *testing.T) {
	tpl := load(t, "intrinsics.yaml", &sam.Options{EnvVars: map[string]map[string]string{
		"Fn":         {"OVERRIDDEN": "mine"},
		"Parameters": {"BY_PARAMETERS": "all"},
	}})
	fn := tpl.Functions["Fn"]
	arn := "arn:aws:dynamodb:us-east-1:123456789012:table/"
	want := map[string]string{
		"REF_PARAM":         "chat",
		"REF_TABLE":         "chat-table",
		"REF_TABLE_LOGICAL": "Unnamed",
		"REF_API":           "fcw4jmfeww", // the API id, as on AWS
		"REF_FUNCTION":      "local-fn",
		"REGION":            "us-east-1",
		"ACCOUNT":           "123456789012",
		"STACK":             "local",
		"PARTITION":         "aws",
		"SUFFIX":            "amazonaws.com",
		"GETATT_SHORT":      arn + "chat-table",
		"GETATT_LIST":       arn + "Unnamed",
		"GETATT_LONG":       "arn:aws:lambda:us-east-1:123456789012:function:local-fn",
		"GETATT_STREAM":     arn + "chat-table/stream/1970-01-01T00:00:00.000",
		"SUB":               "chat/us-east-1/" + arn + "chat-table/${Literal}/chat-table",
		"SUB_LIST":          "x-chat-table-chat",
		"SUB_LONG":          "fcw4jmfeww",
		"JOIN":              "a,chat,fcw4jmfeww",
		"JOIN_LONG":         "xy",
		"JOIN_EMPTY":        "",
		"SELECT":            "dev",
		"SELECT_SPLIT":      "c",
		"IF":                "yes",
		"IF_NOT":            "no",
		"AND":               "yes",
		"OR":                "yes",
		"EQUALS":            "true",
		"FIND_IN_MAP":       "512",
		"BASE64":            "aGk=",
		"NUMBER":            "42",
		"BOOL":              "true",
		"UNRESOLVABLE":      "",
		"NO_DEFAULT":        "",
		"OVERRIDDEN":        "mine",
		"BY_PARAMETERS":     "all",
	}
	for k, v := range want {
		if got, ok := fn.Environment[k]; !ok || got != v {
			t.Errorf("%s = %q (set: %v), want %q", k, got, ok, v)
		}
	}
	if v, ok := fn.Environment["NO_VALUE"]; ok {
		t.Errorf("NO_VALUE (AWS::NoValue) is set to %q", v)
	}
	equal(t, "stage", tpl.API.Stage, "prod")
	equal(t, "memory", fn.MemorySize, 512)
	equal(t, "billing mode", tpl.Tables[0].Properties["BillingMode"], "PAY_PER_REQUEST")
	equal(t, "warnings", tpl.Warnings, []string{
		"function Fn, environment variable NO_DEFAULT: parameter Required has no Default: pass --parameter-overrides Required=VALUE; it is empty: set it with --env-vars",
		"function Fn, environment variable UNRESOLVABLE: Fn::ImportValue is not supported by lambdaws local; it is empty: set it with --env-vars",
	})
}

// An API whose single route is given by route, for the error cases.
const errorTemplate = `
Parameters:
  NoDefault: {Type: String}
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  Integration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationUri: !GetAtt Fn.Arn
  Fn:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: fn, Handler: bootstrap, Runtime: provided.al2023}
`

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, template string
		opts           *sam.Options
		want           []string // substrings of the error
	}{
		{"no api", "Resources:\n  T: {Type: AWS::DynamoDB::Table}\n", nil,
			[]string{"no WebSocket API"}},
		{"http api only", "Resources:\n  A: {Type: AWS::ApiGatewayV2::Api, Properties: {ProtocolType: HTTP}}\n", nil,
			[]string{"no WebSocket API"}},
		{"unknown tag", "Resources:\n  A: !Foo bar\n", nil, []string{"line 2", "unknown tag !Foo"}},
		{"not yaml", "Resources: [", nil, []string{"yaml"}},
		{"empty", "", nil, []string{"empty"}},
		{"target without default", errorTemplate + `
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: $default, Target: !Sub "integrations/${NoDefault}"}
`, nil, []string{"resource Route, property Target", "parameter NoDefault has no Default", "--parameter-overrides NoDefault=VALUE"}},
		{"target not an integration", errorTemplate + `
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: $default, Target: integrations/abc123}
`, nil, []string{"route Route ($default), property Target", `"integrations/abc123"`}},
		{"target unknown attribute", errorTemplate + `
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: $default, Target: !GetAtt Integration.Id}
`, nil, []string{"resource Route, property Target", "does not know attribute Id of AWS::ApiGatewayV2::Integration"}},
		{"foreign function", strings.Replace(errorTemplate, "!GetAtt Fn.Arn", "arn:aws:lambda:us-east-1:111111111111:function:elsewhere", 1) + `
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: $default, Target: !Sub "integrations/${Integration}"}
`, nil, []string{"integration Integration (route $default), property IntegrationUri", "not a function of this template"}},
		{"http integration", strings.Replace(errorTemplate, "AWS_PROXY", "HTTP_PROXY", 1) + `
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: $default, Target: !Sub "integrations/${Integration}"}
`, nil, []string{"integration Integration", "HTTP_PROXY is not supported", "AWS_PROXY"}},
		{"token authorizer", errorTemplate + `
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: $connect, Target: !Sub "integrations/${Integration}", AuthorizationType: CUSTOM, AuthorizerId: !Ref Auth}
  Auth:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties: {ApiId: !Ref Api, AuthorizerType: JWT, AuthorizerUri: x}
`, nil, []string{"authorizer Auth: AuthorizerType JWT is not supported"}},
		{"http identity source", errorTemplate + `
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: $connect, Target: !Sub "integrations/${Integration}", AuthorizationType: CUSTOM, AuthorizerId: !Ref Auth}
  Auth:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Api
      AuthorizerType: REQUEST
      AuthorizerUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations
      IdentitySource: [$request.header.Auth]
`, nil, []string{"resource Auth, property IdentitySource", `"$request.header.Auth" is not supported`}},
		{"code in s3", strings.Replace(errorTemplate, "CodeUri: fn", "CodeUri: s3://bucket/fn.zip", 1) + `
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: $default, Target: !Sub "integrations/${Integration}"}
`, nil, []string{"function Fn, property CodeUri", "point CodeUri at the function's folder"}},
		{"two apis", "Resources:\n  B: {Type: AWS::Serverless::WebSocketApi}\n  A: {Type: AWS::ApiGatewayV2::Api, Properties: {ProtocolType: WEBSOCKET}}\n", nil,
			[]string{"2 WebSocket APIs (A, B): pick one with --api"}},
		{"wrong --api", "Resources:\n  B: {Type: AWS::Serverless::WebSocketApi}\n  A: {Type: AWS::ApiGatewayV2::Api, Properties: {ProtocolType: WEBSOCKET}}\n",
			&sam.Options{API: "C"}, []string{"--api C: the template's WebSocket APIs are A, B"}},
		{"serverless route without function", "Resources:\n  W:\n    Type: AWS::Serverless::WebSocketApi\n    Properties: {Routes: {$default: {}}}\n", nil,
			[]string{"WebSocket API W, route $default: no FunctionArn"}},
		{"serverless custom auth without arn", `
Resources:
  W:
    Type: AWS::Serverless::WebSocketApi
    Properties:
      Routes: {$connect: {FunctionArn: !GetAtt F.Arn}}
      Auth: {AuthType: CUSTOM}
  F: {Type: AWS::Serverless::Function}
`, nil, []string{"WebSocket API W, property Auth: AuthType CUSTOM needs AuthArn"}},
		// What the local gateway cannot serve is an error here, not a
		// panic when it starts.
		{"bad route selection expression", strings.Replace(errorTemplate, "$request.body.action", "request.body.action", 1) + `
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: $default, Target: !Sub "integrations/${Integration}"}
`, nil, []string{"API Api, property RouteSelectionExpression", `"request.body.action"`}},
		{"serverless bad route selection expression", `
Resources:
  W:
    Type: AWS::Serverless::WebSocketApi
    Properties: {RouteSelectionExpression: $request.body., Routes: {$default: {FunctionArn: !GetAtt F.Arn}}}
  F: {Type: AWS::Serverless::Function}
`, nil, []string{"API W, property RouteSelectionExpression"}},
		{"serverless empty route key", `
Resources:
  W:
    Type: AWS::Serverless::WebSocketApi
    Properties: {Routes: {"": {FunctionArn: !GetAtt F.Arn}}}
  F: {Type: AWS::Serverless::Function}
`, nil, []string{"WebSocket API W", "empty route key"}},
		{"identity source without a name", `
Resources:
  W:
    Type: AWS::Serverless::WebSocketApi
    Properties:
      Routes: {$connect: {FunctionArn: !GetAtt F.Arn}}
      Auth: {AuthType: CUSTOM, AuthArn: !GetAtt F.Arn, IdentitySource: [route.request.header.]}
  F: {Type: AWS::Serverless::Function}
`, nil, []string{"resource W, property IdentitySource", `"route.request.header." is not supported`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sam.Parse([]byte(tc.template), t.TempDir(), tc.opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestPickAPI(t *testing.T) {
	const two = `
Resources:
  A: {Type: AWS::ApiGatewayV2::Api, Properties: {ProtocolType: WEBSOCKET}}
  B:
    Type: AWS::Serverless::WebSocketApi
    Properties: {Routes: {$default: {FunctionArn: !GetAtt F.Arn}}}
  F: {Type: AWS::Serverless::Function, Properties: {CodeUri: f}}
`
	tpl, err := sam.Parse([]byte(two), "/app", &sam.Options{API: "B"})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "routes", tpl.API.Routes, []sam.Route{{Key: "$default", Function: "F"}})
	equal(t, "code", tpl.Functions["F"].CodeURI, filepath.Join("/app", "f"))
}

// The examples' templates read as lambdaws local serves them.
func TestExamples(t *testing.T) {
	for _, name := range []string{"echo", "chat", "auth"} {
		t.Run(name, func(t *testing.T) {
			tpl, err := sam.Load(filepath.Join("..", "..", "..", "..", "examples", name, "template.yaml"), nil)
			if err != nil {
				t.Fatal(err)
			}
			dir, _ := filepath.Abs(filepath.Join("..", "..", "..", "..", "examples", name))
			equal(t, "stage", tpl.API.Stage, "prod")
			equal(t, "routes", tpl.API.Routes, []sam.Route{
				{Key: "$connect", Function: "Function"}, {Key: "$default", Function: "Function"}, {Key: "$disconnect", Function: "Function"},
			})
			fn := tpl.Functions["Function"]
			if fn.CodeURI != dir || fn.BuildMethod != "go1.x" || fn.Timeout != 10*time.Second {
				t.Errorf("Function: %+v", fn)
			}
			equal(t, "warnings", tpl.Warnings, []string(nil))
			switch name {
			case "chat":
				equal(t, "environment", fn.Environment, map[string]string{"CONNECTIONS_TABLE": "ConnectionsTable"})
				equal(t, "TTL", tpl.Tables[0].Properties["TimeToLiveSpecification"], map[string]any{"AttributeName": "ttl", "Enabled": true})
			case "auth":
				equal(t, "authorizer", tpl.API.Authorizer, &sam.Authorizer{Function: "AuthorizerFunction", IdentitySource: []string{"route.request.querystring.token"}})
				a := tpl.Functions["AuthorizerFunction"]
				equal(t, "authorizer code", a.CodeURI, filepath.Join(dir, "authorizer"))
				equal(t, "authorizer environment", a.Environment, map[string]string{"TOKENS": "demo-token=demo", "BANNED": "mallory"})
			}
		})
	}
}

// TestGlobalsIntrinsicOverride: a function's intrinsic replaces the
// Globals' value of the same property whole, as SAM does (an intrinsic is a
// value, not a mapping to merge key by key).
func TestGlobalsIntrinsicOverride(t *testing.T) {
	tpl, err := sam.Parse([]byte(`
Parameters:
  Env: {Type: String, Default: dev}
Globals:
  Function:
    Runtime: provided.al2023
    Timeout: !Ref Seconds
    Environment:
      Variables:
        STAGE: !Ref Env
        TABLE: !Ref Table
        KEPT: !Ref Env
Resources:
  Table: {Type: AWS::DynamoDB::Table, Properties: {TableName: !Sub "${Env}-connections"}}
  Api:
    Type: AWS::Serverless::WebSocketApi
    Properties:
      RouteSelectionExpression: $request.body.action
      Routes: {$default: {FunctionArn: !GetAtt Fn.Arn}}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      Timeout: !If [Always, 9, 1]
      Environment:
        Variables:
          STAGE: !Sub "${Env}-local"
          TABLE: !GetAtt Table.Arn
Conditions:
  Always: !Equals [a, a]
`), "/app", nil)
	if err != nil {
		t.Fatal(err)
	}
	fn := tpl.Functions["Fn"]
	equal(t, "environment", fn.Environment, map[string]string{
		"STAGE": "dev-local", "TABLE": "arn:aws:dynamodb:us-east-1:123456789012:table/dev-connections", "KEPT": "dev"})
	equal(t, "timeout", fn.Timeout, 9*time.Second)
	equal(t, "warnings", tpl.Warnings, []string(nil))
}

// TestNameNoValue: a name property that is AWS::NoValue (the common
// !If [HasName, !Ref Name, !Ref AWS::NoValue]) is absent, as in
// CloudFormation: the resource is named by its logical id.
func TestNameNoValue(t *testing.T) {
	tpl, err := sam.Parse([]byte(`
Parameters:
  Name: {Type: String, Default: ""}
Conditions:
  HasName: !Not [!Equals [!Ref Name, ""]]
Resources:
  Api:
    Type: AWS::Serverless::WebSocketApi
    Properties: {Routes: {$default: {FunctionArn: !GetAtt Fn.Arn}}}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      FunctionName: !If [HasName, !Ref Name, !Ref AWS::NoValue]
      Environment: {Variables: {TABLE: !Ref Table}}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !If [HasName, !Ref Name, !Ref AWS::NoValue]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      BillingMode: !If [HasName, PROVISIONED, PAY_PER_REQUEST]
      ProvisionedThroughput: !If [HasName, {ReadCapacityUnits: 1, WriteCapacityUnits: 1}, !Ref AWS::NoValue]
`), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "route", tpl.API.Routes, []sam.Route{{Key: "$default", Function: "Fn"}})
	equal(t, "environment", tpl.Functions["Fn"].Environment, map[string]string{"TABLE": "Table"})
	equal(t, "table name", tpl.Tables[0].Name, "Table")
	// A property that is AWS::NoValue is absent.
	equal(t, "table properties", tpl.Tables[0].Properties, map[string]any{
		"KeySchema":   []any{map[string]any{"AttributeName": "pk", "KeyType": "HASH"}},
		"BillingMode": "PAY_PER_REQUEST",
	})
}

// TestServerlessAPIRules: what SAM's transform refuses in an
// AWS::Serverless::WebSocketApi is refused at load.
func TestServerlessAPIRules(t *testing.T) {
	api := func(props string) string {
		return strings.Replace(minimal, "{Routes: {$default: {FunctionArn: !GetAtt Fn.Arn}}}", "{"+props+"}", 1)
	}
	for _, tc := range []struct{ name, template, want string }{
		{"route key", api("Routes: {send-message: {FunctionArn: !GetAtt Fn.Arn}}"),
			`WebSocket API Api, route "send-message": SAM requires a route key of letters and digits (or $connect, $disconnect, $default); with other keys, write AWS::ApiGatewayV2::Route resources`},
		{"stage $default", api("StageName: $default, Routes: {$default: {FunctionArn: !GetAtt Fn.Arn}}"),
			"WebSocket API Api, property StageName: SAM refuses $default as a WebSocket API's stage name"},
		{"request parameters", api("Routes: {$default: {FunctionArn: !GetAtt Fn.Arn, RequestParameters: {}}}"),
			"WebSocket API Api, route $default: SAM takes RequestParameters on $connect only"},
		{"auth without $connect", api("Auth: {AuthType: NONE}, Routes: {$default: {FunctionArn: !GetAtt Fn.Arn}}"),
			"WebSocket API Api, property Auth: SAM authorizes $connect only, and the API has no $connect route"},
		{"AWS_IAM with more", api("Auth: {AuthType: AWS_IAM, Name: x}, Routes: {$connect: {FunctionArn: !GetAtt Fn.Arn}}"),
			"WebSocket API Api, property Auth: AuthType AWS_IAM takes no other setting, as SAM requires"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sam.Parse([]byte(tc.template), "/app", nil)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v\nwant %s", err, tc.want)
			}
		})
	}
	if _, err := sam.Parse([]byte(api("Routes: {sendMessage2: {FunctionArn: !GetAtt Fn.Arn}, $connect: {FunctionArn: !GetAtt Fn.Arn, RequestParameters: {}}}")), "/app", nil); err != nil {
		t.Error(err)
	}
}
