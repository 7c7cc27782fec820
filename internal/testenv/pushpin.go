package testenv

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// PushpinBinary is where Debian's pushpin package installs the runner.
const PushpinBinary = "/usr/bin/pushpin"

const howPushpin = "run `make test` (scripts/deps.sh installs it), or apt-get install pushpin"

// Pushpin starts Debian's pushpin (1.36) on free loopback ports with a
// temporary configuration whose runner starts its own zurl, condure, proxy and
// handler (see grip.md §3), routing clients as the routes line says, for
// example "* 127.0.0.1:8080,over_http". X-Forwarded-For is set to the
// client's address, whatever the client sent (x_forwarded_for=truncate:0,append,
// as docs/grip.md recommends). It returns the client URL
// ("http://127.0.0.1:PORT") and the publish URL for GRIP_URL
// ("http://127.0.0.1:PORT/"). Pushpin is stopped (SIGTERM, then SIGINT, then
// SIGKILL to its process group) when the test finishes. It is for
// integration tests only: see Integration. Without /usr/bin/pushpin the
// test fails.
func Pushpin(t testing.TB, routes string) (clientURL, publishURL string) {
	t.Helper()
	Integration(t, "Pushpin")
	if _, err := os.Stat(PushpinBinary); err != nil {
		Require(t, "pushpin not installed ("+PushpinBinary+" missing)", howPushpin)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		// A temp dir outside t.TempDir: Unix socket paths must stay short.
		dir, err := os.MkdirTemp("", "pp")
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		httpPort, pubPort := FreePort(t), FreePort(t)
		pushPort, subPort, cmdPort := FreePort(t), FreePort(t), FreePort(t)
		conf := fmt.Sprintf(`[global]
include={libdir}/internal.conf
rundir=%[1]s/run
ipc_prefix=lw-
[runner]
services=condure,zurl,pushpin-proxy,pushpin-handler
http_port=127.0.0.1:%[2]d
logdir=%[1]s/log
[proxy]
routesfile=routes
zurl_out_specs=ipc://{rundir}/{ipc_prefix}zurl-in
zurl_out_stream_specs=ipc://{rundir}/{ipc_prefix}zurl-in-stream
zurl_in_specs=ipc://{rundir}/{ipc_prefix}zurl-out
sig_iss=pushpin
sig_key=changeme
x_forwarded_for=truncate:0,append
updates_check=off
[handler]
push_in_spec=tcp://127.0.0.1:%[3]d
push_in_sub_specs=tcp://127.0.0.1:%[4]d
push_in_http_addr=127.0.0.1
push_in_http_port=%[5]d
command_spec=tcp://127.0.0.1:%[6]d
stats_spec=ipc://{rundir}/{ipc_prefix}stats
`, dir, httpPort, pushPort, subPort, pubPort, cmdPort)
		for _, d := range []string{"run", "log"} {
			if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
				t.Fatalf("testenv: %v", err)
			}
		}
		cfg := filepath.Join(dir, "pushpin.conf")
		if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		// A route of its own for warmUp, before the caller's.
		warm := httptest.NewServer(http.HandlerFunc(warmUpBackend))
		t.Cleanup(warm.Close)
		routeLines := "*,path_beg=" + warmUpPath + " " + strings.TrimPrefix(warm.URL, "http://") + ",over_http\n" + routes + "\n"
		if err := os.WriteFile(filepath.Join(dir, "routes"), []byte(routeLines), 0o644); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		p, err := start(PushpinBinary, "--config", cfg, "--merge-output")
		if err != nil {
			t.Fatalf("testenv: start pushpin: %v", err)
		}
		clientURL = "http://" + hostPort(httpPort)
		publishURL = "http://" + hostPort(pubPort) + "/"
		if err := waitPushpin(p, publishURL, clientURL, 20*time.Second); err != nil {
			stopGracefully(p)
			os.RemoveAll(dir)
			lastErr = err
			t.Logf("testenv: pushpin did not start: %v\n%s", err, p.output())
			continue
		}
		if err := warmUp(clientURL, publishURL); err != nil {
			t.Logf("testenv: pushpin warm-up: %v", err)
		}
		t.Cleanup(func() {
			stopGracefully(p)
			if t.Failed() {
				t.Logf("testenv: pushpin output:\n%s", p.output())
			}
			os.RemoveAll(dir)
		})
		return clientURL, publishURL
	}
	t.Fatalf("testenv: pushpin did not start: %v", lastErr)
	return "", ""
}

// waitPushpin waits until the publish port answers "Pushpin API" and the
// client port accepts TCP connections (without a request, which would reach
// the back end).
func waitPushpin(p *process, publishURL, clientURL string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	ready := func(url string, want string) bool {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return strings.Contains(string(b), want)
	}
	listening := func(addr string) bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	for {
		if ready(publishURL, "Pushpin API") && listening(strings.TrimPrefix(clientURL, "http://")) {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited before answering: %v", p.err)
		case <-ctx.Done():
			return fmt.Errorf("not ready at %s after %v", publishURL, timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stopGracefully signals the runner SIGTERM, then SIGINT, waiting up to 5 s
// after each (the runner stops the services it supervises), then SIGKILLs
// the whole process group, which also takes any straggler.
func stopGracefully(p *process) {
	for _, sig := range []os.Signal{syscall.SIGTERM, syscall.SIGINT} {
		if p.cmd.Process != nil {
			_ = p.cmd.Process.Signal(sig)
		}
		select {
		case <-p.done:
			killProcessGroup(p.cmd) // stragglers in the group
			return
		case <-time.After(5 * time.Second):
		}
	}
	p.kill()
}

const warmUpPath = "/.testenv-warm-up"

// warmUpBackend is a WebSocket-over-HTTP back end that accepts a connection
// and subscribes it to the channel named by its path.
func warmUpBackend(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/websocket-events")
	w.Header().Set("Sec-WebSocket-Extensions", "grip")
	body, _ := io.ReadAll(r.Body)
	if !strings.HasPrefix(string(body), "OPEN") {
		return // messages, CLOSE: nothing to answer
	}
	sub := `c:{"type":"subscribe","channel":"testenv-warm-up"}`
	fmt.Fprintf(w, "OPEN\r\nTEXT %x\r\n%s\r\n", len(sub), sub)
}

// warmUp waits until a message published to a WebSocket connection through
// the proxy arrives. Pushpin's internal ZeroMQ links connect lazily: right
// after startup, the first reply from a back end can be lost (the proxy logs
// "received message out of sequence" and the request hangs 30 s), and the
// first subscriptions reach the handler tens of milliseconds late. Tests
// that start Pushpin then publish at once would be flaky without this.
func warmUp(clientURL, publishURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var conn *websocket.Conn
	for {
		dialCtx, dialCancel := context.WithTimeout(ctx, 2*time.Second)
		c, _, err := websocket.Dial(dialCtx, "ws"+strings.TrimPrefix(clientURL, "http")+warmUpPath, nil)
		dialCancel()
		if err == nil {
			conn = c
			break
		}
		if ctx.Err() != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	defer conn.CloseNow()
	got := make(chan struct{})
	go func() {
		if _, _, err := conn.Read(ctx); err == nil {
			close(got)
		}
	}()
	for {
		body := `{"items":[{"channel":"testenv-warm-up","formats":{"ws-message":{"content":"warm"}}}]}`
		if resp, err := http.Post(publishURL+"publish/", "application/json", strings.NewReader(body)); err == nil {
			resp.Body.Close()
		}
		select {
		case <-got:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
