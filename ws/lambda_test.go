package ws_test

import (
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lambdaws/lambdaws/ws"
)

// TestLambdaEnvironment runs SendMessage, Reply and Broadcast from a handler
// in a process whose environment is a Lambda function's (no AWS_CA_BUNDLE,
// no AWS configuration files, static session credentials), against an
// HTTPS management API trusted through SSL_CERT_FILE only, so that calls
// are signed (issue 24.1: they failed with a recovered nil-interface panic,
// Broadcast ended the process).
func TestLambdaEnvironment(t *testing.T) {
	if os.Getenv("LAMBDAWS_TEST_CHILD") == "lambda" {
		lambdaChild(t)
		return
	}
	var (
		mu  sync.Mutex
		got []string // "escaped-path body", signed with the session token
	)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(r.Header.Get("Authorization"), "Credential=AKIDTEST/") || r.Header.Get("X-Amz-Security-Token") != "token-of-the-session" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		mu.Lock()
		got = append(got, r.URL.EscapedPath()+" "+string(body))
		mu.Unlock()
	}))
	defer srv.Close()
	cert := filepath.Join(t.TempDir(), "cert.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestLambdaEnvironment$", "-test.v")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{ // as Lambda sets it (see sender's TestLambdaEnvironment), no HOME
		"PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin", "LANG=en_US.UTF-8", "TZ=:UTC",
		"_HANDLER=bootstrap", "LAMBDA_TASK_ROOT=/var/task", "LAMBDA_RUNTIME_DIR=/var/runtime",
		"AWS_EXECUTION_ENV=AWS_Lambda_go1.x", "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001",
		"AWS_LAMBDA_FUNCTION_NAME=chat", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/chat",
		"AWS_LAMBDA_LOG_STREAM_NAME=2026/12/07/[$LATEST]0123456789abcdef0123456789abcdef",
		"AWS_REGION=eu-west-1", "AWS_DEFAULT_REGION=eu-west-1",
		"AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret", "AWS_SESSION_TOKEN=token-of-the-session",
		"SSL_CERT_FILE=" + cert,
		"WEBSOCKET_API_GATEWAY_ENDPOINT=" + srv.URL + "/prod",
		"LAMBDAWS_TEST_CHILD=lambda",
		"LAMBDAWS_TEST_DIR=" + dir, // the package's, for testdata
	}
	if d := os.Getenv("GOCOVERDIR"); d != "" {
		cmd.Env = append(cmd.Env, "GOCOVERDIR="+d)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("in Lambda's environment: %v\n%s", err, out)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(got)
	want := []string{
		"/prod/@connections/R1kmxc2VNjMCFIA%3D reply",
		"/prod/@connections/a%3D to all",
		"/prod/@connections/b%3D to all",
		"/prod/@connections/peer%3D to the peer",
	}
	if !slices.Equal(got, want) {
		t.Errorf("the management API got %q\nwant %q", got, want)
	}
}

// lambdaChild is TestLambdaEnvironment in the child process.
func lambdaChild(t *testing.T) {
	empty, _ := os.Getwd() // where the SDK looks for .aws without HOME
	if err := os.Chdir(os.Getenv("LAMBDAWS_TEST_DIR")); err != nil {
		t.Fatal(err)
	}
	e := event(t, "sendmessage")
	if err := os.Chdir(empty); err != nil {
		t.Fatal(err)
	}
	r, _ := newRouter(true)
	r.OnRoute("sendmessage", func(ctx context.Context, req *ws.Request) error {
		// Broadcast first: it sends from goroutines, where a panic ends
		// the process.
		ids := func(yield func(string, error) bool) { _ = yield("a=", nil) && yield("b=", nil) }
		res, err := ws.Broadcast(ctx, ids, []byte("to all"), nil)
		if err != nil || res.Sent != 2 {
			t.Errorf("Broadcast: %+v, %v", res, err)
		}
		if err := ws.SendMessage(ctx, "peer=", "to the peer"); err != nil {
			return err
		}
		return ws.Reply(ctx, []byte("reply"))
	})
	if resp := serve(t, r, e); resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
}
