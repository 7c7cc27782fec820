package lambdaenv

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/internal/inspect"
)

// TestInspectorEnvironments: a Function with an Inspector publishes its
// environments' life, why one stopped, and its processes' output lines
// tagged with the invocation that printed them.
func TestInspectorEnvironments(t *testing.T) {
	rec := inspect.New()
	f, _ := newTestBinary(t, "echo", &Options{Name: "printer", Inspector: rec})
	ctx := inspect.WithRequest(context.Background(), "req-1")
	if _, err := f.Invoke(ctx, []byte(`{"op":"print","arg":"hello"}`)); err != nil {
		t.Fatal(err)
	}
	// Lines reach the Recorder from the pipe, after the invocation that
	// printed them returned on a loaded machine: wait for "hello".
	for deadline := time.Now().Add(10 * time.Second); !slices.ContainsFunc(rec.Events(), func(e inspect.Event) bool { return e.Line == "hello" }); {
		if time.Now().After(deadline) {
			t.Fatal("no line \"hello\" after 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := f.Invoke(inspect.WithRequest(context.Background(), "req-2"), []byte(`{"op":"exit","arg":"3"}`)); err == nil {
		t.Fatal("exit: no error")
	}
	f.Close()

	var states []string
	var hello inspect.Event
	for _, e := range rec.Events() {
		switch e.Kind {
		case inspect.KindEnv:
			if e.Function != "printer" {
				t.Errorf("event of function %q", e.Function)
			}
			s := e.State
			if e.Request != "" {
				s += " " + e.Request
			}
			if e.Cold {
				s += " cold"
			}
			if e.Reason != "" {
				s += ": " + e.Reason
			}
			states = append(states, s)
		case inspect.KindLog:
			if e.Line == "hello" {
				hello = e
			}
		}
	}
	got := strings.Join(states, "\n")
	// The process's exit or the invocation's error, whichever is seen
	// first, says why it stopped.
	for _, want := range []string{"starting", "busy req-1 cold", "idle", "busy req-2", "stopped: ", "exit"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in the environment's life:\n%s", want, got)
		}
	}
	if hello.Request != "req-1" || hello.Env == 0 {
		t.Errorf("the line \"hello\": %+v, want tagged req-1", hello)
	}
}
