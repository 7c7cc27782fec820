package lambdaenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/lambdaws/lambdaws/internal/apigw"
	"github.com/lambdaws/lambdaws/internal/inspect"
)

// Lambda's limits and defaults that a Function copies.
const (
	defaultConcurrency = 10
	defaultMemorySize  = 128
	defaultTimeout     = 29 * time.Second // API Gateway's integration timeout
	defaultInitTimeout = 10 * time.Second // process start to the first /next
	maxResponse        = 6 << 20          // bytes of a synchronous invocation's response
)

// errClosed is the error of an invocation of a closed Function, or one that
// was running when Close ended its environment.
var errClosed = errors.New("lambdaenv: function closed")

// A Function is a Lambda function: a pool of execution environments, each
// running one invocation at a time. An invocation that finds every
// environment busy starts a new one, up to Options.Concurrency;
// idle environments are reused warm. An invocation that runs past
// Options.Timeout fails with Sandbox.Timedout and its environment is
// discarded. A Function is safe for concurrent use.
type Function struct {
	name        string
	arn         string
	timeout     time.Duration
	initTimeout time.Duration // tests shorten it
	log         *slog.Logger
	rec         *inspect.Recorder           // Options.Inspector
	start       func() (environment, error) // starts an environment, init included
	anyPeer     bool                        // tests: the Runtime API serves any local process

	concurrency int
	done        chan struct{}  // closed by Close
	wg          sync.WaitGroup // workers

	mu      sync.Mutex
	workers int           // goroutines running invocations, up to concurrency
	queue   []*call       // invocations waiting for a worker, oldest first
	idle    []environment // LIFO: the most recently used first, as Lambda does
	gen     int           // incremented by Reset; environments of older generations are not reused
	closed  bool
}

// A call is an invocation queued for an environment. Waiting costs no
// goroutine: a queued call is this struct and its payload.
type call struct {
	payload []byte
	tag     string // API Gateway's request id, for the Inspector
	// done receives the result, once, from a worker (or from enqueue or
	// Close for a closed Function), never with f.mu held.
	done func(out []byte, cold bool, err error)
}

// InvokeError is a failed invocation as Lambda reports it. Type is the
// function's own errorType (an in-process handler's error or panic value is
// named as aws-lambda-go names it, such as "errorString"), or one of
// Lambda's: "Sandbox.Timedout" (ran past the timeout), "Runtime.ExitError"
// (the process exited during the invocation), "Runtime.InitError" (the
// process exited or did not reach /next within 10 s of starting),
// "Runtime.InvalidEntrypoint" (the binary could not be started) and
// "Function.ResponseSizeTooLarge" (a response over 6 MB).
type InvokeError struct {
	Type    string
	Message string
}

func (e *InvokeError) Error() string {
	return "lambdaenv: " + e.Type + ": " + e.Message
}

// New serves handler, anything lambda.Start accepts, in-process.
// Each environment has its own lambda.NewHandler(handler), so environments run
// in parallel. If handler already is a lambda.Handler (for example the result
// of lambda.NewHandler), every environment shares that one value and
// invocations run one at a time, since aws-lambda-go v1.54's Invoke returns
// output in a buffer that the next Invoke reuses; pass the handler function
// itself for parallel invocations. A handler that outlives its timeout keeps
// running in its goroutine until it returns, but its environment is never
// used again; a shared lambda.Handler's later invocations wait for it until
// it returns, and time out meanwhile (the wait counts against their
// timeout). New panics if handler is not a valid Lambda handler or opts
// are invalid: both are mistakes in code (NewBinary, whose options may come
// from a file, returns an error instead).
func New(handler any, opts *Options) *Function {
	if handler == nil {
		panic("lambdaenv: nil handler")
	}
	o, err := options(opts)
	if err != nil {
		panic(err.Error())
	}
	f := newFunction(o)
	if h, ok := handler.(lambda.Handler); ok {
		lock := make(chan struct{}, 1)
		f.start = func() (environment, error) { return &handlerEnv{f: f, h: h, lock: lock, tap: f.newTap()}, nil }
		return f
	}
	if err := validateHandler(handler); err != nil {
		panic("lambdaenv: " + err.Error())
	}
	f.start = func() (environment, error) {
		return &handlerEnv{f: f, h: lambda.NewHandler(handler), tap: f.newTap()}, nil
	}
	return f
}

