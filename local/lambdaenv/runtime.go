package lambdaenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lambdaws/lambdaws/internal/apigw"
	"github.com/lambdaws/lambdaws/internal/logs"
)

// NewBinary runs an unmodified Lambda binary: any `bootstrap`, whether
// lambda.Start from aws-lambda-go or another language's custom runtime. Each
// environment is a process of path, in its own process group, started in
// path's directory with the environment variables Lambda sets and
// AWS_LAMBDA_RUNTIME_API pointing at a Lambda Runtime API that the
// environment serves on a loopback port of its own. Besides Lambda's
// variables a process gets the caller's PATH, HOME, AWS credentials,
// AWS_PROFILE, AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE and
// AWS_ENDPOINT_URL*, then Options.Env.
//
// When a process ends or is stopped, what it started is killed, as Lambda
// resets the sandbox: the processes left in its group and, on Linux, those
// that left the group (setsid) but descend from it or inherited its
// AWS_LAMBDA_LOG_STREAM_NAME (random for each process), found through
// /proc. Elsewhere such processes
// survive. A process that exits during an invocation fails it
// with Runtime.ExitError; one that exits between invocations is replaced at
// the next. A process that does not ask for its first invocation within
// 10 s, or exits before, fails that invocation with Runtime.InitError and is
// killed.
//
// With Options.Runtime "go1.x" a process speaks the go1.x runtime's
// protocol instead of the Runtime API: it gets _LAMBDA_SERVER_PORT, a
// loopback port on which aws-lambda-go serves net/rpc, and each invocation is
// a call of Function.Invoke. Its init ends when Function.Ping answers; a
// panic in the handler (aws-lambda-go's ShouldExit) ends the process, as the
// go1.x runtime did. Timeouts, exits and errors are as above.
//
// NewBinary returns an error if path is empty or opts are invalid (see
// Options). A missing or unrunnable binary is an invocation error
// (Runtime.InvalidEntrypoint), so the binary may be built after NewBinary.
func NewBinary(path string, opts *Options) (*Function, error) {
	if path == "" {
		return nil, errors.New("lambdaenv: empty binary path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("lambdaenv: binary %s: %w", path, err)
	}
	o, err := options(opts)
	if err != nil {
		return nil, err
	}
	start := startProcess
	if o.Runtime == "go1.x" {
		start = startRPC
	}
	if language(o.Runtime) != "" {
		return nil, fmt.Errorf("lambdaenv: function %s: Runtime %q is a managed runtime: use NewRuntime", o.Name, o.Runtime)
	}
	f := newFunction(o)
	handler := o.Handler
	if handler == "" {
		handler = filepath.Base(abs)
	}
	dir := filepath.Dir(abs)
	b := &program{path: abs, dir: dir, out: &output{w: o.Output, prefix: f.name + ": "}, env: lambdaEnv(dir, dir, handler, f.name, o.Runtime, o.MemorySize)}
	b.addEnv(o)
	f.start = func() (environment, error) { return start(f, b) }
	return f, nil
}

// addEnv appends o.ExtraEnv, then o.Env, to b's variables.
func (b *program) addEnv(o Options) {
	for _, vars := range []map[string]string{o.ExtraEnv, o.Env} {
		for _, k := range slices.Sorted(maps.Keys(vars)) {
			b.env = append(b.env, k+"="+vars[k])
		}
	}
}

// lambdaEnv lists the variables Lambda sets for a function, those of the
// caller a function needs to reach AWS or an emulator, but not
// AWS_LAMBDA_RUNTIME_API, _LAMBDA_SERVER_PORT and AWS_LAMBDA_LOG_STREAM_NAME,
// which differ between processes.
func lambdaEnv(taskRoot, runtimeDir, handler, name, runtime string, memory int) []string {
	env := []string{
		"_HANDLER=" + handler,
		"LAMBDA_TASK_ROOT=" + taskRoot,
		"LAMBDA_RUNTIME_DIR=" + runtimeDir,
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(memory),
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + name,
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_REGION=" + apigw.Region(),
		"AWS_DEFAULT_REGION=" + apigw.Region(),
		"AWS_EXECUTION_ENV=AWS_Lambda_" + runtime,
		"TZ=UTC",
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "PATH", "HOME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
			"AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE":
			env = append(env, kv)
		default:
			if strings.HasPrefix(k, "AWS_ENDPOINT_URL") {
				env = append(env, kv)
			}
		}
	}
	return env
}

