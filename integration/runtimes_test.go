//go:build unix

package integration

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/internal/testenv"
)

// sdkCacheOnce links the AWS SDK folder of this test run's lambdaws cache
// to lambdaws's folder in the user's cache, so that the SDK packages that
// lambdaws local installs for Node.js functions are downloaded once, not
// on every run.
var sdkCacheOnce sync.Once

func shareSDKCache(t *testing.T) {
	t.Helper()
	buildLambdaws(t)
	sdkCacheOnce.Do(func() {
		cache, err := os.UserCacheDir()
		if err != nil {
			return
		}
		shared := filepath.Join(cache, "lambdaws", "sdk")
		var runCache string
		for _, kv := range lambdawsEnv {
			if v, ok := strings.CutPrefix(kv, "XDG_CACHE_HOME="); ok {
				runCache = filepath.Join(v, "lambdaws")
			}
		}
		if os.MkdirAll(shared, 0o755) == nil && os.MkdirAll(runCache, 0o755) == nil {
			os.Symlink(shared, filepath.Join(runCache, "sdk"))
		}
	})
}

// requireInterpreter skips (or with LAMBDAWS_INTEGRATION=1 fails) a test
// whose interpreter is missing.
func requireInterpreter(t *testing.T, name string) {
	if _, err := exec.LookPath(name); err != nil {
		testenv.Require(t, name+" is not on PATH", "install it (see scripts/deps.sh)")
	}
}

// coldStart bounds a reply that needs a new execution environment: an
// interpreter that imports an SDK takes seconds on a loaded machine.
const coldStart = time.Minute

// nextWithin returns c's next message, failing the test after d.
func nextWithin(t *testing.T, c *client, d time.Duration) string {
	t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-c.done:
		t.Fatalf("%s: connection ended while waiting for a message: %v", c.name, c.err)
	case <-time.After(d):
		t.Fatalf("%s: no message after %v", c.name, d)
	}
	return ""
}

// expectWithin reads c's next message within d and compares it with want.
func expectWithin(t *testing.T, c *client, d time.Duration, want string) {
	t.Helper()
	if got := nextWithin(t, c, d); got != want {
		t.Fatalf("%s: got %q, want %q", c.name, got, want)
	}
}

var disconnectedLine = regexp.MustCompile(`msg="local: disconnect"`)

// closeAll closes the clients and waits until lambdaws logged their
// $disconnects, so that stopping it does not wait for cold starts.
func closeAll(t *testing.T, p *proc, clients ...*client) {
	t.Helper()
	before := len(disconnectedLine.FindAllString(p.out.String(), -1))
	for _, c := range clients {
		c.conn.Close(websocket.StatusNormalClosure, "")
	}
	if _, err := p.waitLog(disconnectedLine, before+len(clients), coldStart); err != nil {
		t.Error(err)
	}
}

// errorFrame checks that msg is API Gateway's error frame for a failed
// integration.
func errorFrame(t *testing.T, msg, want string) {
	t.Helper()
	var f struct{ Message, ConnectionID, RequestID string }
	if err := json.Unmarshal([]byte(msg), &f); err != nil || f.Message != want || f.ConnectionID == "" || f.RequestID == "" {
		t.Errorf("error frame %q, want message %q with connectionId and requestId", msg, want)
	}
}

