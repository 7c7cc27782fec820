//go:build unix

package integration

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/internal/testenv"
)

// TestInspectorBrowser opens the inspector page of `lambdaws local` (the echo
// example) in headless Chromium, driven by playwright-core from
// tools/node_modules (tools/inspector-check.cjs): the page lists the two
// clients' connections and frames, the invocations, a 410 and the
// environments, masks alice's Authorization header, downloads an event,
// sends a frame from its own client and gets the function's reply, posts to
// bob, sends a message as bob (the function answers him), and disconnects
// him, which bob sees. LAMBDAWS_INSPECTOR_SCREENSHOT
// names where to keep the screenshot (docs/inspector.png is one).
func TestInspectorBrowser(t *testing.T) {
	testenv.Integration(t, "the lambdaws command, Chromium and playwright-core")
	chromium := testenv.Chromium(t)
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Require(t, "node is not on PATH", "install Node.js, then run `npm ci --prefix tools`")
	}
	tools := filepath.Join(testenv.RepoRoot(t), "tools")
	if _, err := os.Stat(filepath.Join(tools, "node_modules", "playwright-core", "package.json")); err != nil {
		testenv.Require(t, "playwright-core is not installed", "run `make test`, or `npm ci --prefix tools`")
	}
	p := startLocal(t, nil, "--template", repoPath(t, "examples/echo/template.yaml"))
	m, err := p.waitLog(regexpInspector, 1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pageURL := m[0][1]
	ctx := testContext(t, 3*time.Minute)

	alice := dial(t, ctx, "alice", p.URL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer secret-token-123"}}})
	bob := dial(t, ctx, "bob", p.URL, nil)
	alice.send(ctx, `{"action":"echo","data":"I am alice"}`)
	alice.expect(`{"type":"echo","data":"I am alice"}`)
	bob.send(ctx, `{"action":"echo","data":"I am bob"}`)
	bob.expect(`{"type":"echo","data":"I am bob"}`)
	var ids []string
	for _, m := range regexp.MustCompile(`msg="local: connect" connectionId="([^"]+)"`).FindAllStringSubmatch(p.out.String(), -1) {
		ids = append(ids, m[1])
	}
	if len(ids) != 2 {
		t.Fatalf("connections %v, want alice's and bob's", ids)
	}
	resp, err := http.Post("http://"+p.Addr+"/prod/@connections/gone-id", "text/plain", strings.NewReader("hi"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Fatalf("PostToConnection to an unknown id: %d, want 410", resp.StatusCode)
	}

	shot := os.Getenv("LAMBDAWS_INSPECTOR_SCREENSHOT")
	if shot == "" {
		shot = filepath.Join(t.TempDir(), "inspector.png")
	}
	cmd := exec.CommandContext(ctx, node, filepath.Join(tools, "inspector-check.cjs"), chromium, pageURL, ids[1], shot, t.TempDir())
	out, err := cmd.CombinedOutput()
	t.Logf("inspector-check:\n%s", out)
	if err != nil {
		t.Fatalf("inspector-check: %v", err)
	}
	bob.expect("hello from the inspector")
	bob.expect(`{"type":"echo","data":"sent as bob"}`)
	if code := bob.closed(); code != websocket.StatusNormalClosure {
		t.Errorf("bob closed with %d, want 1000 (disconnected from the page)", code)
	}
}

// TestInspectorRefuses checks with plain HTTP requests that the inspector
// of `lambdaws local` serves nothing to a request with a foreign Host (DNS
// rebinding) or another site's Origin, nor an action without its own
// Origin, and that --inspect=false turns it off.
func TestInspectorRefuses(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	p := startLocal(t, nil, "--template", repoPath(t, "examples/echo/template.yaml"))
	m, err := p.waitLog(regexpInspector, 1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pageURL := m[0][1]
	get := func(method, url string, header map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, nil)
		for k, v := range header {
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(b)
	}
	if status, body := get("GET", pageURL, nil); status != http.StatusOK || !strings.Contains(body, "lambdaws inspector") {
		t.Fatalf("the page: %d %.200s", status, body)
	}
	_, port, _ := strings.Cut(p.Addr, ":")
	for _, c := range []struct {
		name, method, path string
		header             map[string]string
	}{
		{"foreign Host", "GET", "", map[string]string{"Host": "attacker.example:" + port}},
		{"foreign Host, events", "GET", "events", map[string]string{"Host": "attacker.example:" + port}},
		{"other Origin", "GET", "events", map[string]string{"Origin": "http://attacker.example"}},
		{"cross-site fetch", "GET", "events", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"action without Origin", "POST", "disconnect?conn=x", nil},
		{"action from another Origin", "POST", "disconnect?conn=x", map[string]string{"Origin": "http://localhost:1"}},
	} {
		status, body := get(c.method, pageURL+c.path, c.header)
		if status != http.StatusForbidden || strings.Contains(body, "inspector") || strings.Contains(body, "event") {
			t.Errorf("%s: %d %.200q, want 403 and nothing", c.name, status, body)
		}
	}
	if status, _ := get("POST", pageURL+"disconnect?conn=x", map[string]string{"Origin": "http://" + p.Addr}); status != http.StatusGone {
		t.Errorf("same-origin action on an unknown connection: %d, want 410", status)
	}

	off := startLocal(t, nil, "--template", repoPath(t, "examples/echo/template.yaml"), "--inspect=false")
	if _, err := off.waitLog(regexp.MustCompile(`route \$disconnect`), 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if regexpInspector.MatchString(off.out.String()) {
		t.Errorf("--inspect=false still prints the inspector:\n%s", off.out.String())
	}
	if status, body := get("GET", "http://"+off.Addr+"/@inspector/", nil); status != http.StatusNotFound {
		t.Errorf("--inspect=false: the page answers %d %.100s", status, body)
	}
}

var regexpInspector = regexp.MustCompile(`inspector: (http://127\.0\.0\.1:\d+/@inspector/)`)
