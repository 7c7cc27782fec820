//go:build unix

package integration

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/internal/testenv"
)

// bins holds the example programs built by TestMain, by name.
var bins = map[string]string{}

// tmpDir holds what the tests build; TestMain removes it.
var tmpDir string

// raceBuild reports whether the examples were built with the race detector
// (as the tests themselves are).
var raceBuild bool

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if !testenv.IntegrationEnabled() {
		// Every test here starts processes and skips itself, saying how to
		// run it (TestIntegrationGate holds them to it): skip the builds.
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "lambdaws-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	tmpDir = dir
	raceBuild = raceEnabled
	// Each example once as the tests are built (with -race under go test
	// -race), and the chat without -race for the load test: the race
	// detector makes it about 5 times slower and 10 times bigger, which would
	// measure the detector rather than lambdaws.
	for _, b := range []struct {
		name, pkg string
		race      bool
	}{{"echo", "echo", raceBuild}, {"chat", "chat", raceBuild}, {"chat-norace", "chat", false}} {
		name := b.name
		out := filepath.Join(dir, name)
		args := []string{"build"}
		if b.race {
			args = append(args, "-race")
		}
		args = append(args, "-o", out, "./examples/"+b.pkg)
		cmd := exec.Command("go", args...)
		cmd.Dir = ".." // the repository root
		if b, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "integration: go %s: %v\n%s", strings.Join(args, " "), err, b)
			return 1
		}
		bins[name] = out
	}
	return m.Run()
}

// proc is an example program running on a free loopback port.
type proc struct {
	t    testing.TB
	cmd  *exec.Cmd
	out  *testenv.LockedBuffer // up to 256 MB
	done chan struct{}

	Addr string // host:port it serves
	URL  string // ws://host:port/
}

// baseEnv is the environment of the example programs: no AWS credentials or
// region (as on a laptop), and no instance-metadata lookups.
func baseEnv() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.TempDir(),
		"AWS_EC2_METADATA_DISABLED=true",
		"GORACE=halt_on_error=1",
	}
}

var urlLine = regexp.MustCompile(`listening on ws://(\S+)/`)

// startExample runs the named example with -addr 127.0.0.1:0, extra
// environment variables and arguments, waits until it printed its URL and
// answers HTTP, and stops it when the test ends (see runExample).
func startExample(t testing.TB, name string, env []string, args ...string) *proc {
	t.Helper()
	p := runExample(t, name, env, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	m, err := p.waitLog(urlLine, 1, 60*time.Second)
	if err != nil {
		t.Fatalf("%s did not print its URL: %v\n%s", name, err, p.out.String())
	}
	p.Addr = m[0][1]
	p.URL = "ws://" + p.Addr + "/"
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("http://" + p.Addr + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s at %s does not answer: %v", name, p.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

// runExample starts the named example binary with arguments and extra
// environment variables, and stops it (SIGTERM, then SIGKILL) when the test
// ends. A data race reported by the program fails the test.
func runExample(t testing.TB, name string, env []string, args ...string) *proc {
	t.Helper()
	bin, ok := bins[name]
	if !ok {
		t.Fatalf("example %q was not built", name)
	}
	return runBinary(t, bin, env, args...)
}

// runBinary is runExample for any program.
func runBinary(t testing.TB, bin string, env []string, args ...string) *proc {
	t.Helper()
	name := filepath.Base(bin)
	p := &proc{t: t, out: &testenv.LockedBuffer{Max: 256 << 20}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(baseEnv(), env...)
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if out := p.out.String(); strings.Contains(out, "DATA RACE") {
			t.Errorf("%s reported a data race:\n%s", name, out)
		} else if t.Failed() {
			t.Logf("%s output (last 4 KB):\n%s", name, tail(out, 4096))
		}
	})
	return p
}

// stop sends SIGTERM (the programs close every connection and return) and
// kills the process group if it is still running after 10 s.
func (p *proc) stop() {
	if p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Errorf("%s did not exit 10 s after SIGTERM", p.cmd.Path)
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// waitLog waits until the output holds n matches of re and returns them.
func (p *proc) waitLog(re *regexp.Regexp, n int, timeout time.Duration) ([][]string, error) {
	deadline := time.Now().Add(timeout)
	for {
		if m := re.FindAllStringSubmatch(p.out.String(), -1); len(m) >= n {
			return m, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("exited (%v) with %d of %d lines matching %s", p.cmd.ProcessState, len(re.FindAllString(p.out.String(), -1)), n, re)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			// A last look: what was printed while waiting counts.
			if m := re.FindAllStringSubmatch(p.out.String(), -1); len(m) >= n {
				return m, nil
			}
			return nil, fmt.Errorf("%d of %d lines matching %s after %v", len(re.FindAllString(p.out.String(), -1)), n, re, timeout)
		}
	}
}

// connectedIDs returns the connection ids of the $connect lines logged so
// far, in order.
var connectLine = regexp.MustCompile(`local: connect connectionId="([^"]+)" route=\$connect status=200`)

func (p *proc) connectedIDs() []string {
	var ids []string
	for _, m := range connectLine.FindAllStringSubmatch(p.out.String(), -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
