//go:build unix

package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/lambdaws/lambdaws/internal/testenv"
)

// The lambdaws command, built once per test run, and the environment it
// runs in: the Go caches of this test run (HOME is a temporary folder in
// baseEnv), so that building the functions is mostly linking.
var (
	lambdawsOnce sync.Once
	lambdawsBin  string
	lambdawsEnv  []string
	lambdawsErr  error
)

func buildLambdaws(t testing.TB) {
	t.Helper()
	lambdawsOnce.Do(func() {
		dir, err := os.MkdirTemp(tmpDir, "lambdaws-cli-")
		if err != nil {
			lambdawsErr = err
			return
		}
		lambdawsBin = filepath.Join(dir, "lambdaws")
		args := []string{"build", "-o", lambdawsBin}
		if raceBuild {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "./cmd/lambdaws")...)
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			lambdawsErr = fmt.Errorf("go build ./cmd/lambdaws: %v\n%s", err, out)
			return
		}
		out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOFLAGS", "GOTOOLCHAIN").Output()
		if err != nil {
			lambdawsErr = err
			return
		}
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOFLAGS", "GOTOOLCHAIN"} {
			sc.Scan()
			lambdawsEnv = append(lambdawsEnv, k+"="+sc.Text())
		}
		// The functions' binaries, in a cache of this test run; the local
		// DynamoDB, in one of this machine.
		lambdawsEnv = append(lambdawsEnv, "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
		if lambdawsErr = shareDynalite(filepath.Join(dir, "cache")); lambdawsErr != nil {
			return
		}
		// The local CA, made by the first test that starts lambdaws.
		lambdawsEnv = append(lambdawsEnv, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	})
	if lambdawsErr != nil {
		t.Fatal(lambdawsErr)
	}
}

var apiLine = regexp.MustCompile(`API (\S+): ws://(\S+)/ \(stage (\S+)\), management API http://(\S+)/@connections`)

// startLocal runs `lambdaws local --addr 127.0.0.1:0` with args and waits
// for the line that gives the API's URL.
func startLocal(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	buildLambdaws(t)
	p := runBinary(t, lambdawsBin, append(append(lambdawsEnv, env...), "AWS_EC2_METADATA_DISABLED=true"),
		append([]string{"local", "--addr", "127.0.0.1:0"}, args...)...)
	m, err := p.waitLog(apiLine, 1, 2*time.Minute) // after building the functions
	if err != nil {
		t.Fatalf("lambdaws local did not print its URL: %v\n%s", err, p.out.String())
	}
	p.Addr = m[0][2]
	p.URL = "ws://" + p.Addr + "/"
	return p
}

func repoPath(t *testing.T, path string) string {
	return filepath.Join(testenv.RepoRoot(t), filepath.FromSlash(path))
}

// awsEnv are the AWS settings a developer exports to talk to local servers.
var awsEnv = []string{"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test"}

// TestLocalEcho serves the echo example's template: its function is built
// from source and answers through the management API.
func TestLocalEcho(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	p := startLocal(t, nil, "--template", repoPath(t, "examples/echo/template.yaml"))
	ctx := testContext(t, time.Minute)
	c := dial(t, ctx, "client", p.URL, nil)
	c.send(ctx, `{"action":"echo","data":{"hello":"world"}}`)
	if got := c.next(); got != `{"type":"echo","data":{"hello":"world"}}` {
		t.Errorf("echo: %s", got)
	}
	c.send(ctx, `{"action":"ping"}`)
	if got := c.next(); got != `{"type":"pong"}` {
		t.Errorf("ping: %s", got)
	}
	if m, _ := p.waitLog(apiLine, 1, 10*time.Second); m[0][1] != "Api" || m[0][3] != "prod" || m[0][4] != p.Addr+"/prod" {
		t.Errorf("API line: %q", m[0][0])
	}
	if _, err := p.waitLog(regexp.MustCompile(`built Function \(.*examples/echo\) in \d`), 1, 10*time.Second); err != nil {
		t.Error(err)
	}
}