// newFunction returns a Function of options o, with defaults, without its
// start.
func newFunction(o Options) *Function {
	return &Function{
		name:        o.Name,
		arn:         "arn:aws:lambda:" + apigw.Region() + ":" + apigw.AccountID + ":function:" + o.Name,
		timeout:     o.Timeout,
		initTimeout: defaultInitTimeout,
		log:         o.Logger.With("function", o.Name),
		rec:         o.Inspector,
		concurrency: o.Concurrency,
		done:        make(chan struct{}),
	}
}

// An environment runs one invocation at a time.
type environment interface {
	// invoke runs one invocation; keep reports whether the environment
	// can serve another.
	invoke(payload []byte) (out []byte, keep bool, err error)
	// alive reports whether the environment can still be used.
	alive() bool
	// stop ends the environment and waits for it.
	stop()
}

// Name is the function's name, Options.Name.
func (f *Function) Name() string { return f.name }

// Invoke runs one invocation of payload, a JSON event, and returns the
// function's response, or an error: an *InvokeError if the invocation
// failed. It waits for a free environment, or starts one up to
// Options.Concurrency; ctx bounds only that wait (the error then wraps
// context.Cause(ctx)): once started, an invocation is bounded by
// Options.Timeout alone, as on Lambda.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	out, _, err := f.invoke(ctx, payload)
	return out, err
}

// InvokeFunc is Invoke calling done with the result instead of returning it,
// so that an invocation waiting for an environment holds no goroutine (the
// gateway queues thousands of messages this way). done runs once, in
// another goroutine or before InvokeFunc returns; cold reports whether a new
// environment was started for the invocation.
func (f *Function) InvokeFunc(ctx context.Context, payload []byte, done func(out []byte, cold bool, err error)) {
	if ctx.Err() != nil {
		done(nil, false, f.waitError(ctx))
		return
	}
	var stop atomic.Pointer[func() bool]
	c := &call{payload: payload, tag: f.requestOf(ctx), done: func(out []byte, cold bool, err error) {
		if s := stop.Load(); s != nil {
			(*s)()
		}
		done(out, cold, err)
	}}
	f.enqueue(c)
	s := context.AfterFunc(ctx, func() {
		if f.dequeue(c) {
			done(nil, false, f.waitError(ctx))
		}
	})
	stop.Store(&s)
}

// waitError is the error of an invocation that ctx ended while it waited
// for an environment.
func (f *Function) waitError(ctx context.Context) error {
	return fmt.Errorf("lambdaenv: waiting for an environment of %s: %w", f.name, context.Cause(ctx))
}

// invoke is Invoke, also reporting whether the invocation started an
// environment.
func (f *Function) invoke(ctx context.Context, payload []byte) (out []byte, cold bool, err error) {
	type result struct {
		out  []byte
		cold bool
		err  error
	}
	res := make(chan result, 1)
	f.InvokeFunc(ctx, payload, func(out []byte, cold bool, err error) { res <- result{out, cold, err} })
	r := <-res
	return r.out, r.cold, r.err
}

// enqueue runs c on a worker, starting one if fewer than Concurrency run,
// or queues it for the next free worker.
func (f *Function) enqueue(c *call) {
	f.mu.Lock()
	switch {
	case f.closed:
		f.mu.Unlock()
		c.done(nil, false, errClosed)
	case f.workers < f.concurrency:
		f.workers++
		f.wg.Add(1)
		f.mu.Unlock()
		go f.work(c)
	default:
		f.queue = append(f.queue, c)
		f.mu.Unlock()
	}
}

