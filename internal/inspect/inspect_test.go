package inspect

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestGlobalRingKeepsTheLast(t *testing.T) {
	r := New()
	for i := range GlobalEvents + 10 {
		r.Publish(Event{Kind: KindManage, Status: i})
	}
	snap, s := r.subscribe()
	defer r.unsubscribe(s)
	if len(snap.Events) != GlobalEvents {
		t.Fatalf("%d events kept, want %d", len(snap.Events), GlobalEvents)
	}
	for i, e := range snap.Events {
		if e.Status != i+10 {
			t.Fatalf("event %d is #%d, want #%d (oldest first)", i, e.Status, i+10)
		}
	}
}

func TestConnFramesAndClosedConns(t *testing.T) {
	r := New()
	r.Publish(Event{Kind: KindConn, Conn: "a", State: Open, SourceIP: "127.0.0.1", Query: "x=1"})
	for i := range ConnFrames + 5 {
		r.Frame("a", In, false, []byte(fmt.Sprint(i)), 0, "")
	}
	r.Frame("a", Out, false, []byte("bye"), 0, "")
	r.Publish(Event{Kind: KindConn, Conn: "a", State: Closed, Code: 1000})
	r.Publish(Event{Kind: KindConn, Conn: "a", State: Closing, Code: 1001}) // late: ignored
	snap, s := r.subscribe()
	r.unsubscribe(s)
	c := snap.Conns[0]
	if c.State != Closed || c.Code != 1000 || c.Query != "x=1" || c.In != ConnFrames+5 || c.Out != 1 {
		t.Errorf("state %+v", c)
	}
	if opened := snap.Events[0]; opened.State != Open || !c.Time.Equal(opened.Time) {
		t.Errorf("closed connection's time %v, want when it opened, %v", c.Time, opened.Time)
	}
	if f := r.frames("a"); len(f) != ConnFrames || f[0].Data != "6" || f[len(f)-1].Data != "bye" {
		t.Errorf("%d frames from %q to %q, want %d from \"6\" to \"bye\"", len(f), f[0].Data, f[len(f)-1].Data, ConnFrames)
	}

	for i := range ClosedConns + 1 {
		id := fmt.Sprint("c", i)
		r.Publish(Event{Kind: KindConn, Conn: id, State: Open})
		r.Publish(Event{Kind: KindConn, Conn: id, State: Closed})
	}
	r.mu.Lock()
	n, _, kept := len(r.conns), r.conns["a"], r.conns["c1"]
	r.mu.Unlock()
	if n != ClosedConns || kept == nil {
		t.Errorf("%d connections kept, want the last %d closed", n, ClosedConns)
	}
}

func TestFramePreview(t *testing.T) {
	r := New()
	long := strings.Repeat("é", FramePreview) // 2 bytes each
	r.Frame("a", In, false, []byte(long), 0, "")
	r.Frame("a", In, true, []byte{0, 1, 2, 0xff}, 100, "refused: Binary frames are not supported")
	r.Frame("a", In, false, []byte{'a', 0xff}, 0, "refused: Invalid UTF-8")
	f := r.frames("a")
	if f[0].Size != 2*FramePreview || !f[0].Cut || len(f[0].Data) > FramePreview {
		t.Errorf("long text frame: size %d, cut %v, %d bytes kept", f[0].Size, f[0].Cut, len(f[0].Data))
	}
	if !f[1].Binary || f[1].Data != "000102ff" || f[1].Size != 100 || !f[1].Cut || f[1].Note == "" {
		t.Errorf("binary frame %+v", f[1])
	}
	if !f[2].Binary || f[2].Data != "61ff" {
		t.Errorf("invalid UTF-8 frame %+v, want it shown in hex", f[2])
	}
}

// A page that does not read never slows publishing: its stream ends, marked
// lost, and the others go on.
func TestSlowPageDoesNotBlock(t *testing.T) {
	r := New()
	_, slow := r.subscribe()
	_, fast := r.subscribe()
	got := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range fast.ch {
			got++
		}
	}()
	start := time.Now()
	for range 10 * streamBuffer {
		r.Frame("a", Out, false, []byte("x"), 0, "")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("publishing took %v", d)
	}
	r.Close()
	<-done
	r.mu.Lock()
	lost := slow.lost
	r.mu.Unlock()
	if !lost {
		t.Error("the page that did not read is not marked lost")
	}
	if got == 0 {
		t.Error("the reading page got no event")
	}
}

func TestNilRecorder(t *testing.T) {
	var r *Recorder
	r.Publish(Event{Kind: KindConn})
	r.Frame("a", In, false, nil, 0, "")
	r.Close()
	if r.Env() != 0 {
		t.Error("Env on nil")
	}
}