// TestLocalNodeChat serves a Node.js ES-module chat whose functions import
// the AWS SDK v3 without declaring it, against dynalite: two clients chat
// (the management API endpoint is the API's execute-api host on AWS, as in
// AWS's sample chat), and a function's error, timeout and crash answer as
// API Gateway does.
func TestLocalNodeChat(t *testing.T) {
	testenv.Integration(t, "lambdaws local, node, npm, dynalite")
	requireInterpreter(t, "node")
	shareSDKCache(t)
	endpoint := testenv.Dynalite(t)
	p := startLocal(t, append([]string{"AWS_ENDPOINT_URL_DYNAMODB=" + endpoint}, awsEnv...),
		"--template", repoPath(t, "integration/testdata/nodechat/template.yaml"), "--create-tables")
	if _, err := p.waitLog(regexp.MustCompile(`function SendMessage \(.*chat, nodejs20\.x\): node\S* \d+\.\d+\.\d+ \(/\S+\), reloaded when its files change`), 1, 10*time.Second); err != nil {
		t.Error(err)
	}
	if _, err := p.waitLog(regexp.MustCompile(`(installing|using) the AWS SDK for JavaScript v3 .*@aws-sdk/client-apigatewaymanagementapi, @aws-sdk/client-dynamodb, @aws-sdk/lib-dynamodb`), 1, 10*time.Second); err != nil {
		t.Error(err)
	}
	ctx := testContext(t, 5*time.Minute)
	if got, _ := dialStatus(t, ctx, p.URL, nil); got != http.StatusBadRequest {
		t.Errorf("$connect without a name: status %d, want the handler's 400", got)
	}
	alice := dial(t, ctx, "alice", p.URL+"?name=alice", nil)
	bob := dial(t, ctx, "bob", p.URL+"?name=bob", nil)
	alice.send(ctx, `{"action":"sendmessage","data":"hi bob"}`)
	expectWithin(t, bob, coldStart, "alice: hi bob (SendMessage)")
	alice.expect("alice: hi bob (SendMessage)")
	bob.send(ctx, `{"action":"sendmessage","data":"hi alice"}`)
	alice.expect("bob: hi alice (SendMessage)")
	bob.expect("bob: hi alice (SendMessage)")

	alice.send(ctx, `{"fail":"error"}`)
	errorFrame(t, nextWithin(t, alice, coldStart), "Internal server error")
	if _, err := p.waitLog(regexp.MustCompile(`TypeError`), 1, coldStart); err != nil {
		t.Errorf("the handler's error is not logged: %v", err)
	}
	alice.send(ctx, `{"fail":"timeout"}`)
	errorFrame(t, nextWithin(t, alice, coldStart), "Internal server error")
	if _, err := p.waitLog(regexp.MustCompile(`Task timed out after 5\.00 seconds`), 1, 10*time.Second); err != nil {
		t.Error(err)
	}
	alice.send(ctx, `{"fail":"crash"}`)
	errorFrame(t, nextWithin(t, alice, coldStart), "Internal server error")
	// A new environment serves the next message.
	alice.send(ctx, `{"action":"sendmessage","data":"still here"}`)
	expectWithin(t, bob, coldStart, "alice: still here (SendMessage)")
	closeAll(t, p, alice, bob)
	p.stop()
}

