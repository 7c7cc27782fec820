package local

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/internal/testenv"
	"github.com/lambdaws/lambdaws/local/lambdaenv"
)

// postEvent makes an Event invocation of function name through the Invoke
// API of srv.
func postEvent(t *testing.T, srv *httptest.Server, name string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/2015-03-31/functions/"+name+"/invocations", strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Invocation-Type", "Event")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("Event invocation: status %d", resp.StatusCode)
	}
}

// TestEventRetries: a failing Event invocation runs three times in all, as
// Lambda retries an asynchronous invocation twice, then is dropped with one
// error line.
func TestEventRetries(t *testing.T) {
	var calls atomic.Int32
	done := make(chan struct{}, 3)
	fail := lambdaenv.New(func(context.Context, struct{}) error {
		calls.Add(1)
		done <- struct{}{}
		return errors.New("boom")
	}, &lambdaenv.Options{Name: "fail", Logger: slog.New(slog.DiscardHandler)})
	defer fail.Close()
	var log testenv.LockedBuffer
	g := New(nil, &Options{Logger: slog.New(slog.NewTextHandler(&log, nil)), Routes: map[string]Route{"$default": {Function: fail}}})
	g.lambdaAPI.retries = []time.Duration{time.Millisecond, 2 * time.Millisecond}
	srv := httptest.NewServer(g)
	defer srv.Close()
	postEvent(t, srv, "fail")
	for range 3 {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d attempts, want 3\n%s", calls.Load(), log.String())
		}
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(log.String(), "event dropped"); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no line saying the event was dropped:\n%s", log.String())
		}
	}
	g.Close()
	if n := calls.Load(); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	if n := strings.Count(log.String(), "event dropped after Lambda's 2 retries"); n != 1 {
		t.Errorf("%d lines saying the event was dropped, want 1:\n%s", n, log.String())
	}
}

// TestEventStopsWithGateway: Close ends an Event invocation waiting for its
// retry, at once, and leaves no goroutine behind.
func TestEventStopsWithGateway(t *testing.T) {
	var calls atomic.Int32
	fail := lambdaenv.New(func(context.Context, struct{}) error { calls.Add(1); return errors.New("boom") },
		&lambdaenv.Options{Name: "fail", Logger: slog.New(slog.DiscardHandler)})
	defer fail.Close()
	var log bytes.Buffer
	g := New(nil, &Options{Logger: slog.New(slog.NewTextHandler(&log, nil)), Routes: map[string]Route{"$default": {Function: fail}}})
	g.lambdaAPI.retries = []time.Duration{time.Hour, time.Hour}
	srv := httptest.NewServer(g)
	defer srv.Close()
	postEvent(t, srv, "fail")
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { g.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for the retry an hour away")
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/2015-03-31/functions/fail/invocations", strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Invocation-Type", "Event")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("Event invocation after Close: status %d, want 503", resp.StatusCode)
	}
}

// FuzzInvokeLookup: any name a request carries is either refused or names
// a served function by its name, partial ARN or ARN.
func FuzzInvokeLookup(f *testing.F) {
	for _, s := range []string{"echo", "echo:$LATEST", "123456789012:function:echo", "arn:aws:lambda:us-east-1:123456789012:function:echo",
		"arn:aws:lambda:us-east-1:123456789012:function", "arn:aws:lambda:us-east-1:123456789012:function:echo:live", ":", "::::::"} {
		f.Add(s)
	}
	echo := lambdaenv.New(func(context.Context, struct{}) error { return nil }, &lambdaenv.Options{Name: "echo", Logger: slog.New(slog.DiscardHandler)})
	defer echo.Close()
	g := New(nil, &Options{Routes: map[string]Route{"$default": {Function: echo}}, Logger: slog.New(slog.DiscardHandler)})
	f.Fuzz(func(t *testing.T, name string) {
		if fn := g.lookupFunction(name); fn != nil && !strings.Contains(name, "echo") {
			t.Errorf("%q found %s", name, fn.Name())
		}
	})
}
