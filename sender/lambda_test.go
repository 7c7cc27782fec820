package sender_test

import (
	"context"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lambdaws/lambdaws/sender"
)

// childMode, in the environment of a re-executed test binary, selects what
// it runs (see TestLambdaEnvironment).
const childMode = "LAMBDAWS_TEST_CHILD"

// lambdaEnv returns the environment Lambda gives a function (provided.al2023
// or go1.x) in eu-west-1, built from nothing: static session credentials,
// no AWS_CA_BUNDLE, no AWS_PROFILE, no HOME and so no ~/.aws files, and no
// AWS_CONFIG_FILE or AWS_SHARED_CREDENTIALS_FILE. extra (SSL_CERT_FILE,
// the function's own variables) is appended.
func lambdaEnv(extra ...string) []string {
	env := []string{
		"PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin",
		"LD_LIBRARY_PATH=/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
		"LANG=en_US.UTF-8",
		"TZ=:UTC",
		"_HANDLER=bootstrap",
		"LAMBDA_TASK_ROOT=/var/task",
		"LAMBDA_RUNTIME_DIR=/var/runtime",
		"AWS_EXECUTION_ENV=AWS_Lambda_go1.x",
		"AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001",
		"AWS_LAMBDA_FUNCTION_NAME=chat",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/chat",
		"AWS_LAMBDA_LOG_STREAM_NAME=2026/12/07/[$LATEST]0123456789abcdef0123456789abcdef",
		"AWS_REGION=eu-west-1",
		"AWS_DEFAULT_REGION=eu-west-1",
		"AWS_ACCESS_KEY_ID=AKIDTEST",
		"AWS_SECRET_ACCESS_KEY=secret",
		"AWS_SESSION_TOKEN=token-of-the-session",
		"AWS_XRAY_CONTEXT_MISSING=LOG_ERROR",
		"AWS_XRAY_DAEMON_ADDRESS=169.254.79.129:2000",
		"_AWS_XRAY_DAEMON_ADDRESS=169.254.79.129",
		"_AWS_XRAY_DAEMON_PORT=2000",
	}
	if d := os.Getenv("GOCOVERDIR"); d != "" {
		env = append(env, "GOCOVERDIR="+d) // go test -cover
	}
	return append(env, extra...)
}

// runInLambdaEnv re-executes the test binary to run only test, with
// childMode set to mode, in lambdaEnv(extra...) and an empty working
// directory (where the SDK would look for .aws without HOME). It fails t
// with the child's output unless the child passes.
func runInLambdaEnv(t *testing.T, test, mode string, extra ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^"+test+"$", "-test.v")
	cmd.Env = lambdaEnv(append(extra, childMode+"="+mode)...)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("in Lambda's environment: %v\n%s", err, out)
	}
}

// trustFile writes the certificate of an httptest TLS server to a PEM file
// for SSL_CERT_FILE.
func trustFile(t *testing.T, m *mgmtAPI) string {
	f := filepath.Join(t.TempDir(), "cert.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: m.Certificate().Raw})
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestLambdaEnvironment runs the signed path (Send, Broadcast, Info and
// Close, through NewForEndpoint and a Pool) in a process whose environment
// is a Lambda function's, the management API trusted through SSL_CERT_FILE
// only, as a private CA would be. Without AWS_CA_BUNDLE the AWS configuration
// has no HTTP client: the sender must bring the SDK's default one (issue
// 24.1: a nil-interface call, which killed the process from Broadcast).
func TestLambdaEnvironment(t *testing.T) {
	if os.Getenv(childMode) == "lambda" {
		lambdaChild(t)
		return
	}
	api := newMgmtAPITLS(t, "prod", 0)
	runInLambdaEnv(t, "TestLambdaEnvironment", "lambda",
		"SSL_CERT_FILE="+trustFile(t, api),
		"WEBSOCKET_API_GATEWAY_ENDPOINT="+api.endpoint())

	want := map[string]string{"one": "hello one", "b1": "to all", "b2": "to all", "b3": "to all", "pooled": "hello pooled"}
	for id, w := range want {
		if got, _ := api.got(id); string(got) != w {
			t.Errorf("%s received %q, want %q", id, got, w)
		}
	}
	if api.count("GET", "one") != 1 || api.count("DELETE", "one") != 1 {
		t.Errorf("Info and Close made %d and %d calls, want 1 each", api.count("GET", "one"), api.count("DELETE", "one"))
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if len(api.badSigs) != 0 {
		t.Errorf("bad signatures: %q", api.badSigs)
	}
	for i, a := range api.authz {
		if a == "" || api.tokens[i] != "token-of-the-session" {
			t.Errorf("request %d: Authorization %q, X-Amz-Security-Token %q", i, a, api.tokens[i])
		}
	}
}

// lambdaChild is TestLambdaEnvironment in the child process.
func lambdaChild(t *testing.T) {
	for _, v := range []string{"AWS_CA_BUNDLE", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "HOME"} {
		if _, ok := os.LookupEnv(v); ok {
			t.Fatalf("%s is set in the child", v)
		}
	}
	ctx := context.Background()
	endpoint := os.Getenv("WEBSOCKET_API_GATEWAY_ENDPOINT")
	// First a broadcast, which sends from worker goroutines, where a panic
	// ends the process.
	ids := func(yield func(string, error) bool) {
		for _, id := range []string{"b1", "b2", "b3"} {
			if !yield(id, nil) {
				return
			}
		}
	}
	var pool sender.Pool
	res, err := pool.Get(endpoint).Broadcast(ctx, ids, []byte("to all"), nil)
	if err != nil || res.Sent != 3 {
		t.Fatalf("Broadcast: %+v, %v", res, err)
	}
	s := sender.NewForEndpoint(endpoint, nil)
	if err := s.Send(ctx, "one", []byte("hello one")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Info(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	if err := pool.Get(endpoint).Send(ctx, "pooled", []byte("hello pooled")); err != nil {
		t.Fatal(err)
	}
}