// program is what the processes of a NewBinary or NewRuntime Function
// share: each runs path with args in dir.
type program struct {
	path string
	args []string
	dir  string
	env  []string
	out  *output
}

// output writes the lines of every process of a function, prefixed, one
// whole line at a time.
type output struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

// lineWriter is one process's stdout and stderr; it passes complete lines to
// its output.
type lineWriter struct {
	o   *output
	tap *tap // the process's, for the Inspector
	buf []byte
}

const maxLine = 64 << 10 // bytes of a line held back waiting for its end

// Write passes on the complete lines of b and holds back the rest, up to
// maxLine bytes. Each byte is copied once into the held-back line, so small
// writes without newlines (a progress bar) cost linear time.
func (l *lineWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		end := bytes.IndexByte(b, '\n')
		ended := end >= 0
		if !ended {
			end = len(b)
		}
		take := min(end, maxLine-len(l.buf))
		l.buf = append(l.buf, b[:take]...)
		b = b[take:]
		switch {
		case ended && take == end:
			l.emit(l.buf)
			l.buf = l.buf[:0]
			b = b[1:] // the newline
		case len(l.buf) == maxLine:
			l.emit(l.buf)
			l.buf = l.buf[:0]
		}
	}
	return n, nil
}

// emit writes one line, prefixed and ending in a newline.
func (l *lineWriter) emit(line []byte) {
	b := make([]byte, 0, len(l.o.prefix)+len(line)+1)
	b = append(append(append(b, l.o.prefix...), line...), '\n')
	l.tap.line(line)
	l.o.mu.Lock()
	defer l.o.mu.Unlock()
	l.o.w.Write(b)
}

// flush writes a last line that has no newline.
func (l *lineWriter) flush() {
	if len(l.buf) > 0 {
		l.emit(l.buf)
		l.buf = l.buf[:0]
	}
}

// A child is a running process of a program, in its own process group.
type child struct {
	f       *Function
	cmd     *exec.Cmd
	marker  string        // its AWS_LAMBDA_LOG_STREAM_NAME entry, unique, which its children inherit
	exited  chan struct{} // closed when the process was waited for
	exitErr error         // the process's exit, set before exited closes
	killed  atomic.Bool   // by kill: the exit is not news
	tap     *tap          // for the Inspector
}

// A process is an environment running a binary, with its own Runtime API.
type process struct {
	*child // nil if it did not start
	f      *Function
	calls  apiCalls
	srv    *http.Server
	served chan struct{} // closed when srv.Serve returned

	next     chan *invocation  // to the runtime's GET /next
	ready    chan struct{}     // closed at the first /next
	initErr  chan *InvokeError // from POST /runtime/init/error
	stopping chan struct{}     // closed by stop
	started  chan struct{}     // closed once child is set (nil if it did not start)
	stopOnce sync.Once

	mu   sync.Mutex
	cur  *invocation // handed to /next and not answered yet
	once sync.Once   // closes ready
}

// invocation is one invocation handed to a runtime.
type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	result   chan result // buffered: the runtime's answer
}

type result struct {
	out []byte
	err error
}

// errStale is a process that exited before taking an invocation: the
// invocation goes to a fresh environment, as on Lambda.
var errStale = errors.New("lambdaenv: environment exited before the invocation")

