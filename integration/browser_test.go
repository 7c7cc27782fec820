//go:build unix

package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/internal/testenv"
)

// TestBrowserChat opens the chat example's page in two tabs of headless
// Chromium, driven over the Chrome DevTools Protocol, and checks that a
// message typed and sent in one tab shows in the other as
// "#general anonymous: TEXT", and back after a /nick.
func TestBrowserChat(t *testing.T) {
	testenv.Integration(t, "Chromium and the example chat")
	chromium := testenv.Chromium(t)
	p := startExample(t, "chat", nil)
	browserChat(t, chromium, "http://"+p.Addr+"/")
}

// browserChat runs the scenario of TestBrowserChat on the chat page at
// pageURL.
func browserChat(t *testing.T, chromium, pageURL string) {
	ctx := testContext(t, 90*time.Second)
	browser := startBrowser(t, ctx, chromium)

	tab1, tab2 := browser.open(ctx, pageURL), browser.open(ctx, pageURL)
	for _, tab := range []*tab{tab1, tab2} {
		tab.waitFor(ctx, `document.body.dataset.state === "open"`)
		// The chat's AfterConnect welcome, before the page sent anything.
		tab.waitFor(ctx, `document.getElementById("log").innerText.includes("welcome, anonymous! #general: ")`)
	}

	tab1.eval(ctx, `(() => { const i = document.getElementById("input"); i.value = "hello from tab 1"; document.getElementById("send").click(); })()`)
	tab2.waitFor(ctx, `document.getElementById("log").innerText.includes("#general anonymous: hello from tab 1")`)

	tab2.eval(ctx, `(() => { const i = document.getElementById("input"); i.value = "/nick bob"; document.getElementById("send").click(); })()`)
	tab2.waitFor(ctx, `document.getElementById("log").innerText.includes("nickname set to [bob]")`)
	tab2.eval(ctx, `(() => { const i = document.getElementById("input"); i.value = "hi tab 1"; document.getElementById("send").click(); })()`)
	tab1.waitFor(ctx, `document.getElementById("log").innerText.includes("#general bob: hi tab 1")`)

	// Neither tab received its own line from the server.
	for _, c := range []struct {
		tab  *tab
		line string
	}{{tab1, "#general anonymous: hello from tab 1"}, {tab2, "#general bob: hi tab 1"}} {
		if got := c.tab.eval(ctx, `document.getElementById("log").innerText`); regexp.MustCompile(regexp.QuoteMeta(c.line)).MatchString(got) {
			t.Errorf("a tab shows its own line %q:\n%s", c.line, got)
		}
	}
}

// browser is a headless Chromium driven over its DevTools WebSocket.
type browser struct {
	t    *testing.T
	conn *websocket.Conn

	lastID  atomic.Int64
	mu      sync.Mutex
	pending map[int64]chan cdpResponse
}

type cdpResponse struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

var devToolsLine = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

// startBrowser starts Chromium in its own process group with a fresh
// profile and connects to it; both end with the test.
func startBrowser(t *testing.T, ctx context.Context, path string) *browser {
	t.Helper()
	profile := t.TempDir() // removed after the browser is killed (cleanups run last-in first-out)
	cmd := exec.Command(path, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir="+profile, "--remote-debugging-port=0", "about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	exited := make(chan struct{})
	var output lockedLines
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			output.add(sc.Text())
			if m := devToolsLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("chromium did not exit after SIGKILL")
		}
		if t.Failed() {
			t.Logf("chromium output:\n%s", output.String())
		}
	})

	var wsURL string
	select {
	case wsURL = <-found:
	case <-exited:
		t.Fatalf("chromium exited before listening:\n%s", output.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("chromium printed no DevTools URL after 30 s:\n%s", output.String())
	}
	conn, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatalf("connect to chromium's DevTools at %s: %v", wsURL, err)
	}
	conn.SetReadLimit(64 << 20)
	b := &browser{t: t, conn: conn, pending: map[int64]chan cdpResponse{}}
	go b.read()
	t.Cleanup(func() { conn.CloseNow() })
	return b
}

