//go:build unix

package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/internal/testenv"
)

// The lines the function of testdata/afterconnect prints, prefixed by
// lambdaws with its name, and the gateway's line for a finished Event
// invocation.
var (
	greetedLine = regexp.MustCompile(`(?m)^AfterFunction: greeted (\S+)$`)
	gonePost    = regexp.MustCompile(`(?m)^AfterFunction: 410 post (\S+)$`)
	goneGet     = regexp.MustCompile(`(?m)^AfterFunction: 410 get (\S+)$`)
	eventLine   = regexp.MustCompile(`msg="local: invoke" function=AfterFunction type=Event`)
)

// welcomeOf reads a client's first message, the welcome, and returns the
// connection id it names.
func welcomeOf(c *client) string {
	c.t.Helper()
	var w struct{ Welcome string }
	if m := c.next(); json.Unmarshal([]byte(m), &w) != nil || w.Welcome == "" {
		c.t.Fatalf("%s: first message %q, want the welcome", c.name, m)
	}
	return w.Welcome
}

// TestLocalAfterConnect serves a function that greets with ws.AfterConnect
// through lambdaws local: the welcome reaches each client without the
// client sending anything, once, also for 100 clients at once; a refused
// $connect greets nobody; and clients that leave before their welcome cause
// no error. The function counts the management API's 410 answers: no
// welcome is ever posted to a connection not yet open.
func TestLocalAfterConnect(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	p := startLocal(t, nil, "--template", repoPath(t, "integration/testdata/afterconnect/template.yaml"))
	if _, err := p.waitLog(regexp.MustCompile(`Lambda Invoke API for the functions: http://127\.0\.0\.1:\d+ \(AWS_ENDPOINT_URL_LAMBDA\)`), 1, 10*time.Second); err != nil { // printed after the API's line
		t.Error(err)
	}
	ctx := testContext(t, 3*time.Minute)

	// One client: greeted first, before it sends anything.
	c := dial(t, ctx, "first", p.URL, nil)
	id := welcomeOf(c)
	c.send(ctx, "ping")
	c.expect("pong")

	// Refused: no AfterConnect (counted below).
	if status, _ := dialStatus(t, ctx, p.URL+"?deny=1", nil); status != http.StatusForbidden {
		t.Errorf("?deny=1: status %d, want 403", status)
	}

	// 100 clients at once, each greeted with its own id, exactly once.
	const n = 100
	clients := make([]*client, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, _, err := websocket.Dial(ctx, p.URL, nil)
			if err != nil {
				errs <- err
				return
			}
			cl := &client{t: t, name: fmt.Sprint("client ", i), conn: conn, msgs: make(chan string, 16), done: make(chan struct{})}
			go cl.read()
			clients[i] = cl
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ids := map[string]bool{id: true}
	for _, cl := range clients {
		t.Cleanup(func() { cl.conn.CloseNow() })
		w := welcomeOf(cl)
		if ids[w] {
			t.Errorf("%s: welcome %s given twice", cl.name, w)
		}
		ids[w] = true
	}
	if _, err := p.waitLog(eventLine, n+1, time.Minute); err != nil {
		t.Fatal(err)
	}
	greeted := greetedLine.FindAllStringSubmatch(p.out.String(), -1)
	if len(greeted) != n+1 {
		t.Errorf("AfterConnect ran %d times for %d accepted connections (and a refused one)", len(greeted), n+1)
	}
	for _, m := range greeted {
		if !ids[m[1]] {
			t.Errorf("AfterConnect ran for %s, not a client's connection", m[1])
		}
	}
	for _, cl := range clients {
		select {
		case m := <-cl.msgs:
			t.Errorf("%s: a second message %q", cl.name, m)
		default:
		}
	}
	if m := gonePost.FindAllString(p.out.String(), -1); len(m) > 0 {
		t.Errorf("%d welcomes posted to connections not yet open:\n%s", len(m), strings.Join(m, "\n"))
	}
	t.Logf("GetConnection answered 410 %d times for %d connections before they were open", len(goneGet.FindAllString(p.out.String(), -1)), n+1)

	// Clients that close before their AfterConnect looks for them (?late=1
	// delays its GetConnection): no welcome, no error, a bounded number of
	// lines.
	before := len(strings.Split(p.out.String(), "\n"))
	const leavers = 10
	for range leavers {
		conn, _, err := websocket.Dial(ctx, p.URL+"?late=1", nil)
		if err != nil {
			t.Fatal(err)
		}
		conn.Close(websocket.StatusNormalClosure, "")
	}
	if _, err := p.waitLog(eventLine, n+1+leavers, time.Minute); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(p.out.String(), "\n")[before-1:]
	if got := len(greetedLine.FindAllString(p.out.String(), -1)); got != n+1 {
		t.Errorf("AfterConnect ran for %d connections, want %d: the leavers were greeted", got, n+1)
	}
	var errLines []string
	for _, l := range lines {
		if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") || strings.Contains(l, `"level":"ERROR"`) {
			errLines = append(errLines, l)
		}
	}
	if len(errLines) > 0 {
		t.Errorf("leaving clients caused %d warnings or errors:\n%s", len(errLines), strings.Join(errLines, "\n"))
	}
	// Per leaver: connect, disconnect and invoke lines, and its 410s (at
	// most 7 GetConnection calls with 500 ms each in 3 s).
	if len(lines) > leavers*12 {
		t.Errorf("%d lines for %d leaving clients:\n%s", len(lines), leavers, strings.Join(lines, "\n"))
	}
}