// dequeue removes c from the queue; it reports false if c already started.
func (f *Function) dequeue(c *call) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.Index(f.queue, c)
	if i < 0 {
		return false
	}
	f.queue = slices.Delete(f.queue, i, i+1)
	return true
}

// work runs c, then the queued calls, until the queue is empty.
func (f *Function) work(c *call) {
	defer f.wg.Done()
	for c != nil {
		out, cold, err := f.run(c.payload, c.tag)
		c.done(out, cold, err)
		f.mu.Lock()
		c = nil
		if len(f.queue) > 0 && !f.closed {
			c = f.queue[0]
			f.queue[0] = nil
			f.queue = f.queue[1:]
		} else {
			f.workers--
		}
		f.mu.Unlock()
	}
}

// run runs one invocation in an idle environment, or a new one.
func (f *Function) run(payload []byte, tag string) (out []byte, cold bool, err error) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, false, errClosed
	}
	gen := f.gen
	var env environment
	var dead []environment
	for env == nil && len(f.idle) > 0 {
		env = f.idle[len(f.idle)-1]
		f.idle = f.idle[:len(f.idle)-1]
		if !env.alive() {
			dead, env = append(dead, env), nil
		}
	}
	f.mu.Unlock()
	for _, e := range dead {
		e.stop()
	}
	if env == nil {
		cold = true
		if env, err = f.start(); err != nil {
			return nil, cold, err
		}
	}
	tapOf(env).busy(tag, cold)
	out, keep, err := env.invoke(payload)
	if errors.Is(err, errStale) {
		// The process exited while idle (after a panic, say): Lambda
		// starts a fresh environment for the invocation.
		env.stop()
		cold = true
		if env, err = f.start(); err != nil {
			return nil, cold, err
		}
		tapOf(env).busy(tag, cold)
		if out, keep, err = env.invoke(payload); errors.Is(err, errStale) {
			err = &InvokeError{Type: "Runtime.ExitError", Message: "Runtime exited before taking the invocation"}
		}
	}
	f.mu.Lock()
	if keep && !f.closed && gen == f.gen {
		tapOf(env).idle() // before another invocation can take it
		f.idle = append(f.idle, env)
		env = nil
	}
	f.mu.Unlock()
	if env != nil {
		tapOf(env).stop(stopReason(err, keep))
		env.stop()
	}
	return out, cold, err
}

// Reset makes later invocations use fresh environments: idle ones end now,
// busy ones after their invocation. The `lambdaws local` command calls it
// after rebuilding a binary.
func (f *Function) Reset() {
	f.mu.Lock()
	f.gen++
	idle := f.idle
	f.idle = nil
	f.mu.Unlock()
	for _, e := range idle {
		tapOf(e).stop("reset: the function was rebuilt")
		e.stop()
	}
}

// Close ends every environment, failing the invocations in progress, and
// waits for them: processes are killed and waited for. Later invocations
// fail. Close always returns nil.
func (f *Function) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	close(f.done)
	idle, queued := f.idle, f.queue
	f.idle, f.queue = nil, nil
	f.mu.Unlock()
	for _, c := range queued {
		c.done(nil, false, errClosed)
	}
	for _, e := range idle {
		tapOf(e).stop("the function closed")
		e.stop()
	}
	f.wg.Wait()
	return nil
}

// timedOut is the error of an invocation that ran past the timeout.
func (f *Function) timedOut() error {
	f.log.Warn("lambdaenv: invocation timed out; environment discarded", "timeout", f.timeout)
	return &InvokeError{Type: "Sandbox.Timedout", Message: fmt.Sprintf("Task timed out after %.2f seconds", f.timeout.Seconds())}
}

// tooLarge is the error of a response over maxResponse bytes.
func tooLarge() error {
	return &InvokeError{Type: "Function.ResponseSizeTooLarge", Message: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxResponse)}
}

// handlerEnv is an in-process environment.
type handlerEnv struct {
	f      *Function
	h      lambda.Handler
	lock   chan struct{} // shared by every environment of a lambda.Handler value; nil otherwise
	tap    *tap
	broken bool // timed out or panicked: never used again
}

