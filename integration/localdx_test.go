//go:build unix

package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lambdaws/lambdaws/internal/testenv"
)

// shareDynalite makes the local DynamoDB that lambdaws local installs into
// its cache (cache is the tests' XDG_CACHE_HOME, new for each run) one
// install per machine: its folder links to one in the user's cache, which
// the first run fills with lambdaws's own npm ci (so the install is tested
// as users meet it) and later runs reuse without the network. lambdaws
// installs into a temporary folder that it renames, so that runs at once
// are safe.
func shareDynalite(cache string) error {
	user, err := os.UserCacheDir()
	if err != nil {
		return err
	}
	shared := filepath.Join(user, "lambdaws-integration", "dynalite")
	if err := os.MkdirAll(shared, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(cache, "lambdaws"), 0o755); err != nil {
		return err
	}
	return os.Symlink(shared, filepath.Join(cache, "lambdaws", "dynalite"))
}

// fnSource is a function that answers a two-way route with its pid and
// GREETING after holding its environment for a moment; on ?fail it
// answers $connect with 500; on "log" it prints a plain line, a JSON line
// and a slog line with a stack, as ws logs a panic.
const fnSource = `package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, e events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		switch {
		case e.RequestContext.RouteKey == "$connect" && e.QueryStringParameters["fail"] != "":
			return events.APIGatewayProxyResponse{StatusCode: 500}, nil
		case e.RequestContext.RouteKey == "$connect" || e.RequestContext.RouteKey == "$disconnect":
			return events.APIGatewayProxyResponse{StatusCode: 200}, nil
		case e.Body == "log":
			fmt.Println("a plain line")
			fmt.Println(` + "`" + `{"level":"INFO","message":"a JSON line"}` + "`" + `)
			slog.Error("ws: handler failed", "stack", string(debug.Stack()))
		}
		time.Sleep(300 * time.Millisecond) // holds its environment: concurrent messages need others
		return events.APIGatewayProxyResponse{StatusCode: 200, Body: fmt.Sprintf("%s %s pid %d", os.Getenv("GREETING"), e.RequestContext.RouteKey, os.Getpid())}, nil
	})
}
`

// fnTemplate serves Fn on $connect and on two-way routes (keys), with
// properties added to Fn's.
func fnTemplate(greeting, props string, keys ...string) string {
	var routes strings.Builder
	for i, k := range append([]string{"$connect"}, keys...) {
		fmt.Fprintf(&routes, `  Route%d:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: %q, Target: !Sub "integrations/${Integration}"}
`, i, k)
		if i > 0 {
			fmt.Fprintf(&routes, `  Response%d:
    Type: AWS::ApiGatewayV2::RouteResponse
    Properties: {ApiId: !Ref Api, RouteId: !Ref Route%d, RouteResponseKey: $default}
`, i, i)
		}
	}
	return `
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  Integration:
    Type: AWS::ApiGatewayV2::Integration
    Properties: {ApiId: !Ref Api, IntegrationType: AWS_PROXY, IntegrationUri: !GetAtt Fn.Arn}
` + routes.String() + `  Fn:
    Type: AWS::Lambda::Function
    Metadata: {BuildMethod: go1.x}
    Properties:
      Code: .
      Handler: bootstrap
      Runtime: provided.al2023
      Environment: {Variables: {GREETING: ` + greeting + `}}
` + props
}

// TestLocalReservedConcurrency: with ReservedConcurrentExecutions 1, six
// clients sending at once are served one at a time by one environment
// (one pid, one cold start), as Lambda would. Without it they get several.
func TestLocalReservedConcurrency(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	for _, tc := range []struct {
		name  string
		props string
		one   bool
	}{
		{"reserved 1", "      ReservedConcurrentExecutions: 1\n", true},
		{"unreserved", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := goFunctionDir(t, fnSource, fnTemplate("hi", tc.props, "$default"))
			p := startLocal(t, nil, "--template", filepath.Join(dir, "template.yaml"))
			ctx := testContext(t, 2*time.Minute)
			clients := make([]*client, 6)
			for i := range clients {
				clients[i] = dial(t, ctx, fmt.Sprint("c", i), p.URL, nil)
			}
			var wg sync.WaitGroup
			for _, c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c.send(ctx, "x")
				}()
			}
			wg.Wait()
			pids := map[string]bool{}
			for _, c := range clients {
				reply := c.next()
				pid, ok := strings.CutPrefix(reply, "hi $default pid ")
				if !ok {
					t.Fatalf("reply %q", reply)
				}
				pids[pid] = true
			}
			if tc.one && len(pids) != 1 {
				t.Errorf("%d environments (pids %v) served six clients with ReservedConcurrentExecutions 1", len(pids), pids)
			}
			if !tc.one && len(pids) < 2 {
				t.Errorf("one environment served six concurrent clients without reserved concurrency: the test does not observe concurrency")
			}
		})
	}
}

