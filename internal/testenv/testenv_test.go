package testenv

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRepoRoot(t *testing.T) {
	root := RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("RepoRoot() = %q, no go.mod there: %v", root, err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "testenv", "testenv.go")); err != nil {
		t.Fatalf("RepoRoot() = %q, not this module's root: %v", root, err)
	}
}

func TestDynalite(t *testing.T) {
	start := time.Now()
	endpoint := Dynalite(t)
	t.Logf("dynalite answered at %s after %v", endpoint, time.Since(start))
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// dynalite answers an unsigned request with an error status, but it answers.
	if resp.StatusCode == 0 {
		t.Fatalf("no status")
	}
}

func TestDynaliteStops(t *testing.T) {
	var endpoint string
	t.Run("start", func(t *testing.T) { endpoint = Dynalite(t) })
	if endpoint == "" {
		t.Skip("dynalite not started")
	}
	client := &http.Client{Timeout: time.Second}
	if resp, err := client.Get(endpoint); err == nil {
		resp.Body.Close()
		t.Fatalf("dynalite at %s still answers after its test finished", endpoint)
	}
}