func (e *handlerEnv) invoke(payload []byte) ([]byte, bool, error) {
	f := e.f
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: apigw.NewUUID(), InvokedFunctionArn: f.arn})
	// The trace header where aws-lambda-go puts it (it reads
	// Lambda-Runtime-Trace-Id), so that sends carry it as on Lambda.
	//lint:ignore SA1029 aws-lambda-go's key
	ctx = context.WithValue(ctx, "x-amzn-trace-id", newTraceID())
	type result struct {
		out      []byte
		err      error
		panicked bool
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if v := recover(); v != nil {
				r = result{err: &InvokeError{Type: errorType(v), Message: fmt.Sprint(v)}, panicked: true}
			}
			done <- r
		}()
		if e.lock != nil {
			select {
			case e.lock <- struct{}{}:
				defer func() { <-e.lock }()
			case <-ctx.Done():
				r.err = ctx.Err()
				return
			}
		}
		out, err := e.h.Invoke(ctx, payload)
		// Copy before the next Invoke can reuse the buffer out points into.
		r.out, r.err = bytes.Clone(out), err
	}()
	select {
	case r := <-done:
		switch {
		case r.err != nil && ctx.Err() != nil:
			e.broken = true
			return nil, false, f.timedOut()
		case r.panicked:
			e.broken = true
			f.log.Warn("lambdaenv: handler panicked; environment discarded", "panic", r.err.(*InvokeError).Message)
			return nil, false, r.err
		case r.err != nil:
			return nil, true, handlerError(r.err)
		case len(r.out) > maxResponse:
			return nil, true, tooLarge()
		}
		return r.out, true, nil
	case <-ctx.Done():
		e.broken = true
		return nil, false, f.timedOut()
	case <-f.done:
		e.broken = true
		return nil, false, errClosed
	}
}

func (e *handlerEnv) alive() bool { return !e.broken }
func (e *handlerEnv) stop()       {}

// handlerError converts a handler's error as aws-lambda-go reports it.
func handlerError(err error) error {
	if ie, ok := err.(messages.InvokeResponse_Error); ok {
		return &InvokeError{Type: ie.Type, Message: ie.Message}
	}
	return &InvokeError{Type: errorType(err), Message: err.Error()}
}

// errorType names an error or panic value as aws-lambda-go does: its type's
// name, without the pointer.
func errorType(v any) string {
	t := reflect.TypeOf(v)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// validateHandler applies the checks lambda.NewHandler makes, which it would
// otherwise report at every invocation.
func validateHandler(handler any) error {
	v := reflect.ValueOf(handler)
	t := v.Type()
	if t.Kind() != reflect.Func {
		return fmt.Errorf("handler kind %s is not func", t.Kind())
	}
	if v.IsNil() {
		return errors.New("nil handler")
	}
	ctxType := reflect.TypeFor[context.Context]()
	isContext := func(t reflect.Type) bool {
		return t.Kind() == reflect.Interface && ctxType.Implements(t) && t.Implements(ctxType)
	}
	switch n := t.NumIn(); {
	case n > 2:
		return fmt.Errorf("handler takes %d arguments, more than two", n)
	case n == 2 && !isContext(t.In(0)):
		return errors.New("handler takes two arguments, but the first is not context.Context")
	case n == 1 && t.In(0).Kind() == reflect.Interface && t.In(0).NumMethod() > 0 && !isContext(t.In(0)):
		return fmt.Errorf("handler takes an interface, but it is not context.Context: %s", t.In(0))
	}
	errType := reflect.TypeFor[error]()
	switch n := t.NumOut(); {
	case n > 2:
		return errors.New("handler returns more than two values")
	case n == 2 && !t.Out(1).Implements(errType):
		return errors.New("handler returns two values, but the second does not implement error")
	case n == 1 && !t.Out(0).Implements(errType):
		return errors.New("handler returns a single value, but it does not implement error")
	}
	return nil
}
