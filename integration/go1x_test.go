//go:build unix

package integration

import (
	"encoding/json"
	"fmt"
	"github.com/lambdaws/lambdaws/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// go1xTemplate has three Runtime go1.x functions, each run as the file its
// Handler names, through aws-lambda-go's RPC protocol: testdata/go1x (built
// with aws-lambda-go v1.17, which speaks nothing else) built from source on
// the two-way $default route, the same program prebuilt on the two-way route
// "prebuilt", and testdata/plain (a current aws-lambda-go) built from source
// on the one-way route "current", answering through the management API.
const go1xTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: go1.x
    Timeout: 5
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: go1x, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Api, StageName: test}
%s
  OldFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: %q, Handler: echo}
  PrebuiltFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: %q, Handler: hello}
  CurrentFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: %q, Handler: plain}
`

// go1xRoute is a route to a function, with its integration and, when
// two-way, its route response.
func go1xRoute(name, key, fn string, twoWay bool) string {
	s := fmt.Sprintf(`  %[1]sIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${%[3]s.Arn}/invocations"
  %[1]sRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: %[2]s, Target: !Sub "integrations/${%[1]sIntegration}"}
`, name, key, fn)
	if twoWay {
		s += fmt.Sprintf(`  %[1]sResponse:
    Type: AWS::ApiGatewayV2::RouteResponse
    Properties: {ApiId: !Ref Api, RouteId: !Ref %[1]sRoute, RouteResponseKey: $default}
`, name)
	}
	return s
}

// TestLocalGo1x serves Runtime go1.x functions through lambdaws local: a
// binary built with aws-lambda-go v1.17 answers (it never asks the Runtime
// API for an invocation, so every call used to fail with an init error
// after 10 s), prebuilt or built from source, and a current aws-lambda-go
// built from source speaks the same protocol; a panic ends the process.
func TestLocalGo1x(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	dir := t.TempDir()
	prebuilt := filepath.Join(dir, "prebuilt")
	build := exec.Command("go", "build", "-o", filepath.Join(prebuilt, "hello"), ".")
	build.Dir = repoPath(t, "integration/testdata/go1x")
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	routes := go1xRoute("Default", "$default", "OldFunction", true) +
		go1xRoute("Prebuilt", "prebuilt", "PrebuiltFunction", true) +
		go1xRoute("Current", "current", "CurrentFunction", false)
	template := filepath.Join(dir, "template.yaml")
	content := fmt.Sprintf(go1xTemplate, routes, repoPath(t, "integration/testdata/go1x"), prebuilt, repoPath(t, "integration/testdata/plain"))
	if err := os.WriteFile(template, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}

	p := startLocal(t, awsEnv, "--template", template)
	ctx := testContext(t, time.Minute)
	c := dial(t, ctx, "client", p.URL, nil)
	type reply struct {
		Pid       int               `json:"pid"`
		RequestID string            `json:"requestId"`
		Env       map[string]string `json:"env"`
	}
	ask := func(msg string) reply {
		t.Helper()
		c.send(ctx, msg)
		got := c.next()
		var r reply
		if err := json.Unmarshal([]byte(got), &r); err != nil || r.Pid == 0 {
			t.Fatalf("%s: got %s", msg, got)
		}
		return r
	}
	for msg, handler := range map[string]string{"env": "echo", `{"action":"prebuilt","op":"env"}`: "hello"} {
		r := ask(msg)
		env := r.Env
		if env["_HANDLER"] != handler || env["AWS_EXECUTION_ENV"] != "AWS_Lambda_go1.x" || env["_LAMBDA_SERVER_PORT"] == "" ||
			env["AWS_LAMBDA_RUNTIME_API"] != "" || len(r.RequestID) != 36 {
			t.Errorf("%s: request id %q, _HANDLER=%q AWS_EXECUTION_ENV=%q _LAMBDA_SERVER_PORT=%q AWS_LAMBDA_RUNTIME_API=%q",
				msg, r.RequestID, env["_HANDLER"], env["AWS_EXECUTION_ENV"], env["_LAMBDA_SERVER_PORT"], env["AWS_LAMBDA_RUNTIME_API"])
		}
	}

	c.send(ctx, `{"action":"current"}`)
	var current map[string]string
	if err := json.Unmarshal([]byte(c.next()), &current); err != nil {
		t.Fatal(err)
	}
	if current["route"] != "current" || current["function"] != "CurrentFunction" || current["handler"] != "plain" {
		t.Errorf("current aws-lambda-go as go1.x saw %v", current)
	}

	before := ask("pid")
	c.send(ctx, "panic boom")
	if got := c.next(); !strings.Contains(got, "Internal server error") {
		t.Errorf("panic: got %s, want API Gateway's error frame", got)
	}
	if after := ask("pid"); after.Pid == before.Pid {
		t.Errorf("process %d served again after its handler panicked", after.Pid)
	}
	if _, err := p.waitLog(regexp.MustCompile(`handler panicked; environment discarded.*function=OldFunction`), 1, 10*time.Second); err != nil {
		t.Error(err)
	}
}