func TestAllowed(t *testing.T) {
	for _, c := range []struct {
		name, remote, host string
		header             map[string]string
		want               bool
	}{
		{"loopback", "127.0.0.1:5000", "127.0.0.1:8080", nil, true},
		{"localhost", "127.0.0.1:5000", "localhost:8080", nil, true},
		{"ipv6", "[::1]:5000", "[::1]:8080", nil, true},
		{"same origin", "127.0.0.1:5000", "127.0.0.1:8080", map[string]string{"Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-origin"}, true},
		{"typed in the address bar", "127.0.0.1:5000", "127.0.0.1:8080", map[string]string{"Sec-Fetch-Site": "none"}, true},
		{"foreign host (DNS rebinding)", "127.0.0.1:5000", "attacker.example:8080", nil, false},
		{"a LAN address as host", "127.0.0.1:5000", "192.168.1.2:8080", nil, false},
		{"localhost suffix", "127.0.0.1:5000", "localhost.attacker.example:8080", nil, false},
		{"another origin", "127.0.0.1:5000", "127.0.0.1:8080", map[string]string{"Origin": "http://attacker.example"}, false},
		{"another port", "127.0.0.1:5000", "127.0.0.1:8080", map[string]string{"Origin": "http://127.0.0.1:9090"}, false},
		{"null origin", "127.0.0.1:5000", "127.0.0.1:8080", map[string]string{"Origin": "null"}, false},
		{"cross-site", "127.0.0.1:5000", "127.0.0.1:8080", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"same-site", "127.0.0.1:5000", "127.0.0.1:8080", map[string]string{"Sec-Fetch-Site": "same-site"}, false},
		{"remote peer", "192.168.1.9:5000", "127.0.0.1:8080", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/@inspector/", nil)
			req.RemoteAddr, req.Host = c.remote, c.host
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			if got := Allowed(req); got != c.want {
				t.Errorf("Allowed = %v, want %v", got, c.want)
			}
		})
	}
}

func TestMask(t *testing.T) {
	e := Event{Query: "name=ann&token=s3cret&x", Payload: Body(`{"headers":{"Authorization":"Bearer s3cret","Host":"h"},"multiValueHeaders":{"Cookie":["a=s3cret"]},"queryStringParameters":{"token":"s3cret","name":"ann"}}`)}
	mask(&e)
	if strings.Contains(e.Query, "s3cret") || !strings.Contains(e.Query, "name=ann") {
		t.Errorf("query %q", e.Query)
	}
	if strings.Contains(string(e.Payload), "s3cret") || !strings.Contains(string(e.Payload), `"Host":"h"`) || !strings.Contains(string(e.Payload), `"name":"ann"`) {
		t.Errorf("event %s", e.Payload)
	}
	e = Event{Payload: Body(`{"headers":{"Authorization":"Bearer s3cr`)} // cut
	mask(&e)
	if strings.Contains(string(e.Payload), "s3cret") {
		t.Errorf("cut event shown: %s", e.Payload)
	}
}

// TestHandler serves the page and the stream to a same-origin client, and
// an action only with its Origin.
func TestHandler(t *testing.T) {
	r := New()
	var posted string
	h := Handler(r, Path, Actions{
		Post:       func(conn string, data []byte) int { posted = conn + ":" + string(data); return 200 },
		Disconnect: func(string) int { return 410 },
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer r.Close()

	resp, err := http.Get(srv.URL + Path + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("page: %d %v", resp.StatusCode, resp.Header)
	}
	r.Publish(Event{Kind: KindInvoke, Route: "$connect", Payload: Body(`{"headers":{"Authorization":"Bearer s3cret"}}`)})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+Path+"/events", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	next := func() string {
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				return data
			}
		}
		t.Fatalf("stream ended: %v", sc.Err())
		return ""
	}
	var snap snapshot
	if err := json.Unmarshal([]byte(next()), &snap); err != nil || len(snap.Events) != 1 {
		t.Fatalf("snapshot %v %+v", err, snap)
	}
	if strings.Contains(string(snap.Events[0].Payload), "s3cret") {
		t.Errorf("the snapshot shows a credential: %s", snap.Events[0].Payload)
	}
	r.Frame("c", Out, false, []byte("live"), 0, "")
	var e Event
	if err := json.Unmarshal([]byte(next()), &e); err != nil || e.Data != "live" {
		t.Fatalf("live event %v %+v", err, e)
	}

	post := func(origin string) int {
		req, _ := http.NewRequest("POST", srv.URL+Path+"/post?conn=c", strings.NewReader("hi"))
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(""); got != http.StatusForbidden || posted != "" {
		t.Errorf("POST without Origin: %d, posted %q", got, posted)
	}
	if got := post(srv.URL); got != 200 || posted != "c:hi" {
		t.Errorf("same-origin POST: %d, posted %q", got, posted)
	}
}
