package integration

import (
	"archive/zip"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/internal/testenv"
)

// zipFunction builds the Go package pkg (a folder under the repository) for
// this machine as bootstrap and writes it, alone, to the zip package out.
func zipFunction(t *testing.T, pkg, out string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-o", bin, "./"+pkg)
	cmd.Dir = testenv.RepoRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if _, err := io.Copy(w, in); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies the files of the folder src (recursively) into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLocalServerlessFramework serves what `serverless package` (v3) wrote
// for a Go app: functions whose Code is in S3, found as the zip packages
// serverless-state.json names; the API's id, endpoint and callback URL as
// the functions were handed them; a REQUEST authorizer that builds its
// policy from the API id in its environment.
func TestLocalServerlessFramework(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	dir := t.TempDir()
	copyDir(t, repoPath(t, "integration/testdata/serverless-v3"), dir)
	zipFunction(t, "integration/testdata/callback", filepath.Join(dir, "bin", "callback.zip"))
	zipFunction(t, "integration/testdata/apiauth", filepath.Join(dir, "bin", "apiauth.zip"))

	p := startLocal(t, awsEnv, "--template", filepath.Join(dir, ".serverless", "cloudformation-template-update-stack.json"))
	ctx := testContext(t, time.Minute)
	// The rewrites are printed at start, each value named.
	if _, err := p.waitLog(regexp.MustCompile(`local address: function ChatLambdaFunction, variable CALLBACK_URL: https://[a-z0-9]{10}\.execute-api\.us-east-1\.amazonaws\.com/dev → https://`+regexp.QuoteMeta(p.Addr)+`/dev`), 1, 10*time.Second); err != nil {
		t.Error(err)
	}
	if got, _ := dialStatus(t, ctx, p.URL+"?token=nope", nil); got != http.StatusForbidden {
		t.Errorf("$connect with a token the authorizer denies: %d, want 403", got)
	}
	c := dial(t, ctx, "client", p.URL+"?token=letmein", nil)
	c.send(ctx, "hello")
	var got map[string]string
	if err := json.Unmarshal([]byte(c.next()), &got); err != nil {
		t.Fatal(err)
	}
	if got["apiId"] == "" || got["apiId"] != got["envApiId"] {
		t.Errorf("the event's apiId %q, the function's API_ID %q: want one value", got["apiId"], got["envApiId"])
	}
	if want := "https://" + p.Addr + "/dev"; got["callback"] != want {
		t.Errorf("CALLBACK_URL %q, want %q", got["callback"], want)
	}
	if want := "wss://" + p.Addr; got["endpoint"] != want {
		t.Errorf("API_ENDPOINT %q, want %q", got["endpoint"], want)
	}
	if got["user"] != "ann" {
		t.Errorf("principalId %q, want ann", got["user"])
	}
	if strings.Contains(p.out.String(), "warning: function") {
		t.Errorf("warnings at start:\n%s", p.out.String())
	}
}

// TestLocalCDK synthesizes a CDK app (integration/testdata/cdkapp: a
// WebSocketApi and WebSocketStage, GoFunctions built for linux/arm64, a
// WebSocketLambdaAuthorizer and a Code.fromAsset zip function) without an
// account or Docker, and serves the synthesized template: the arm64
// functions are built from their source for this machine, the zip asset is
// unpacked, the functions' callbackUrl, apiEndpoint and apiId name the local
// API, and the authorizer's ARN, built from apiId, matches the methodArn.
func TestLocalCDK(t *testing.T) {
	testenv.Integration(t, "the CDK (node) and the lambdaws command")
	app := repoPath(t, "integration/testdata/cdkapp")
	if _, err := os.Stat(filepath.Join(app, "node_modules", "aws-cdk-lib")); err != nil {
		testenv.Require(t, "the CDK fixture's packages are not installed", "run scripts/deps.sh (npm ci --prefix integration/testdata/cdkapp)")
	}
	dir := t.TempDir()
	zipFunction(t, "integration/testdata/callback", filepath.Join(dir, "callback.zip"))
	out := filepath.Join(dir, "cdk.out")
	synth := exec.Command("node", "synth.js")
	synth.Dir = app
	synth.Env = append(os.Environ(), "CDK_OUTDIR="+out, "CALLBACK_ZIP="+filepath.Join(dir, "callback.zip"))
	if b, err := synth.CombinedOutput(); err != nil {
		t.Fatalf("synth: %v\n%s", err, b)
	}

	p := startLocal(t, awsEnv, "--template", filepath.Join(out, "WsChat.template.json"))
	ctx := testContext(t, time.Minute)
	for _, line := range []string{
		`function Auth\w+: building it for this machine from \S+/integration/testdata/apiauth`,
		`function Chat\w+: building it for this machine from \S+/integration/testdata/callback`,
		`route \$default → Chat\w+ \(one-way\) \[WsChat/Chat/Resource\]`,
		`local address: function Chat\w+, variable CALLBACK_URL: https://[a-z0-9]{10}\.execute-api\.us-east-1\.amazonaws\.com/dev → https://` + regexp.QuoteMeta(p.Addr) + `/dev`,
	} {
		if _, err := p.waitLog(regexp.MustCompile(line), 1, 10*time.Second); err != nil {
			t.Error(err)
		}
	}
	if got, _ := dialStatus(t, ctx, p.URL+"?token=nope", nil); got != http.StatusForbidden {
		t.Errorf("$connect with a token the authorizer denies: %d, want 403", got)
	}
	c := dial(t, ctx, "client", p.URL+"?token=letmein", nil)
	for _, msg := range []string{"hello", `{"action":"zip"}`} { // the GoFunction, then the zip asset
		c.send(ctx, msg)
		var got map[string]string
		if err := json.Unmarshal([]byte(c.next()), &got); err != nil {
			t.Fatal(err)
		}
		if got["apiId"] == "" || got["apiId"] != got["envApiId"] {
			t.Errorf("%s: the event's apiId %q, the function's API_ID %q: want one value", msg, got["apiId"], got["envApiId"])
		}
		if want := "https://" + p.Addr + "/dev"; got["callback"] != want {
			t.Errorf("%s: CALLBACK_URL %q, want %q", msg, got["callback"], want)
		}
		if want := "wss://" + p.Addr; got["endpoint"] != want {
			t.Errorf("%s: API_ENDPOINT %q, want %q", msg, got["endpoint"], want)
		}
	}
}
