package sender_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/lambdaws/lambdaws/sender"
)

// TestDefaultTransport checks the calls of the default HTTP client (here
// the emulator's, built as the AWS configuration's is): no Accept-Encoding
// (DisableCompression) and no redirect followed (the transport is called
// without an http.Client).
func TestDefaultTransport(t *testing.T) {
	var redirected atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/elsewhere":
			redirected.Add(1)
		case r.Header.Get("Accept-Encoding") != "":
			t.Errorf("Accept-Encoding: %q, want none", r.Header.Get("Accept-Encoding"))
		case r.URL.Path == "/prod/@connections/moved":
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		}
	}))
	defer srv.Close()
	s := sender.NewForEndpoint(srv.URL+"/prod", nil)
	ctx := context.Background()
	if err := s.Send(ctx, "here", []byte("hi")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if err := s.Send(ctx, "moved", []byte("hi")); err == nil {
		t.Error("Send to a 307: no error")
	}
	if n := redirected.Load(); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
}
