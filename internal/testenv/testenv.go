package testenv

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// IntegrationEnv is the environment variable that runs the integration
// tests, those that start processes (Lambda binaries, the lambdaws command,
// Pushpin, Chromium, dynalite), and turns missing components from skips into
// failures. `make test` sets it to 1; plain `go test ./...` runs the unit
// tests only.
const IntegrationEnv = "LAMBDAWS_INTEGRATION"

// Integration skips the test unless IntegrationEnv is 1: it is an
// integration test, and needs says what it starts ("Pushpin", "Lambda
// binaries"). The skip message says how to run it.
func Integration(t testing.TB, needs string) {
	t.Helper()
	if !IntegrationEnabled() {
		t.Skipf("integration test (%s): run it with %s=1 go test, or make test", needs, IntegrationEnv)
	}
}

// IntegrationEnabled reports whether IntegrationEnv is 1, for a TestMain
// that prepares integration tests.
func IntegrationEnabled() bool { return os.Getenv(IntegrationEnv) == "1" }

// Require stops the test because a component is missing: what says what is
// missing, how says how to get it. It calls t.Fatalf when
// IntegrationEnabled() and t.Skipf otherwise.
func Require(t testing.TB, what, how string) {
	t.Helper()
	if IntegrationEnabled() {
		t.Fatalf("%s (%s=1, so this fails instead of skipping): %s", what, IntegrationEnv, how)
	}
	t.Skipf("%s: %s (with %s=1 this fails instead)", what, how, IntegrationEnv)
}

// RepoRoot returns the directory holding the module's go.mod, found by walking
// up from the test's working directory (the package directory under go test).
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return root
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another
// process may take it before the caller binds it; callers that start a server
// on it should retry on a bind failure.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// howDynalite is the instruction shown when dynalite cannot be started.
const howDynalite = "run `make test`, or `npm ci --prefix tools` in the repository root and then go test"