// TestLocalChat serves the chat example's template against dynalite: the
// template's table is created, the function keeps its connections there,
// and stopping lambdaws runs every $disconnect, which removes them.
func TestLocalChat(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	endpoint := testenv.Dynalite(t)
	p := startLocal(t, append([]string{"AWS_ENDPOINT_URL_DYNAMODB=" + endpoint}, awsEnv...),
		"--template", repoPath(t, "examples/chat/template.yaml"), "--create-tables")
	if _, err := p.waitLog(regexp.MustCompile(`created table ConnectionsTable \(ConnectionsTable\)`), 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t, time.Minute)
	aliceGreetsBob(t, ctx, p.URL)

	db := dynamodb.New(dynamodb.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	count := func() int32 {
		out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("ConnectionsTable"), Select: "COUNT"})
		if err != nil {
			t.Fatal(err)
		}
		return out.Count
	}
	if n := count(); n < 2 {
		t.Errorf("%d items in the table with two connections", n)
	}
	p.stop()
	if n := count(); n != 0 {
		t.Errorf("%d items left in the table after lambdaws stopped: $disconnect did not run\n%s", n, p.out.String())
	}
	if !strings.Contains(p.out.String(), "stopped") {
		t.Errorf("no stop line:\n%s", p.out.String())
	}
}

// TestLocalBrowserChat opens the chat page in Chromium against the chat
// template served by lambdaws local (the page served from a file server,
// pointed at the API with ?ws=).
func TestLocalBrowserChat(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	chromium := testenv.Chromium(t)
	endpoint := testenv.Dynalite(t)
	p := startLocal(t, append([]string{"AWS_ENDPOINT_URL_DYNAMODB=" + endpoint}, awsEnv...),
		"--template", repoPath(t, "examples/chat/template.yaml"), "--create-tables")
	page := httptest.NewServer(http.FileServer(http.Dir(repoPath(t, "examples/chat"))))
	t.Cleanup(page.Close)
	browserChat(t, chromium, page.URL+"/index.html?ws="+url.QueryEscape(p.URL))
}

// TestLocalAuth serves the auth example: its authorizer, built from source,
// refuses connections with 401 and 403, and the handlers see the identity it
// allowed.
func TestLocalAuth(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	p := startLocal(t, nil, "--template", repoPath(t, "examples/auth/template.yaml"),
		"--parameter-overrides", "Tokens=t-ann=ann,t-mal=mallory Banned=mallory")
	ctx := testContext(t, time.Minute)
	for query, want := range map[string]int{
		"":             http.StatusUnauthorized, // no identity source: API Gateway refuses before the authorizer
		"?token=wrong": http.StatusUnauthorized,
		"?token=t-mal": http.StatusForbidden,
		"?token=t-ann": http.StatusSwitchingProtocols,
	} {
		if got, _ := dialStatus(t, ctx, p.URL+query, nil); got != want {
			t.Errorf("%s: status %d, want %d", query, got, want)
		}
	}
	c := dial(t, ctx, "ann", p.URL+"?token=t-ann", nil)
	c.send(ctx, "hi")
	if got := c.next(); got != "ann: hi" {
		t.Errorf("reply %q, want %q", got, "ann: hi")
	}
}

// TestLocalServerlessPlain serves an AWS::Serverless::WebSocketApi whose
// function uses only aws-lambda-go and the AWS SDK, unmodified: it sees
// Lambda's environment, its template's variables and LoggingConfig and the stage, answers
// through the management API, and its output is prefixed with its name.
func TestLocalServerlessPlain(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	p := startLocal(t, awsEnv, "--template", repoPath(t, "integration/testdata/serverless.yaml"))
	ctx := testContext(t, time.Minute)
	if got, _ := dialStatus(t, ctx, p.URL+"?deny=1", nil); got != http.StatusForbidden {
		t.Errorf("$connect answered 403: handshake status %d", got)
	}
	c := dial(t, ctx, "client", p.URL, nil)
	c.send(ctx, `{"action":"hello"}`)
	var got map[string]string
	if err := json.Unmarshal([]byte(c.next()), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"route": "hello", "stage": "test", "stageVar": "blue", "function": "PlainFunction", "memory": "256",
		"greeting": "hello from us-east-1", "table": "local-things", "handler": "bootstrap",
		"logs": "JSON DEBUG", // LoggingConfig in Globals
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the function saw\n\t%v\nwant\n\t%v", got, want)
	}
	if _, err := p.waitLog(regexp.MustCompile(`(?m)^PlainFunction: plain got \{"action":"hello"\}$`), 1, 10*time.Second); err != nil {
		t.Error(err)
	}
}

