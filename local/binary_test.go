//go:build unix

package local_test

import (
	"context"
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/internal/testenv"
	"github.com/lambdaws/lambdaws/local"
	"github.com/lambdaws/lambdaws/local/lambdaenv"
)

// TestBinary serves every route with an unmodified binary that uses only
// aws-lambda-go, through the Lambda Runtime API: handshakes, messages in
// parallel on separate processes, a hung and an exiting process, and
// $disconnect; then no process is left.
func TestBinary(t *testing.T) {
	out := &testenv.LockedBuffer{}
	f := newBinary(t, buildTestdata(t, "wsecho"), &lambdaenv.Options{
		Name: "wsecho", Timeout: 2 * time.Second, Output: out, Logger: discard})
	h := serve(t, local.New(f, &local.Options{Logger: discard, Routes: twoWay()}))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, resp, err := websocket.Dial(ctx, h.url(), nil); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("dial without token: %v, want 401", err)
	}
	c := h.dial("?token=t", nil)

	type reply struct {
		Body       string
		Pid        int
		Start, End int64
	}
	readReply := func() reply {
		t.Helper()
		var r reply
		if s := read(t, c); json.Unmarshal([]byte(s), &r) != nil {
			t.Fatalf("got %s", s)
		}
		return r
	}
	pids := map[int]bool{}
	write(t, c, "sleep 300ms")
	write(t, c, "sleep 300ms")
	a, b := readReply(), readReply()
	// A second process served the second message because the first was
	// busy. Their run times need not overlap: on a loaded machine the
	// second process may start after the first message ended.
	if a.Pid == b.Pid {
		t.Errorf("two slow messages: %+v and %+v, want two processes", a, b)
	}
	pids[a.Pid], pids[b.Pid] = true, true

	for _, body := range []string{"hang", "exit"} {
		write(t, c, body)
		if got := read(t, c); !strings.HasPrefix(got, `{"message": "Internal server error"`) {
			t.Errorf("%s: got %s", body, got)
		}
		write(t, c, "hi")
		r := readReply()
		if r.Body != "hi" {
			t.Errorf("after %s: %+v", body, r)
		}
		pids[r.Pid] = true
	}

	c.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "disconnect 1000") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "disconnect 1000") {
		t.Errorf("$disconnect not seen in the output:\n%s", out)
	}
	h.g.Close()
	f.Close()
	for pid := range pids {
		if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
			t.Errorf("process %d still there after Close: %v", pid, err)
		}
	}
}