// startProcess starts a process of b with its Runtime API and waits until it
// asks for its first invocation.
func startProcess(f *Function, b *program) (environment, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lambdaenv: runtime API: %w", err)
	}
	p := &process{
		f:        f,
		served:   make(chan struct{}),
		next:     make(chan *invocation),
		ready:    make(chan struct{}),
		initErr:  make(chan *InvokeError, 1),
		stopping: make(chan struct{}),
		started:  make(chan struct{}),
	}
	// AWS_LAMBDA_RUNTIME_API is host:port, as on Lambda, where runtimes
	// such as npm aws-lambda-ric parse it strictly. Only the environment's
	// processes may use it: see allowed.
	addr := ln.Addr().String()
	base := "/2018-06-01/runtime/"
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+base+"invocation/next", p.serveNext)
	mux.HandleFunc("POST "+base+"invocation/{id}/response", p.serveResponse)
	mux.HandleFunc("POST "+base+"invocation/{id}/error", p.serveError)
	mux.HandleFunc("POST "+base+"init/error", p.serveInitError)
	p.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !p.allowed(r, addr) {
				runtimeError(w, http.StatusForbidden, "AccessDenied", "not the function's runtime")
				return
			}
			if r.URL.Path != base+"invocation/next" {
				p.calls.note(r)
			}
			mux.ServeHTTP(w, r)
		}),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, peerKey{}, &peer{conn: c})
		},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(f.log.Handler(), slog.LevelDebug),
	}
	go func() {
		p.srv.Serve(ln)
		close(p.served)
	}()
	p.child, err = startChild(f, b, "AWS_LAMBDA_RUNTIME_API="+addr)
	close(p.started)
	if err == nil {
		err = p.awaitInit(p.ready, p.initErr, func() string { return protocolHint(b.path) }, func() string {
			return initTimeoutMessage(f.initTimeout, p.cmd.Process.Pid, b.path, &p.calls)
		})
	}
	if err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// peerKey is the context key of a Runtime API connection's *peer.
type peerKey struct{}

// A peer is a connection to a Runtime API, and whether it comes from the
// environment's processes, checked at its first request.
type peer struct {
	conn net.Conn
	once sync.Once
	ok   bool
}

// allowed reports whether r may use the Runtime API at addr: only the
// environment's processes may, so that neither a web page nor another
// local program takes an invocation or answers one. Without a secret in
// AWS_LAMBDA_RUNTIME_API (Lambda's is plain host:port), the checks are:
// r's Host is addr (a page reaching the port through DNS rebinding names
// its own host); r carries none of the headers browsers add (Origin,
// Referer, Sec-Fetch-*), so a page's requests are refused even where the
// Host could be forged; and, on Linux, the connection's other end belongs
// to the environment's process or its descendants (peerInTree). Elsewhere
// another local program that finds the port can use it.
func (p *process) allowed(r *http.Request, addr string) bool {
	if r.Host != addr || r.Header["Origin"] != nil || r.Header["Referer"] != nil {
		return false
	}
	for k := range r.Header {
		if strings.HasPrefix(k, "Sec-Fetch-") {
			return false
		}
	}
	pr, _ := r.Context().Value(peerKey{}).(*peer)
	if pr == nil {
		return false
	}
	select {
	case <-p.started:
	case <-r.Context().Done():
		return false
	}
	pr.once.Do(func() {
		switch {
		case p.child == nil:
		case p.f.anyPeer: // tests that drive the Runtime API themselves
			pr.ok = true
		default:
			if pr.ok = peerInTree(pr.conn, p.cmd.Process.Pid, p.marker); !pr.ok {
				p.f.log.Warn("lambdaenv: Runtime API refused a connection from outside the environment's processes",
					"peer", pr.conn.RemoteAddr().String(), "pid", p.cmd.Process.Pid)
			}
		}
	})
	return pr.ok
}

// startChild starts a process of b with protocol, the variable that tells it
// where its protocol is served (AWS_LAMBDA_RUNTIME_API or
// _LAMBDA_SERVER_PORT), and b's variables.
func startChild(f *Function, b *program, protocol string) (*child, error) {
	var stream [16]byte
	rand.Read(stream[:])
	c := &child{f: f, exited: make(chan struct{}), tap: f.newTap()}
	// The log stream's random part makes it the process's marker, by which
	// killStrays finds its children.
	c.marker = "AWS_LAMBDA_LOG_STREAM_NAME=" + time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + hex.EncodeToString(stream[:])
	w := &lineWriter{o: b.out, tap: c.tap}
	c.cmd = exec.Command(b.path, b.args...)
	c.cmd.Dir = b.dir
	c.cmd.Env = append([]string{protocol, c.marker}, b.env...)
	c.cmd.Stdout, c.cmd.Stderr = w, w
	c.cmd.WaitDelay = time.Second // output pipes held open by a child the kill missed
	setProcessGroup(c.cmd)
	if err := c.cmd.Start(); err != nil {
		c.tap.stop("Runtime.InvalidEntrypoint: " + err.Error())
		return nil, &InvokeError{Type: "Runtime.InvalidEntrypoint", Message: err.Error()}
	}
	go func() {
		err := c.cmd.Wait()
		// What the runtime started ends with it, as Lambda resets the
		// sandbox; its group id cannot be reused while members remain.
		killProcessGroup(c.cmd.Process)
		killStrays(0, c.marker) // by the marker alone: the pid is free for reuse
		w.flush()
		if !c.killed.Load() {
			f.log.Warn("lambdaenv: function process exited", "pid", c.cmd.Process.Pid, logs.Status, exitStatus(err))
		}
		c.tap.stop("the process exited: " + exitStatus(err))
		c.exitErr = err
		close(c.exited)
	}()
	return c, nil
}

