//go:build unix

package local_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/internal/testenv"
	"github.com/lambdaws/lambdaws/local"
	"github.com/lambdaws/lambdaws/local/lambdaenv"
)

// TestBinaryInitFailure: a $connect whose process fails its init is refused
// with 502, as a failed invocation.
func TestBinaryInitFailure(t *testing.T) {
	f := newBinary(t, buildTestdata(t, "badinit"), &lambdaenv.Options{Env: map[string]string{"BADINIT": "exit"}, Output: &testenv.LockedBuffer{}, Logger: discard})
	h := serve(t, local.New(f, &local.Options{Logger: discard}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, resp, err := websocket.Dial(ctx, h.url(), nil); err == nil || resp == nil || resp.StatusCode != http.StatusBadGateway {
		t.Errorf("dial: %v; want a 502 refusal", err)
	}
}

// TestBinaryLeaks: once the gateway and its binary Function are closed, no
// goroutine of package local, process or file descriptor is left.
func TestBinaryLeaks(t *testing.T) {
	path := buildTestdata(t, "wsecho") // the build is no leak
	fds := openFDs(t)
	out := &testenv.LockedBuffer{}
	f := newBinary(t, path, &lambdaenv.Options{Output: out, Logger: discard})
	h := serve(t, local.New(f, &local.Options{Logger: discard, Routes: twoWay()}))
	for _, c := range []*websocket.Conn{h.dial("?token=t", nil), h.dial("?token=t", nil)} {
		write(t, c, "sleep 200ms")
		read(t, c)
		c.Close(websocket.StatusNormalClosure, "")
	}
	h.g.Close() // waits for the $disconnects
	f.Close()
	h.srv.Close()
	if n := strings.Count(out.String(), "disconnect "); n != 2 {
		t.Errorf("%d $disconnect invocations ran before Close returned; want 2", n)
	}
	checkNoLeaks(t)
	if n := openFDs(t); n > fds {
		t.Errorf("%d open file descriptors after Close, %d before", n, fds)
	}
}
