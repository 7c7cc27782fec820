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
	if _, err := p.waitLog(regexp.MustCompile(`local address: function ChatLambdaFunction, variable CALLBACK_URL: https://[a-z0-9]{10}\.execute-api\.us-east-1\.amazonaws\.com/dev → https://`+regexp.QuoteMeta(p.Addr)+`/dev`), 1, 0); err != nil {
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