// goFunctionDir writes a Go function's module (main.go, and go.mod and
// go.sum requiring aws-lambda-go) and a template.yaml into a new temporary
// folder, and returns the folder.
func goFunctionDir(t *testing.T, source, template string) string {
	t.Helper()
	dir := t.TempDir()
	sum, err := os.ReadFile(repoPath(t, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	var sums []string
	for _, line := range strings.Split(string(sum), "\n") {
		if strings.HasPrefix(line, "github.com/aws/aws-lambda-go ") {
			sums = append(sums, line)
		}
	}
	for name, content := range map[string]string{
		"go.mod":        "module example.com/fn\n\ngo 1.24\n\nrequire github.com/aws/aws-lambda-go v1.54.0\n",
		"go.sum":        strings.Join(sums, "\n") + "\n",
		"main.go":       source,
		"template.yaml": template,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestLocalSecondSignal checks that a second SIGINT during a shutdown that
// waits for a hung $disconnect ends lambdaws at once: it says so, exits with
// a failure status, and the function's process is killed.
func TestLocalSecondSignal(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	dir := goFunctionDir(t, `package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, e events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		if e.RequestContext.RouteKey == "$disconnect" {
			fmt.Printf("hanging in $disconnect, pid %d\n", os.Getpid())
			select {}
		}
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	})
}
`, `
Resources:
  Api:
    Type: AWS::Serverless::WebSocketApi
    Properties: {Routes: {$connect: {FunctionArn: !GetAtt Fn.Arn}, $disconnect: {FunctionArn: !GetAtt Fn.Arn}}}
  Fn:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: go1.x}
    Properties: {CodeUri: ., Handler: bootstrap, Runtime: provided.al2023, Timeout: 60}
`)
	p := startLocal(t, nil, "--template", filepath.Join(dir, "template.yaml"))
	ctx := testContext(t, 2*time.Minute)
	dial(t, ctx, "client", p.URL, nil)
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if _, err := p.waitLog(regexp.MustCompile(`(?m)^lambdaws: stopping: .*interrupt again to stop at once$`), 1, 30*time.Second); err != nil {
		t.Fatalf("the first SIGINT is not acknowledged: %v", err)
	}
	m, err := p.waitLog(regexp.MustCompile(`(?m)^Fn: hanging in \$disconnect, pid (\d+)$`), 1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(m[0][1])
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) }) // if lambdaws left it running
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatal("lambdaws still running 5 s after a second SIGINT")
	}
	if code := p.cmd.ProcessState.ExitCode(); code == 0 {
		t.Errorf("exit status %d, want a failure", code)
	}
	if _, err := p.waitLog(regexp.MustCompile(`(?m)^lambdaws: second signal: `), 1, 10*time.Second); err != nil {
		t.Errorf("the last line does not say why: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the function's process %d after lambdaws exited: %v, want it gone", pid, err)
	}
}

// TestLocalInterruptBuild: SIGINT while a function builds stops the build
// and says so, before anything is served. A stand-in for go builds for
// ever.
func TestLocalInterruptBuild(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	buildLambdaws(t)
	stub, dir := t.TempDir(), t.TempDir()
	files := map[string]string{
		filepath.Join(stub, "go"):     "#!/bin/sh\ncase \"$1\" in\nbuild) exec sleep 600;;\nlist) pwd;;\nenv) echo /nonexistent;;\nesac\n",
		filepath.Join(dir, "main.go"): "package main\n\nfunc main() {}\n",
		filepath.Join(dir, "template.yaml"): `
Resources:
  Api: {Type: AWS::Serverless::WebSocketApi, Properties: {Routes: {$default: {FunctionArn: !GetAtt Fn.Arn}}}}
  Fn: {Type: AWS::Serverless::Function, Properties: {CodeUri: ., Handler: bootstrap, Runtime: provided.al2023}}
`,
	}
	for path, content := range files {
		if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p := runBinary(t, lambdawsBin, append(lambdawsEnv, "PATH="+stub+string(os.PathListSeparator)+os.Getenv("PATH")),
		"local", "--addr", "127.0.0.1:0", "--template", filepath.Join(dir, "template.yaml"))
	if _, err := p.waitLog(regexp.MustCompile(`(?m)^building Fn \(`), 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("lambdaws still running 30 s after SIGINT during a build")
	}
	for _, line := range []string{`(?m)^stopped the build of Fn \(`, `(?m)^lambdaws: interrupted: stopped the build`} {
		if _, err := p.waitLog(regexp.MustCompile(line), 1, 10*time.Second); err != nil {
			t.Error(err)
		}
	}
}

// TestLocalRebuild changes a function's source while it is served: the
// next invocation runs the rebuilt binary; a build error is printed and the
// last good binary keeps serving. The route is two-way (a route response),
// so the function's response body is the reply.
func TestLocalRebuild(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	source := func(version string) string {
		return `package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, e events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		return events.APIGatewayProxyResponse{StatusCode: 200, Body: "` + version + ` " + e.Body}, nil
	})
}
`
	}
	dir := goFunctionDir(t, source("v1"), `
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  Integration:
    Type: AWS::ApiGatewayV2::Integration
    Properties: {ApiId: !Ref Api, IntegrationType: AWS_PROXY, IntegrationUri: !GetAtt Fn.Arn}
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: $default, Target: !Join [/, [integrations, !Ref Integration]]}
  RouteResponse:
    Type: AWS::ApiGatewayV2::RouteResponse
    Properties: {ApiId: !Ref Api, RouteId: !Ref Route, RouteResponseKey: $default}
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Api, StageName: dev}
  Fn:
    Type: AWS::Lambda::Function
    Metadata: {BuildMethod: go1.x}
    Properties: {Code: ., Handler: bootstrap, Runtime: provided.al2023}
`)
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := startLocal(t, nil, "--template", filepath.Join(dir, "template.yaml"))
	ctx := testContext(t, 2*time.Minute)
	c := dial(t, ctx, "client", p.URL, nil)
	c.send(ctx, "a")
	if got := c.next(); got != "v1 a" {
		t.Fatalf("reply %q, want %q", got, "v1 a")
	}

	write("main.go", source("v2"))
	if _, err := p.waitLog(regexp.MustCompile(`built Fn \(.*\) in `), 2, time.Minute); err != nil {
		t.Fatal(err)
	}
	c.send(ctx, "b")
	if got := c.next(); got != "v2 b" {
		t.Errorf("after the rebuild: reply %q, want %q", got, "v2 b")
	}

	write("main.go", source("v3")+"syntax error")
	if _, err := p.waitLog(regexp.MustCompile(`build of Fn \(.*\) failed`), 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	c.send(ctx, "c")
	if got := c.next(); got != "v2 c" {
		t.Errorf("after a failed build: reply %q, want %q", got, "v2 c")
	}
}

// TestLocalRefuses checks the errors a person gets before anything is
// served: a runtime lambdaws local cannot run, and several APIs without
// --api.
func TestLocalRefuses(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	buildLambdaws(t)
	dir := t.TempDir()
	const fn = `
  Fn:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: ., Handler: app.handler, Runtime: java21}
  Api:
    Type: AWS::Serverless::WebSocketApi
    Properties: {RouteSelectionExpression: $request.body.action, Routes: {$default: {FunctionArn: !GetAtt Fn.Arn}}}
`
	for _, tc := range []struct{ name, template, want string }{
		{"runtime", "Resources:" + fn, "function Fn: runtime java21 is not supported"},
		{"two apis", "Resources:" + fn + "  Other:\n    Type: AWS::ApiGatewayV2::Api\n    Properties: {ProtocolType: WEBSOCKET}\n",
			"the template has 2 WebSocket APIs (Api, Other): pick one with --api"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".yaml")
			if err := os.WriteFile(path, []byte(tc.template), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(lambdawsBin, "local", "--template", path, "--addr", "127.0.0.1:0")
			cmd.Env = append(baseEnv(), lambdawsEnv...)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || !strings.Contains(string(out), tc.want) {
				t.Errorf("err %v, output:\n%s\nwant %q", err, out, tc.want)
			}
		})
	}
}

// aliceGreetsBob connects alice and bob to the chat at url (each greeted by
// its AfterConnect, unasked), names alice, and has her say hello to bob in
// #general.
func aliceGreetsBob(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	alice := dial(t, ctx, "alice", url, nil)
	alice.expect(chatWelcome("nobody else here"))
	bob := dial(t, ctx, "bob", url, nil)
	bob.expect(chatWelcome("anonymous"))
	alice.send(ctx, "/nick alice")
	if got := alice.next(); got != "nickname set to [alice]" {
		t.Fatalf("alice: %q", got)
	}
	alice.send(ctx, "hello bob")
	if got := bob.next(); got != "#general alice: hello bob" {
		t.Fatalf("bob: %q", got)
	}
}