func (b *browser) read() {
	for {
		_, data, err := b.conn.Read(context.Background())
		if err != nil {
			b.mu.Lock()
			for id, ch := range b.pending {
				close(ch)
				delete(b.pending, id)
			}
			b.mu.Unlock()
			return
		}
		var msg struct {
			ID int64 `json:"id"`
			cdpResponse
		}
		if json.Unmarshal(data, &msg) != nil || msg.ID == 0 {
			continue // an event
		}
		b.mu.Lock()
		ch := b.pending[msg.ID]
		delete(b.pending, msg.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- msg.cdpResponse
		}
	}
}

// call sends a DevTools command, to the browser or to a page's session, and
// decodes its result into result.
func (b *browser) call(ctx context.Context, session, method string, params, result any) {
	b.t.Helper()
	if err := b.try(ctx, session, method, params, result); err != nil {
		b.t.Fatal(err)
	}
}

// try is call returning its error.
func (b *browser) try(ctx context.Context, session, method string, params, result any) error {
	id := b.lastID.Add(1)
	ch := make(chan cdpResponse, 1)
	b.mu.Lock()
	b.pending[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	data, _ := json.Marshal(msg)
	if err := b.conn.Write(ctx, websocket.MessageText, data); err != nil {
		return fmt.Errorf("devtools %s: %w", method, err)
	}
	var resp cdpResponse
	var ok bool
	select {
	case resp, ok = <-ch:
		if !ok {
			return fmt.Errorf("devtools %s: connection to chromium lost", method)
		}
	case <-ctx.Done():
		return fmt.Errorf("devtools %s: %w", method, ctx.Err())
	}
	if resp.Error != nil {
		return fmt.Errorf("devtools %s: %s", method, resp.Error.Message)
	}
	if result != nil {
		if err := json.Unmarshal(resp.Result, result); err != nil {
			return fmt.Errorf("devtools %s: %w", method, err)
		}
	}
	return nil
}

// tab is a page of the browser.
type tab struct {
	b       *browser
	session string
}

// open opens url in a new tab.
func (b *browser) open(ctx context.Context, url string) *tab {
	b.t.Helper()
	var target struct {
		TargetID string `json:"targetId"`
	}
	b.call(ctx, "", "Target.createTarget", map[string]any{"url": url}, &target)
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	return &tab{b: b, session: attached.SessionID}
}

// eval evaluates a JavaScript expression in the tab and returns its value
// as a string (JSON for non-strings).
func (tb *tab) eval(ctx context.Context, expr string) string {
	tb.b.t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	// A navigation (the tab loading its page) destroys the context an
	// evaluation runs in; evaluate again in the new one.
	for attempt := 0; ; attempt++ {
		err := tb.b.try(ctx, tb.session, "Runtime.evaluate", map[string]any{
			"expression": expr, "awaitPromise": true, "returnByValue": true,
		}, &res)
		if err == nil {
			break
		}
		if attempt == 50 || !strings.Contains(err.Error(), "context") {
			tb.b.t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if e := res.ExceptionDetails; e != nil {
		tb.b.t.Fatalf("javascript %s: %s %s", expr, e.Text, e.Exception.Description)
	}
	var s string
	if json.Unmarshal(res.Result.Value, &s) == nil {
		return s
	}
	return string(res.Result.Value)
}

// waitFor waits until a JavaScript condition holds in the tab, for at most
// 15 s, checking inside the page every 50 ms.
func (tb *tab) waitFor(ctx context.Context, cond string) {
	tb.b.t.Helper()
	got := tb.eval(ctx, fmt.Sprintf(`new Promise((resolve) => {
		const deadline = Date.now() + 15000;
		const check = () => {
			let ok = false;
			try { ok = !!(%s); } catch (e) {}
			if (ok) return resolve("ok");
			if (Date.now() > deadline) return resolve("timeout: " + document.body.innerText);
			setTimeout(check, 50);
		};
		check();
	})`, cond))
	if got != "ok" {
		tb.b.t.Fatalf("waiting for %s: %s", cond, strconv.Quote(got))
	}
}

// lockedLines keeps the lines a process printed.
type lockedLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *lockedLines) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) < 1000 {
		l.lines = append(l.lines, s)
	}
}

func (l *lockedLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := ""
	for _, s := range l.lines {
		out += s + "\n"
	}
	return out
}