// awaitInit waits until ready is closed, or fails the init: with an error
// from initErr, when the process exits (its exit, then exitHint()), or after
// the init timeout (timedOut() says what the process did).
func (c *child) awaitInit(ready <-chan struct{}, initErr <-chan *InvokeError, exitHint, timedOut func() string) error {
	f := c.f
	timer := time.NewTimer(f.initTimeout)
	defer timer.Stop()
	var err error
	select {
	case <-ready:
		return nil
	case ie := <-initErr:
		err = ie
	case <-c.exited:
		// A runtime exits once it reported its init error: the report
		// counts, however the two events were scheduled.
		select {
		case ie := <-initErr:
			err = ie
		default:
			err = &InvokeError{Type: "Runtime.InitError", Message: exitMessage(c.exitErr) + exitHint()}
		}
	case <-timer.C:
		err = &InvokeError{Type: "Runtime.InitError", Message: timedOut()}
	case <-f.done:
		err = errClosed
	}
	f.log.Warn("lambdaenv: function init failed; process killed", logs.Error, err)
	return err
}

func (c *child) alive() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// exitError is the error of an invocation during which the process exited.
func (c *child) exitError() error {
	return &InvokeError{Type: "Runtime.ExitError", Message: exitMessage(c.exitErr)}
}

// kill kills the process, its group and its strays and waits for it.
func (c *child) kill() {
	c.killed.Store(true)
	if c.alive() {
		killStrays(c.cmd.Process.Pid, c.marker) // first, while its descendants are still its own
		killProcessGroup(c.cmd.Process)
	}
	<-c.exited
}

func (p *process) invoke(payload []byte) ([]byte, bool, error) {
	f := p.f
	inv := &invocation{id: apigw.NewUUID(), payload: payload, deadline: time.Now().Add(f.timeout), result: make(chan result, 1)}
	timer := time.NewTimer(f.timeout)
	defer timer.Stop()
	select {
	case p.next <- inv:
	case <-p.exited:
		return nil, false, errStale
	case <-timer.C:
		return nil, false, f.timedOut()
	case <-f.done:
		return nil, false, errClosed
	}
	select {
	case r := <-inv.result:
		return r.out, true, r.err
	case <-p.exited:
		select {
		case r := <-inv.result: // answered, then exited (after a panic)
			return r.out, false, r.err
		default:
		}
		return nil, false, p.exitError()
	case <-timer.C:
		return nil, false, f.timedOut()
	case <-f.done:
		return nil, false, errClosed
	}
}

// stop kills the process, its group and its strays, waits for it, and
// stops the Runtime API.
func (p *process) stop() {
	p.stopOnce.Do(func() {
		if p.child != nil {
			p.kill()
		}
		// After the kill: a runtime refused its /next would log it.
		close(p.stopping)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if p.srv.Shutdown(ctx) != nil {
			p.srv.Close()
		}
		<-p.served
	})
}

func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// exitMessage is Lambda's description of a runtime's exit.
func exitMessage(err error) string {
	if err == nil {
		return "Runtime exited without providing a reason"
	}
	return "Runtime exited with error: " + err.Error()
}

