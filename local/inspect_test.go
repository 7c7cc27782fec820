package local_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/internal/inspect"
	"github.com/lambdaws/lambdaws/local"
)

// inspect opens the inspector's event stream of h's gateway, returns its
// snapshot and a function returning the next live event.
func inspectStream(t *testing.T, h *harness) (conns []inspect.Event, events []inspect.Event, next func() inspect.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", h.srv.URL+inspect.Path+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 4<<20)
	data := func() []byte {
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				return []byte(d)
			}
		}
		t.Fatalf("stream ended: %d %v", resp.StatusCode, sc.Err())
		return nil
	}
	var snap struct {
		Conns  []inspect.Event
		Events []inspect.Event
	}
	if err := json.Unmarshal(data(), &snap); err != nil {
		t.Fatal(err)
	}
	return snap.Conns, snap.Events, func() inspect.Event {
		var e inspect.Event
		if err := json.Unmarshal(data(), &e); err != nil {
			t.Fatal(err)
		}
		return e
	}
}

// TestInspector: what a client and a handler do shows in the inspector,
// with the environment that ran each invocation, and its actions act.
func TestInspector(t *testing.T) {
	rec := inspect.New()
	h := start(t, &local.Options{Inspector: rec, Routes: twoWay()}, func(ctx context.Context, ev event) (response, error) {
		return response{StatusCode: 200, Body: "echo " + ev.Body}, nil
	})
	c := h.dial("?name=ann&token=s3cret", nil)
	write(t, c, "hello")
	if got := read(t, c); got != "echo hello" {
		t.Fatalf("reply %q", got)
	}
	resp, err := http.Post(h.srv.URL+"/local/@connections/nope", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	// The reply reaches the client as the gateway writes it, a moment before
	// the gateway records it: take snapshots until it is there.
	conns, events, next := inspectStream(t, h)
	for deadline := time.Now().Add(10 * time.Second); len(conns) == 1 && conns[0].Out == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		conns, events, next = inspectStream(t, h)
	}
	if len(conns) != 1 {
		t.Fatalf("%d connections", len(conns))
	}
	s := conns[0]
	if s.State != inspect.Open || s.SourceIP != "127.0.0.1" || s.Query != "name=ann&token=****" || s.In != 1 || s.Out != 1 {
		t.Errorf("connection %+v", s)
	}
	resp, err = http.Get(h.srv.URL + inspect.Path + "/frames?conn=" + url.QueryEscape(s.Conn))
	if err != nil {
		t.Fatal(err)
	}
	var f []inspect.Event
	err = json.NewDecoder(resp.Body).Decode(&f)
	resp.Body.Close()
	if err != nil || len(f) != 2 || f[0].Dir != inspect.In || f[0].Data != "hello" || f[1].Dir != inspect.Out || f[1].Data != "echo hello" {
		t.Errorf("frames %+v", f)
	}
	var msg, gone *inspect.Event
	busy := map[string]bool{}
	for i, e := range events {
		switch {
		case e.Kind == inspect.KindInvoke && e.Route == "$default":
			msg = &events[i]
		case e.Kind == inspect.KindManage && e.Status == http.StatusGone:
			gone = &events[i]
		case e.Kind == inspect.KindEnv && e.State == inspect.Busy:
			busy[e.Request] = true
		}
	}
	if msg == nil || msg.Status != 200 || msg.Conn != s.Conn || !strings.Contains(string(msg.Payload), `"body":"hello"`) || !strings.Contains(string(msg.Response), "echo hello") {
		t.Errorf("invocation %+v", msg)
	} else if !busy[msg.Request] {
		t.Errorf("no environment busy with request %s: %v", msg.Request, busy)
	}
	if gone == nil || gone.Conn != "nope" || gone.Method != "POST" {
		t.Errorf("410 %+v", gone)
	}

	// The page's actions, same-origin.
	act := func(path string, body string) int {
		req, _ := http.NewRequest("POST", h.srv.URL+inspect.Path+"/"+path+"?conn="+s.Conn, strings.NewReader(body))
		req.Header.Set("Origin", h.srv.URL)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := act("post", "from the page"); got != 200 {
		t.Errorf("post: %d", got)
	}
	if got := read(t, c); got != "from the page" {
		t.Errorf("posted %q", got)
	}
	if got := act("post", strings.Repeat("x", 128<<10+1)); got != http.StatusRequestEntityTooLarge {
		t.Errorf("post over 128 KiB: %d", got)
	}
	if got := act("send", "as the client"); got != 200 {
		t.Errorf("send: %d", got)
	}
	if got := read(t, c); got != "echo as the client" {
		t.Errorf("reply to the message sent as the client: %q", got)
	}
	h.nextOf("MESSAGE") // "hello"
	if ev := h.nextOf("MESSAGE"); ev.Body != "as the client" || ev.RequestContext.ConnectionID != s.Conn {
		t.Errorf("the handler got %q from %s", ev.Body, ev.RequestContext.ConnectionID)
	}
	if got := act("send", "\xff"); got != http.StatusBadRequest {
		t.Errorf("send of invalid UTF-8: %d", got)
	}
	if got := act("disconnect", ""); got != http.StatusNoContent {
		t.Errorf("disconnect: %d", got)
	}
	if ce := readClose(t, c); ce.Code != websocket.StatusNormalClosure {
		t.Errorf("closed with %v", ce)
	}
	for {
		e := next()
		if e.Kind == inspect.KindConn && e.State == inspect.Closed {
			if e.Code != 1000 || e.Conn != s.Conn {
				t.Errorf("closed: %+v", e)
			}
			break
		}
	}
	if got := act("disconnect", ""); got != http.StatusGone {
		t.Errorf("disconnect again: %d", got)
	}
}

// TestInspectorOff: without an Inspector the path is the API's, as before.
func TestInspectorOff(t *testing.T) {
	h := start(t, nil, nil)
	resp, err := http.Get(h.srv.URL + inspect.Path + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("%d, want 404", resp.StatusCode)
	}
}
