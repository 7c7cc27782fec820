package lambdaenv

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/lambdaws/lambdaws/internal/inspect"
)

// A tap publishes the life of one environment to the Function's
// Options.Inspector. A nil *tap (no Inspector) does nothing.
type tap struct {
	f       *Function
	id      int64
	req     atomic.Pointer[string] // the request id of the last invocation, for its output lines
	stopped atomic.Bool
}

// newTap returns the tap of a new environment of f, which is starting, or
// nil without an Inspector.
func (f *Function) newTap() *tap {
	if f.rec == nil {
		return nil
	}
	t := &tap{f: f, id: f.rec.Env()}
	t.publish(inspect.Starting, "", "", false)
	return t
}

func (t *tap) publish(state, req, reason string, cold bool) {
	t.f.rec.Publish(inspect.Event{Kind: inspect.KindEnv, Function: t.f.name, Env: t.id, State: state, Request: req, Reason: reason, Cold: cold})
}

// busy marks the environment running the invocation of request id req.
func (t *tap) busy(req string, cold bool) {
	if t == nil {
		return
	}
	t.req.Store(&req)
	t.publish(inspect.Busy, req, "", cold)
}

// idle marks the environment waiting for an invocation. Its output lines
// stay tagged with the last invocation: a line read from the pipe after the
// response was printed during it.
func (t *tap) idle() {
	if t == nil {
		return
	}
	t.publish(inspect.Idle, "", "", false)
}

// stop marks the environment stopped, the first time, for reason.
func (t *tap) stop(reason string) {
	if t == nil || !t.stopped.CompareAndSwap(false, true) {
		return
	}
	t.publish(inspect.Stopped, "", reason, false)
}

// line publishes a line of the environment's output.
func (t *tap) line(b []byte) {
	if t == nil {
		return
	}
	var req string
	if p := t.req.Load(); p != nil {
		req = *p
	}
	t.f.rec.Publish(inspect.Event{Kind: inspect.KindLog, Function: t.f.name, Env: t.id, Request: req, Line: string(b)})
}

// tapOf returns env's tap.
func tapOf(env environment) *tap {
	if e, ok := env.(interface{ tapOf() *tap }); ok {
		return e.tapOf()
	}
	return nil
}

func (c *child) tapOf() *tap {
	if c == nil {
		return nil
	}
	return c.tap
}

func (e *handlerEnv) tapOf() *tap { return e.tap }

// stopReason says why an invocation ended its environment: err, or, if the
// environment could serve more (keep), a Reset or Close.
func stopReason(err error, keep bool) string {
	var ie *InvokeError
	switch {
	case errors.As(err, &ie):
		return ie.Type + ": " + ie.Message
	case err != nil && !keep:
		return err.Error()
	}
	return "reset or closed after its invocation"
}

// requestOf returns the request id the gateway put in ctx for the
// Inspector.
func (f *Function) requestOf(ctx context.Context) string {
	if f.rec == nil {
		return ""
	}
	return inspect.RequestOf(ctx)
}