// TestLocalPythonChat serves a Python boto3 chat, three handlers in one
// CodeUri whose .python-version names a Python that is not installed:
// lambdaws runs the interpreter by its real path, found outside CodeUri,
// and boto3 comes from what that Python imports (requirements.txt lists
// only boto3 and botocore, which the runtime provides: nothing to install).
func TestLocalPythonChat(t *testing.T) {
	testenv.Integration(t, "lambdaws local, python3, dynalite")
	requireInterpreter(t, "python3")
	endpoint := testenv.Dynalite(t)
	p := startLocal(t, append([]string{"AWS_ENDPOINT_URL_DYNAMODB=" + endpoint}, awsEnv...),
		"--template", repoPath(t, "integration/testdata/pychat/template.yaml"), "--create-tables")
	m, err := p.waitLog(regexp.MustCompile(`function Message \(.*src, python3\.11\): (\S+) (3\.\d+\.\d+) \((\S+)\), reloaded when its files change`), 1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if exe := m[0][3]; strings.Contains(exe, "/shims/") || !filepath.IsAbs(exe) {
		t.Errorf("interpreter %s: want a real path, not a version manager's shim", exe)
	}
	ctx := testContext(t, 5*time.Minute)
	alice := dial(t, ctx, "alice", p.URL, nil)
	bob := dial(t, ctx, "bob", p.URL, nil)
	alice.send(ctx, `{"data":"hello"}`)
	want := "hello (Message, python " + strings.Join(strings.Split(m[0][2], ".")[:2], ".") + ")"
	expectWithin(t, bob, coldStart, want)
	alice.expect(want)

	alice.send(ctx, `{"fail":"error"}`)
	errorFrame(t, nextWithin(t, alice, coldStart), "Internal server error")
	if _, err := p.waitLog(regexp.MustCompile(`ValueError`), 1, coldStart); err != nil {
		t.Errorf("the handler's error is not logged: %v", err)
	}
	alice.send(ctx, `{"action":"slow","fail":"timeout"}`)
	errorFrame(t, nextWithin(t, alice, coldStart), "Internal server error")
	if _, err := p.waitLog(regexp.MustCompile(`function=SlowMessage .*Task timed out after 5\.00 seconds`), 1, 10*time.Second); err != nil {
		t.Error(err)
	}
	alice.send(ctx, `{"fail":"crash"}`)
	errorFrame(t, nextWithin(t, alice, coldStart), "Internal server error")
	bob.send(ctx, `{"data":"after the crash"}`)
	expectWithin(t, alice, coldStart, strings.Replace(want, "hello", "after the crash", 1))
	closeAll(t, p, alice, bob)
	p.stop()
}

// TestLocalMixedBuilds serves a CommonJS callback-style function whose
// package.json has a dependency (installed with npm into a build copy, as
// sam build does, never in CodeUri) on nodejs22.x, and a Go function built
// by its Makefile (BuildMethod makefile); editing the Node.js code rebuilds
// it while serving.
func TestLocalMixedBuilds(t *testing.T) {
	testenv.Integration(t, "lambdaws local, node, npm, make, go")
	requireInterpreter(t, "node")
	requireInterpreter(t, "make")
	shareSDKCache(t)
	src := repoPath(t, "integration/testdata/mixed")
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-R", src+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	// gomake builds in the repository's module: its go.mod is the repository's.
	gomake := filepath.Join(dir, "gomake")
	os.RemoveAll(gomake)
	if err := os.Symlink(filepath.Join(src, "gomake"), gomake); err != nil {
		t.Fatal(err)
	}
	p := startLocal(t, awsEnv, "--template", filepath.Join(dir, "template.yaml"), "--api", "Api")
	for _, re := range []string{
		`built Echo \(\S+\) in`,
		`built GoMake \(\S+\) in`,
		`function Echo \(\S*cjs, nodejs22\.x\): .*, built by npm, rebuilt when its files change`,
	} {
		if _, err := p.waitLog(regexp.MustCompile(re), 1, 10*time.Second); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "cjs", "node_modules")); err == nil {
		t.Error("npm installed into CodeUri; sam build installs into a build copy")
	}
	ctx := testContext(t, 5*time.Minute)
	c := dial(t, ctx, "client", p.URL, nil)
	c.send(ctx, "world")
	expectWithin(t, c, coldStart, "hello, world (Echo, true)")
	c.send(ctx, `{"action":"go"}`)
	expectWithin(t, c, coldStart, "made by make, _HANDLER=bootstrap")

	// An edit rebuilds the function; new environments run the new code.
	app := filepath.Join(dir, "cjs", "app.js")
	code, err := os.ReadFile(app)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(app, []byte(strings.Replace(string(code), "greeting(event.body)", `"edited " + greeting(event.body)`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := p.waitLog(regexp.MustCompile(`built Echo \(\S+\) in`), 2, time.Minute); err != nil {
		t.Fatal(err)
	}
	c.send(ctx, "again")
	expectWithin(t, c, coldStart, "edited hello, again (Echo, true)")
	p.stop()
}

// TestLocalPythonInitError serves an API whose $connect function fails at
// import: the handshake is refused with 502, as API Gateway refuses a
// $connect whose integration failed (local/AWS.md), and the error is
// logged.
func TestLocalPythonInitError(t *testing.T) {
	testenv.Integration(t, "lambdaws local, python3")
	requireInterpreter(t, "python3")
	p := startLocal(t, awsEnv, "--template", repoPath(t, "integration/testdata/mixed/template.yaml"), "--api", "BrokenApi")
	ctx := testContext(t, time.Minute)
	if got, _ := dialStatus(t, ctx, p.URL, nil); got != http.StatusBadGateway {
		t.Errorf("$connect whose function fails at init: status %d, want 502", got)
	}
	if _, err := p.waitLog(regexp.MustCompile(`no configuration`), 1, 10*time.Second); err != nil {
		t.Error(err)
	}
	p.stop()
}