// serveNext hands the runtime its next invocation, waiting for one.
func (p *process) serveNext(w http.ResponseWriter, r *http.Request) {
	p.once.Do(func() { close(p.ready) })
	var inv *invocation
	select {
	case inv = <-p.next:
	case <-p.stopping:
		runtimeError(w, http.StatusInternalServerError, "Runtime.Stopping", "the environment is stopping")
		return
	case <-r.Context().Done():
		return
	}
	p.mu.Lock()
	p.cur = inv
	p.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", p.f.arn)
	h.Set("Lambda-Runtime-Trace-Id", newTraceID())
	w.Write(inv.payload)
}

// newTraceID returns a new X-Ray trace header, as Lambda gives each
// invocation: a root trace id (version 1, the time in seconds, 96 random
// bits), a parent segment id and the sampling decision (not sampled: nothing
// is sent to X-Ray).
func newTraceID() string {
	var b [20]byte
	rand.Read(b[:])
	return fmt.Sprintf("Root=1-%08x-%x;Parent=%x;Sampled=0", time.Now().Unix(), b[:12], b[12:])
}

// take returns the invocation a runtime answers, if id is the one it was
// handed, and forgets it: each invocation is answered once.
func (p *process) take(id string) *invocation {
	p.mu.Lock()
	defer p.mu.Unlock()
	inv := p.cur
	if inv == nil || inv.id != id {
		return nil
	}
	p.cur = nil
	return inv
}

// readBody reads a runtime's POST body, up to maxResponse bytes, answering
// 413 beyond that.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxResponse))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		runtimeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", fmt.Sprintf("body over %d bytes", maxResponse))
		return nil, tooLarge()
	}
	if err != nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequest", "reading the body: "+err.Error())
		return nil, &InvokeError{Type: "Runtime.Unknown", Message: "reading the runtime's response: " + err.Error()}
	}
	return body, nil
}

// answer reads a runtime's answer to invocation {id}. It returns nil if
// it already answered the runtime with an error.
func (p *process) answer(w http.ResponseWriter, r *http.Request) (*invocation, []byte) {
	inv := p.take(r.PathValue("id"))
	if inv == nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequestID", "unknown request id")
		return nil, nil
	}
	body, err := readBody(w, r)
	if err != nil {
		inv.result <- result{err: err}
		return nil, nil
	}
	return inv, body
}

func (p *process) serveResponse(w http.ResponseWriter, r *http.Request) {
	inv, body := p.answer(w, r)
	if inv == nil {
		return
	}
	// A streamed response that failed midway (aws-lambda-go's trailers).
	if typ := r.Trailer.Get("Lambda-Runtime-Function-Error-Type"); typ != "" {
		b, _ := base64.StdEncoding.DecodeString(r.Trailer.Get("Lambda-Runtime-Function-Error-Body"))
		inv.result <- result{err: functionError(b, typ)}
	} else {
		inv.result <- result{out: body}
	}
	w.WriteHeader(http.StatusAccepted)
}

func (p *process) serveError(w http.ResponseWriter, r *http.Request) {
	inv, body := p.answer(w, r)
	if inv == nil {
		return
	}
	inv.result <- result{err: functionError(body, r.Header.Get("Lambda-Runtime-Function-Error-Type"))}
	w.WriteHeader(http.StatusAccepted)
}

func (p *process) serveInitError(w http.ResponseWriter, r *http.Request) {
	select {
	case <-p.ready:
		runtimeError(w, http.StatusForbidden, "InvalidStateTransition", "init already ended")
		return
	default:
	}
	body, err := readBody(w, r)
	if err != nil {
		return
	}
	select {
	case p.initErr <- functionError(body, r.Header.Get("Lambda-Runtime-Function-Error-Type")):
	default: // a second init error: the first one counts
	}
	w.WriteHeader(http.StatusAccepted)
}

// functionError reads an error a runtime reported:
// {"errorMessage", "errorType", "stackTrace"}, or typ and the raw body.
func functionError(body []byte, typ string) *InvokeError {
	var e struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if json.Unmarshal(body, &e) != nil {
		e.Message = string(body)
	}
	if e.Type == "" {
		e.Type = typ
	}
	if e.Type == "" {
		e.Type = "Runtime.Unknown"
	}
	return &InvokeError{Type: e.Type, Message: e.Message}
}

// runtimeError answers a runtime with the Runtime API's error shape.
func runtimeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"errorType": typ, "errorMessage": msg})
}
