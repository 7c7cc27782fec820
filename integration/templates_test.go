package integration

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lambdaws/lambdaws/internal/testenv"
)

// parseTemplate parses a SAM template with js-yaml (tools/node_modules),
// turning CloudFormation's short-form tags (!Ref, !Sub, !GetAtt) into their
// long forms, and returns it as generic JSON.
func parseTemplate(t *testing.T, path string) map[string]any {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Require(t, "node is not on PATH", "install Node.js, then run `npm ci --prefix tools`")
	}
	root := testenv.RepoRoot(t)
	jsyaml := filepath.Join(root, "tools", "node_modules", "js-yaml")
	const script = `
const yaml = require(process.argv[1]);
const fs = require("fs");
const tag = (name, kind, fn) => new yaml.Type("!" + name, {kind, construct: (d) => ({[fn]: d})});
const tags = [];
for (const [name, fn] of [["Ref", "Ref"], ["Sub", "Fn::Sub"], ["GetAtt", "Fn::GetAtt"], ["Join", "Fn::Join"], ["If", "Fn::If"], ["Equals", "Fn::Equals"], ["Select", "Fn::Select"]]) {
  for (const kind of ["scalar", "sequence", "mapping"]) tags.push(tag(name, kind, fn));
}
const doc = yaml.load(fs.readFileSync(process.argv[2], "utf8"), {schema: yaml.DEFAULT_SCHEMA.extend(tags)});
process.stdout.write(JSON.stringify(doc));
`
	cmd := exec.Command(node, "-e", script, jsyaml, path)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		if strings.Contains(stderr, "Cannot find module") {
			testenv.Require(t, "js-yaml is not installed", "run `make test`, or `npm ci --prefix tools`")
		}
		t.Fatalf("parse %s: %v\n%s", path, err, stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestTemplates checks that the examples' SAM templates parse and describe
// what the examples need: a WebSocket API routing by action, the three
// routes on a Lambda proxy integration (in SAM's short form
// AWS::Serverless::WebSocketApi, or raw AWS::ApiGatewayV2::* for the chat), a provided.al2023 function named
// bootstrap built from the example's folder, and permissions no wider than the API's @connections (and, for
// the chat, its own table with TTL).
func TestTemplates(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	for _, name := range []string{"echo", "chat", "auth"} {
		t.Run(name, func(t *testing.T) {
			doc := parseTemplate(t, filepath.Join(testenv.RepoRoot(t), "examples", name, "template.yaml"))
			res := get(t, doc, "Resources").(map[string]any)
			props := func(logical string) map[string]any {
				return get(t, res, logical, "Properties").(map[string]any)
			}
			api := props("Api")
			var routes []string
			if name == "chat" {
				// The reference in raw AWS::ApiGatewayV2::* resources.
				if api["ProtocolType"] != "WEBSOCKET" || api["RouteSelectionExpression"] != "$request.body.action" {
					t.Errorf("Api: %v", api)
				}
				if props("Integration")["IntegrationType"] != "AWS_PROXY" {
					t.Errorf("Integration: %v", props("Integration"))
				}
				for _, r := range res {
					r := r.(map[string]any)
					if r["Type"] == "AWS::ApiGatewayV2::Route" {
						routes = append(routes, r["Properties"].(map[string]any)["RouteKey"].(string))
					}
				}
				if get(t, res, "InvokePermission", "Properties", "Principal") != "apigateway.amazonaws.com" {
					t.Errorf("InvokePermission: %v", res["InvokePermission"])
				}
			} else {
				// SAM's short form: SAM makes the integrations and permissions.
				if get(t, res, "Api", "Type") != "AWS::Serverless::WebSocketApi" || api["RouteSelectionExpression"] != "$request.body.action" {
					t.Errorf("Api: %v", res["Api"])
				}
				for key, r := range get(t, api, "Routes").(map[string]any) {
					if arn, _ := json.Marshal(get(t, r, "FunctionArn")); string(arn) != `{"Fn::GetAtt":"Function.Arn"}` {
						t.Errorf("route %s: FunctionArn %s", key, arn)
					}
					routes = append(routes, key)
				}
			}
			slices.Sort(routes)
			if !slices.Equal(routes, []string{"$connect", "$default", "$disconnect"}) {
				t.Errorf("routes %v", routes)
			}
			fn := props("Function")
			if fn["Runtime"] != "provided.al2023" || fn["Handler"] != "bootstrap" || fn["CodeUri"] != "./" {
				t.Errorf("Function: %v", fn)
			}
			// Built from source by sam build (and lambdaws local).
			if get(t, res, "Function", "Metadata", "BuildMethod") != "go1.x" {
				t.Errorf("Function metadata: %v", get(t, res, "Function"))
			}
			policies, _ := json.Marshal(fn["Policies"])
			if !strings.Contains(string(policies), `"execute-api:ManageConnections"`) ||
				!strings.Contains(string(policies), `${Api}/${StageName}/POST/@connections/*`) ||
				strings.Contains(string(policies), `"Resource":"*"`) {
				t.Errorf("Function policies: %s", policies)
			}
			if !strings.HasPrefix(get(t, doc, "Outputs", "WebSocketURL", "Value", "Fn::Sub").(string), "wss://${Api}.execute-api.") {
				t.Errorf("Outputs: %v", doc["Outputs"])
			}
			if name != "chat" {
				return
			}
			// ws.AfterConnect: the function may invoke itself, named without
			// its own Arn (a circular dependency).
			if get(t, fn, "FunctionName", "Fn::Sub") != "${AWS::StackName}-chat" ||
				!strings.Contains(string(policies), `"Action":"lambda:InvokeFunction","Effect":"Allow","Resource":{"Fn::Sub":"arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-chat"}`) {
				t.Errorf("Function: no FunctionName or lambda:InvokeFunction on itself: %v %s", fn["FunctionName"], policies)
			}
			table := props("ConnectionsTable")
			got, _ := json.Marshal([]any{table["KeySchema"], table["GlobalSecondaryIndexes"], table["TimeToLiveSpecification"]})
			const want = `[[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],` +
				`[{"IndexName":"connections","KeySchema":[{"AttributeName":"gpk","KeyType":"HASH"},{"AttributeName":"id","KeyType":"RANGE"}],` +
				`"Projection":{"NonKeyAttributes":["ttl"],"ProjectionType":"INCLUDE"}}],{"AttributeName":"ttl","Enabled":true}]`
			if string(got) != want {
				t.Errorf("ConnectionsTable schema\n got %s\nwant %s", got, want)
			}
			if get(t, fn, "Environment", "Variables", "CONNECTIONS_TABLE", "Ref") != "ConnectionsTable" {
				t.Errorf("Function environment: %v", fn["Environment"])
			}
			if strings.Contains(string(policies), "dynamodb:Scan") || strings.Contains(string(policies), `"dynamodb:*"`) {
				t.Errorf("Function policies wider than the store needs: %s", policies)
			}
		})
	}
}

// get walks nested maps, failing the test when a key is missing.
func get(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for i, k := range keys {
		m, ok := v.(map[string]any)
		if !ok || m[k] == nil {
			t.Fatalf("no %s in the template", strings.Join(keys[:i+1], "."))
		}
		v = m[k]
	}
	return v
}
