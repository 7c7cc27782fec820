package lambdaenv

import (
	"debug/buildinfo"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// apiCalls records the requests a process made to its Runtime API other than
// GET /next, to tell what a process that never asked for an invocation did.
type apiCalls struct {
	mu   sync.Mutex
	n    int
	last string
}

// note records r.
func (c *apiCalls) note(r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	c.last = r.Method + " " + r.URL.Path
}

// initTimeoutMessage says that the process pid of binary path did not ask
// for an invocation within timeout, and what it did instead.
func initTimeoutMessage(timeout time.Duration, pid int, path string, calls *apiCalls) string {
	msg := fmt.Sprintf("Runtime did not ask for an invocation within %.2f seconds of starting", timeout.Seconds())
	calls.mu.Lock()
	n, last := calls.n, calls.last
	calls.mu.Unlock()
	if n > 0 {
		msg += fmt.Sprintf("; it made %d other requests to the Runtime API (last: %s), while a runtime asks for GET {AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next", n, last)
	} else {
		msg += "; it never called the Runtime API"
		if ports := listeningPorts(pid); len(ports) > 0 {
			msg += fmt.Sprintf(" and listens on TCP port %s: it seems to speak another protocol (an HTTP server, or the go1.x runtime's RPC)", strings.Trim(fmt.Sprint(ports), "[]"))
		}
	}
	return msg + protocolHint(path)
}

// protocolHint says that binary path speaks only the go1.x runtime's RPC
// protocol, if it is a Go program built with an aws-lambda-go older than
// v1.18.0, which added the Runtime API; else "".
func protocolHint(path string) string {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, d := range info.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		if d.Path == "github.com/aws/aws-lambda-go" && rpcOnly(d.Version) {
			return "; it was built with aws-lambda-go " + d.Version + ", which speaks only the go1.x runtime's RPC protocol (v1.18.0 added the Runtime API)"
		}
	}
	return ""
}

// rpcOnly reports whether aws-lambda-go version v predates v1.18.0.
func rpcOnly(v string) bool {
	rest, ok := strings.CutPrefix(v, "v1.")
	if !ok {
		return false
	}
	minor, _, _ := strings.Cut(rest, ".")
	n, err := strconv.Atoi(minor)
	return err == nil && n < 18
}
