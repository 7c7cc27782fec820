package sender_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/lambdaws/lambdaws/sender"
)

// traceKey is the context key under which aws-lambda-go puts the trace header.
const traceKey = "x-amzn-trace-id"

func TestTraceHeader(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.Header.Get("X-Amzn-Trace-Id"))
		mu.Unlock()
		if r.Method == http.MethodGet {
			w.Write([]byte(`{"connectedAt":"2026-01-02T03:04:05Z","lastActiveAt":"2026-01-02T03:04:05Z","identity":{"sourceIp":"1.2.3.4"}}`))
		}
	}))
	defer srv.Close()
	const tid = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	s := sender.NewForEndpoint(srv.URL+"/local", nil)
	//lint:ignore SA1029 the key aws-lambda-go uses
	ctx := context.WithValue(context.Background(), traceKey, tid)
	if err := s.Send(ctx, "a", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Info(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1029 the key aws-lambda-go uses
	bad := context.WithValue(context.Background(), traceKey, "Root=1\r\nX-Evil: 1")
	if err := s.Send(bad, "a", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), "a", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	want := []string{"POST " + tid, "GET " + tid, "DELETE " + tid, "POST ", "POST "}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("requests %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d: %q, want %q", i, got[i], want[i])
		}
	}
}