// TestLocalReload edits the template while a client is connected: an added
// route and a changed variable take effect on the same connection; an
// invalid edit is reported and the previous version keeps serving.
func TestLocalReload(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	dir := goFunctionDir(t, fnSource, fnTemplate("v1", "", "$default"))
	path := filepath.Join(dir, "template.yaml")
	p := startLocal(t, nil, "--template", path)
	ctx := testContext(t, 3*time.Minute)
	c := dial(t, ctx, "client", p.URL, nil)
	c.send(ctx, `{"action":"added"}`)
	if got := c.next(); !strings.HasPrefix(got, "v1 $default pid ") {
		t.Fatalf("before the edit: %q", got)
	}
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(fnTemplate("v2", "", "$default", "added"))
	if _, err := p.waitLog(regexp.MustCompile(`(?m)^reloaded template .*\(new environments for: Fn; removed: none\)$`), 1, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	c.send(ctx, `{"action":"added"}`)
	if got := c.next(); !strings.HasPrefix(got, "v2 added pid ") {
		t.Errorf("after the edit, on the same connection: %q, want v2 from route added", got)
	}

	write(fnTemplate("v3", "      ReservedConcurrentExecutions: -1\n", "$default"))
	if _, err := p.waitLog(regexp.MustCompile(`(?m)^error: reloading the template: .*ReservedConcurrentExecutions: "-1"`), 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := p.waitLog(regexp.MustCompile(`(?m)^the previous version of the template keeps serving$`), 1, 10*time.Second); err != nil {
		t.Error(err)
	}
	c.send(ctx, `{"action":"added"}`)
	if got := c.next(); !strings.HasPrefix(got, "v2 added pid ") {
		t.Errorf("after an invalid edit: %q, want the previous version (v2, route added)", got)
	}
	if got, _ := dialStatus(t, ctx, p.URL, nil); got != http.StatusSwitchingProtocols {
		t.Errorf("new connection after an invalid edit: %d", got)
	}
}

// TestLocalJSONLogs runs lambdaws local with --log-format json: every line
// it writes to stdout is one JSON object (its own lines, the gateway's, and
// the function's, wrapped with its name or passed through); durations are
// in milliseconds; a $connect answered 500 is an ERROR.
func TestLocalJSONLogs(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	dir := goFunctionDir(t, fnSource, fnTemplate("hi", "", "$default"))
	p := startLocal(t, nil, "--template", filepath.Join(dir, "template.yaml"), "--log-format", "json")
	ctx := testContext(t, 2*time.Minute)
	if got, _ := dialStatus(t, ctx, p.URL+"?fail=1", nil); got != http.StatusInternalServerError {
		t.Errorf("$connect answered 500: handshake %d", got)
	}
	c := dial(t, ctx, "client", p.URL, nil)
	c.send(ctx, "log")
	c.next()
	if _, err := p.waitLog(regexp.MustCompile(`"message":"a JSON line"`), 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	p.stop()
	var connect500, wrapped, passed, invocation bool
	for _, line := range strings.Split(strings.TrimSuffix(p.out.String(), "\n"), "\n") {
		if strings.HasPrefix(line, "lambdaws: stopping") { // stderr
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Errorf("not a JSON object: %q: %v", line, err)
			continue
		}
		switch {
		case v["message"] == "local: connect refused" && v["status"] == 500.0:
			connect500 = v["level"] == "ERROR"
		case v["function"] == "Fn" && v["message"] == "a plain line":
			wrapped = v["timestamp"] != nil
		case v["message"] == "a JSON line" && len(v) == 2:
			passed = true
		case v["message"] == "local: message":
			_, invocation = v["durationMs"].(float64)
		}
	}
	for what, ok := range map[string]bool{
		"a $connect answered 500 logged at ERROR":         connect500,
		"the function's plain line wrapped with its name": wrapped,
		"the function's JSON line passed through":         passed,
		"a message's durationMs, a number":                invocation,
	} {
		if !ok {
			t.Errorf("missing: %s\n%s", what, p.out.String())
		}
	}
}

// TestLocalTextStack: in text, a stack logged by a function (slog's
// stack="..." as ws logs a panic) is printed as its lines.
func TestLocalTextStack(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	dir := goFunctionDir(t, fnSource, fnTemplate("hi", "", "$default"))
	p := startLocal(t, nil, "--template", filepath.Join(dir, "template.yaml"))
	ctx := testContext(t, 2*time.Minute)
	c := dial(t, ctx, "client", p.URL, nil)
	c.send(ctx, "log")
	c.next()
	if _, err := p.waitLog(regexp.MustCompile(`(?m)^Fn: .*ERROR ws: handler failed\s*\nFn:     goroutine \d+ \[running\]:\nFn:     runtime/debug.Stack\(\)`), 1, 10*time.Second); err != nil {
		t.Error(err)
	}
	if m, _ := p.waitLog(regexp.MustCompile(`durationMs=[\d.]+`), 1, 10*time.Second); len(m) == 0 {
		t.Errorf("no durationMs in text:\n%s", p.out.String())
	}
}

// TestLocalDynamoDBDefault serves the chat example's template with no
// AWS_ENDPOINT_URL_DYNAMODB and no credentials: lambdaws starts a local
// DynamoDB, creates the table, and two clients chat; the table is there
// while it serves, and the local DynamoDB is gone after it stops.
func TestLocalDynamoDBDefault(t *testing.T) {
	testenv.Integration(t, "the lambdaws command and dynalite")
	p := startLocal(t, nil, "--template", repoPath(t, "examples/chat/template.yaml"))
	m, err := p.waitLog(regexp.MustCompile(`(?m)^local DynamoDB \(dynalite [\d.]+\) at (http://127\.0\.0\.1:\d+), in memory`), 1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	endpoint := m[0][1]
	ctx := testContext(t, time.Minute)
	aliceGreetsBob(t, ctx, p.URL)
	db := dynamodb.New(dynamodb.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("x", "x", ""),
	})
	out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("ConnectionsTable"), Select: "COUNT"})
	if err != nil || out.Count < 2 {
		t.Errorf("the local table: %v, %v", out, err)
	}
	p.stop()
	if _, err := http.Get(endpoint); err == nil {
		t.Errorf("the local DynamoDB at %s still answers after lambdaws stopped", endpoint)
	}
}

// waitGone waits until nothing answers at endpoint.
func waitGone(t *testing.T, endpoint string, timeout time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(endpoint)
		if err != nil {
			return
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatalf("the local DynamoDB at %s still answers %v after lambdaws ended", endpoint, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLocalDynamoDBKilled: the local DynamoDB ends with lambdaws even when
// lambdaws is killed (SIGKILL: no cleanup runs).
func TestLocalDynamoDBKilled(t *testing.T) {
	testenv.Integration(t, "the lambdaws command and dynalite")
	p := startLocal(t, nil, "--template", repoPath(t, "examples/chat/template.yaml"))
	m, err := p.waitLog(regexp.MustCompile(`local DynamoDB \(dynalite [\d.]+\) at (http://\S+),`), 1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
	waitGone(t, m[0][1], 30*time.Second)
}

// TestLocalDynamoDBDir: with --dynamodb-dir, the tables and items outlive
// lambdaws: a second run finds the table (not created again) with the
// first run's item.
func TestLocalDynamoDBDir(t *testing.T) {
	testenv.Integration(t, "the lambdaws command and dynalite")
	dir := t.TempDir()
	ctx := testContext(t, 2*time.Minute)
	endpoint := regexp.MustCompile(`local DynamoDB \(dynalite [\d.]+\) at (http://\S+), in ` + regexp.QuoteMeta(dir))
	var counts []int32
	for run, want := range []string{`created table ConnectionsTable \(ConnectionsTable\)`, `table ConnectionsTable \(ConnectionsTable\) exists`} {
		p := startLocal(t, nil, "--template", repoPath(t, "examples/chat/template.yaml"), "--dynamodb-dir", dir)
		m, err := p.waitLog(endpoint, 1, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.waitLog(regexp.MustCompile(want), 1, 10*time.Second); err != nil {
			t.Errorf("run %d: %v", run+1, err)
		}
		db := dynamodb.New(dynamodb.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(m[0][1]),
			Credentials: credentials.NewStaticCredentialsProvider("x", "x", ""),
		})
		if run == 0 {
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("ConnectionsTable"), Item: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "kept"}, "sk": &types.AttributeValueMemberS{Value: "kept"},
			}})
			if err != nil {
				t.Fatal(err)
			}
		}
		out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("ConnectionsTable"), Select: "COUNT"})
		if err != nil {
			t.Fatal(err)
		}
		counts = append(counts, out.Count)
		p.stop()
		waitGone(t, m[0][1], 30*time.Second)
	}
	if counts[1] != counts[0] || counts[0] == 0 {
		t.Errorf("items: %d in the first run, %d in the second", counts[0], counts[1])
	}
}
