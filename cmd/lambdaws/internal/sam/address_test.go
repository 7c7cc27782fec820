package sam_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
)

// addressTemplate passes a function the API's own address in the ways CDK,
// Serverless and Terraform apps do.
const addressTemplate = `
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: a, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Api, StageName: dev, StageVariables: {cb: !Sub "https://${Api}.execute-api.${AWS::Region}.amazonaws.com/dev"}}
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: $default, Target: !Join [/, [integrations, !Ref Integration]]}
  Integration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !GetAtt Api.ApiId
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      Environment:
        Variables:
          CALLBACK_URL: !Join ["", ["https://", !Ref Api, ".execute-api.", !Ref AWS::Region, ".", !Ref AWS::URLSuffix, "/", !Ref Stage]]
          ENDPOINT: !GetAtt Api.ApiEndpoint
          API_ID: !Ref Api
          API_ID_ATT: !GetAtt Api.ApiId
          OTHER: https://abcdefghij.execute-api.eu-west-1.amazonaws.com/dev
`

// TestAPIAddress: the API id is one value everywhere; values naming the API's
// host on AWS name the local address, and each rewrite is reported.
func TestAPIAddress(t *testing.T) {
	tpl, err := sam.Parse([]byte(addressTemplate), t.TempDir(), &sam.Options{Region: "eu-west-1", Endpoint: "127.0.0.1:9000"})
	if err != nil {
		t.Fatal(err)
	}
	id := tpl.API.ID
	if len(id) != 10 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		t.Fatalf("API id %q: want 10 lowercase letters and digits, as on AWS", id)
	}
	env := tpl.Functions["Fn"].Environment
	for k, want := range map[string]string{
		"CALLBACK_URL": "https://127.0.0.1:9000/dev",
		"ENDPOINT":     "wss://127.0.0.1:9000",
		"API_ID":       id,
		"API_ID_ATT":   id,
		"OTHER":        "https://abcdefghij.execute-api.eu-west-1.amazonaws.com/dev", // another API: untouched
	} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}
	if got := tpl.API.StageVariables["cb"]; got != "https://127.0.0.1:9000/dev" {
		t.Errorf("stage variable cb = %q", got)
	}
	if len(tpl.Rewrites) != 3 || !strings.Contains(strings.Join(tpl.Rewrites, "\n"), "function Fn, variable CALLBACK_URL: https://"+id+".execute-api.eu-west-1.amazonaws.com/dev → https://127.0.0.1:9000/dev") {
		t.Errorf("rewrites %q: want CALLBACK_URL, ENDPOINT and the stage variable, each named", tpl.Rewrites)
	}

	// Without Endpoint, values are as on AWS.
	tpl, err = sam.Parse([]byte(addressTemplate), t.TempDir(), &sam.Options{Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tpl.Functions["Fn"].Environment["ENDPOINT"], "wss://"+id+".execute-api.eu-west-1.amazonaws.com"; got != want || len(tpl.Rewrites) != 0 {
		t.Errorf("ENDPOINT = %q, rewrites %q; want %q and none", got, tpl.Rewrites, want)
	}
}

// TestUnusedAuthorizer: an authorizer no route uses (a CDK app attaching it
// through a custom resource) is named at start, as $connect runs open here.
func TestUnusedAuthorizer(t *testing.T) {
	tpl := addressTemplate + `
  Auth:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Api
      Name: auth
      AuthorizerType: REQUEST
      AuthorizerUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations
      IdentitySource: [route.request.querystring.token]
`
	got, err := sam.Parse([]byte(tpl), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(got.Warnings, "\n"); !strings.Contains(w, "authorizer Auth of API Api is used by no route") {
		t.Errorf("warnings %q: want one naming the unused authorizer Auth", got.Warnings)
	}
}

// TestCDKAssetManifest: a template synthesized without asset metadata (an
// app run without the CDK CLI) finds a function's code through the asset
// manifest beside it, by the S3Key the function names.
func TestCDKAssetManifest(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Stack.assets.json"), []byte(`{"version": "55.0.0", "files": {
		"abc": {"source": {"path": "asset.abc", "packaging": "zip"},
			"destinations": {"d": {"bucketName": "b", "objectKey": "abc.zip"}}},
		"evil": {"source": {"path": "../outside", "packaging": "zip"},
			"destinations": {"d": {"bucketName": "b", "objectKey": "evil.zip"}}}}}`), 0o644)
	tpl := func(key string) string {
		return strings.Replace(addressTemplate, `      Runtime: provided.al2023`, `      Code: {S3Bucket: b, S3Key: `+key+`}
      Runtime: provided.al2023`, 1)
	}
	got, err := sam.Parse([]byte(strings.Replace(tpl("abc.zip"), "AWS::Serverless::Function", "AWS::Lambda::Function", 1)), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "asset.abc"); got.Functions["Fn"].CodeURI != want {
		t.Errorf("code %q, want %q", got.Functions["Fn"].CodeURI, want)
	}
	if _, err := sam.Parse([]byte(strings.Replace(tpl("evil.zip"), "AWS::Serverless::Function", "AWS::Lambda::Function", 1)), dir, nil); err == nil {
		t.Error("an asset path outside the template's folder was taken")
	}
}
