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
// When a process ends, the processes left in its group are killed, as Lambda
// resets the sandbox. A process that exits during an invocation fails it
// with Runtime.ExitError; one that exits between invocations is replaced at
// the next. A process that does not ask for its first invocation within
// 10 s, or exits before, fails that invocation with Runtime.InitError and is
// killed.
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
	f := newFunction(o)
	b := &program{path: abs, out: &output{w: o.Output, prefix: f.name + ": "}, env: lambdaEnv(abs, f.name, o.MemorySize)}
	for _, k := range slices.Sorted(maps.Keys(o.Env)) {
		b.env = append(b.env, k+"="+o.Env[k])
	}
	f.start = func() (environment, error) { return startProcess(f, b) }
	return f, nil
}

// lambdaEnv lists the variables Lambda sets for a function, those of the
// caller a function needs to reach AWS or an emulator, but not
// AWS_LAMBDA_RUNTIME_API and AWS_LAMBDA_LOG_STREAM_NAME, which differ between
// processes.
func lambdaEnv(path, name string, memory int) []string {
	dir := filepath.Dir(path)
	env := []string{
		"_HANDLER=" + filepath.Base(path),
		"LAMBDA_TASK_ROOT=" + dir,
		"LAMBDA_RUNTIME_DIR=" + dir,
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(memory),
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + name,
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_REGION=" + apigw.Region(),
		"AWS_DEFAULT_REGION=" + apigw.Region(),
		"AWS_EXECUTION_ENV=AWS_Lambda_provided.al2023",
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

// program is what the processes of a NewBinary Function share.
type program struct {
	path string
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

// A process is an environment running a binary, with its own Runtime API.
type process struct {
	f      *Function
	cmd    *exec.Cmd
	srv    *http.Server
	served chan struct{} // closed when srv.Serve returned

	next     chan *invocation  // to the runtime's GET /next
	ready    chan struct{}     // closed at the first /next
	initErr  chan *InvokeError // from POST /runtime/init/error
	exited   chan struct{}     // closed when the process was waited for
	exitErr  error             // the process's exit, set before exited closes
	stopping chan struct{}     // closed by stop
	stopOnce sync.Once
	killed   atomic.Bool // by stop: the exit is not news

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
		exited:   make(chan struct{}),
		stopping: make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", p.serveNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", p.serveResponse)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", p.serveError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", p.serveInitError)
	p.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(f.log.Handler(), slog.LevelDebug),
	}
	go func() {
		p.srv.Serve(ln)
		close(p.served)
	}()

	var stream [16]byte
	rand.Read(stream[:])
	w := &lineWriter{o: b.out}
	p.cmd = exec.Command(b.path)
	p.cmd.Dir = filepath.Dir(b.path)
	p.cmd.Env = append([]string{
		"AWS_LAMBDA_RUNTIME_API=" + ln.Addr().String(),
		"AWS_LAMBDA_LOG_STREAM_NAME=" + time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + hex.EncodeToString(stream[:]),
	}, b.env...)
	p.cmd.Stdout, p.cmd.Stderr = w, w
	p.cmd.WaitDelay = time.Second // output pipes held open by a child the kill missed
	setProcessGroup(p.cmd)
	if err := p.cmd.Start(); err != nil {
		close(p.exited)
		p.stop()
		return nil, &InvokeError{Type: "Runtime.InvalidEntrypoint", Message: err.Error()}
	}
	go func() {
		err := p.cmd.Wait()
		// What the runtime started ends with it, as Lambda resets the
		// sandbox; its group id cannot be reused while members remain.
		killProcessGroup(p.cmd.Process)
		w.flush()
		if !p.killed.Load() {
			f.log.Warn("lambdaenv: function process exited", "pid", p.cmd.Process.Pid, "status", exitStatus(err))
		}
		p.exitErr = err
		close(p.exited)
	}()

	timer := time.NewTimer(f.initTimeout)
	defer timer.Stop()
	var ierr error
	select {
	case <-p.ready:
		return p, nil
	case ie := <-p.initErr:
		ierr = ie
	case <-p.exited:
		ierr = &InvokeError{Type: "Runtime.InitError", Message: exitMessage(p.exitErr)}
	case <-timer.C:
		ierr = &InvokeError{Type: "Runtime.InitError", Message: fmt.Sprintf("Runtime did not ask for an invocation within %.2f seconds of starting", f.initTimeout.Seconds())}
	case <-f.done:
		ierr = errClosed
	}
	p.stop()
	f.log.Warn("lambdaenv: function init failed; process killed", "err", ierr)
	return nil, ierr
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
		return nil, false, &InvokeError{Type: "Runtime.ExitError", Message: exitMessage(p.exitErr)}
	case <-timer.C:
		return nil, false, f.timedOut()
	case <-f.done:
		return nil, false, errClosed
	}
}

func (p *process) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop kills the process and its group, waits for it, and stops the Runtime
// API.
func (p *process) stop() {
	p.stopOnce.Do(func() {
		close(p.stopping)
		p.killed.Store(true)
		if p.alive() {
			killProcessGroup(p.cmd.Process)
		}
		<-p.exited
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
