package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Dynalite starts an in-memory dynalite server on a free loopback port and
// returns its endpoint ("http://127.0.0.1:PORT"), for the aws-sdk-go-v2
// DynamoDB client's BaseEndpoint. The server is killed when the test and its
// subtests finish. It needs node on PATH and tools/node_modules/dynalite
// (`npm ci --prefix tools`); without them the test fails. It is for
// integration tests only: see Integration. Startup takes well under a
// second.
func Dynalite(t testing.TB) (endpoint string) {
	t.Helper()
	Integration(t, "dynalite")
	node, err := exec.LookPath("node")
	if err != nil {
		Require(t, "dynalite needs node, which is not on PATH", "install Node.js (Debian: apt-get install nodejs npm), then "+howDynalite)
	}
	tools := filepath.Join(RepoRoot(t), "tools")
	cli := filepath.Join(tools, "node_modules", "dynalite", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		Require(t, "dynalite not installed ("+cli+" missing)", howDynalite)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // the free port may be taken in between
		port := FreePort(t)
		// dynalite-guard.cjs keeps a request the client aborts from
		// ending the server (see the file).
		p, err := start(node, "--require", filepath.Join(tools, "dynalite-guard.cjs"), cli,
			"--host", "127.0.0.1", "--port", strconv.Itoa(port),
			// Tables become ACTIVE after 50 ms instead of 500 ms: the
			// CREATING state is still seen by callers that wait for it.
			"--createTableMs", "50", "--deleteTableMs", "50", "--updateTableMs", "50")
		if err != nil {
			t.Fatalf("testenv: start dynalite: %v", err)
		}
		endpoint = "http://" + hostPort(port)
		if err := p.waitHTTP(endpoint, 15*time.Second); err != nil {
			p.kill()
			lastErr = err
			t.Logf("testenv: dynalite on port %d did not start: %v\n%s", port, err, p.output())
			continue
		}
		t.Cleanup(func() {
			p.kill()
			if t.Failed() {
				t.Logf("testenv: dynalite output:\n%s", p.output())
			}
		})
		return endpoint
	}
	t.Fatalf("testenv: dynalite did not start: %v", lastErr)
	return ""
}

// process is a child process in its own process group, with its combined
// output kept in memory.
type process struct {
	cmd  *exec.Cmd
	out  LockedBuffer  // the first MiB
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, set before done is closed
}

func start(name string, args ...string) (*process, error) {
	p := &process{done: make(chan struct{}), out: LockedBuffer{Max: 1 << 20}}
	p.cmd = exec.Command(name, args...)
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	setProcessGroup(p.cmd)
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// waitHTTP polls url until it answers any HTTP response, the process exits or
// timeout passes.
func (p *process) waitHTTP(url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited before answering: %v", p.err)
		case <-ctx.Done():
			return fmt.Errorf("no answer at %s after %v: %v", url, timeout, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// kill kills the process group and waits for the process to exit.
func (p *process) kill() {
	killProcessGroup(p.cmd)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

func (p *process) output() string { return p.out.String() }
