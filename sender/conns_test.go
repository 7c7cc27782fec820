package sender

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// connServer is a test server that counts requests and new connections.
type connServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests int
	dialed   int
}

func newConnServer(t *testing.T, h http.HandlerFunc) *connServer {
	return startConnServer(t, h, false)
}

// startConnServer is newConnServer over HTTPS when tls is set.
func startConnServer(t *testing.T, h http.HandlerFunc, tls bool) *connServer {
	s := &connServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests++
		s.mu.Unlock()
		io.Copy(io.Discard, r.Body)
		if h != nil {
			h(w, r)
		}
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.mu.Lock()
			s.dialed++
			s.mu.Unlock()
		}
	}
	if tls {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

func (s *connServer) counts() (requests, dialed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.dialed
}

func post(t *testing.T, ctx context.Context, c *conns, url, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return c.Do(req)
}

func TestConns(t *testing.T) {
	ctx := context.Background()
	t.Run("keeps one connection alive", func(t *testing.T) {
		for _, scheme := range []string{"http", "https"} {
			srv := startConnServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }, scheme == "https")
			c := newConns(scheme, strings.TrimPrefix(srv.URL, scheme+"://"), srv.Client().Transport.(*http.Transport).TLSClientConfig, 4)
			for range 50 {
				resp, err := post(t, ctx, c, srv.URL+"/x", "hi")
				if err != nil {
					t.Fatal(err)
				}
				if b, _ := io.ReadAll(resp.Body); string(b) != "ok" || resp.StatusCode != 200 {
					t.Fatalf("response %d %q", resp.StatusCode, b)
				}
			}
			if req, dialed := srv.counts(); req != 50 || dialed != 1 {
				t.Errorf("%s: %d requests over %d connections, want 50 over 1", scheme, req, dialed)
			}
		}
	})

	t.Run("a connection the server closed while idle is replaced, the request sent once", func(t *testing.T) {
		if !idleChecked {
			t.Skip("no check of idle connections on this system")
		}
		for _, scheme := range []string{"http", "https"} {
			srv := startConnServer(t, nil, scheme == "https")
			c := newConns(scheme, strings.TrimPrefix(srv.URL, scheme+"://"), srv.Client().Transport.(*http.Transport).TLSClientConfig, 4)
			if _, err := post(t, ctx, c, srv.URL+"/x", "1"); err != nil {
				t.Fatal(err)
			}
			srv.CloseClientConnections()
			if _, err := post(t, ctx, c, srv.URL+"/x", "2"); err != nil {
				t.Fatalf("%s: request after the server closed the idle connection: %v", scheme, err)
			}
			if req, dialed := srv.counts(); req != 2 || dialed != 2 {
				t.Errorf("%s: %d requests over %d connections, want 2 over 2", scheme, req, dialed)
			}
		}
	})

	t.Run("a POST whose connection drops after the server read it is not sent again", func(t *testing.T) {
		// The server takes the request (a management API would deliver
		// the message) and then the connection ends without an answer:
		// sending it again could deliver it twice, so, as http.Transport
		// does for a POST, the call fails.
		srv := newConnServer(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/drop" {
				c, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					c.Close()
				}
			}
		})
		c := newConns("http", strings.TrimPrefix(srv.URL, "http://"), nil, 4)
		if _, err := post(t, ctx, c, srv.URL+"/x", "1"); err != nil {
			t.Fatal(err)
		}
		if _, err := post(t, ctx, c, srv.URL+"/drop", "2"); err == nil {
			t.Errorf("no error for a request the server dropped unanswered")
		}
		if req, _ := srv.counts(); req != 2 {
			t.Errorf("the server received %d requests, want 2 (the dropped one once)", req)
		}
	})

	t.Run("Connection: close is honoured", func(t *testing.T) {
		srv := newConnServer(t, func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Connection", "close") })
		c := newConns("http", strings.TrimPrefix(srv.URL, "http://"), nil, 4)
		for range 3 {
			if _, err := post(t, ctx, c, srv.URL+"/x", "hi"); err != nil {
				t.Fatal(err)
			}
		}
		if req, dialed := srv.counts(); req != 3 || dialed != 3 {
			t.Errorf("%d requests over %d connections, want 3 over 3", req, dialed)
		}
	})

	t.Run("a TLS handshake that never ends is bounded without a context deadline", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() { // accepts and says nothing
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				t.Cleanup(func() { c.Close() })
			}
		}()
		c := newConns("https", ln.Addr().String(), nil, 4)
		c.handshake = 50 * time.Millisecond
		done := make(chan error, 1)
		go func() {
			_, err := post(t, ctx, c, "https://"+ln.Addr().String()+"/x", "hi")
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "TLS handshake timeout") {
				t.Errorf("err = %v, want a TLS handshake timeout", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the call still waits for the handshake")
		}
	})

	t.Run("the context ends a call in progress", func(t *testing.T) {
		release := make(chan struct{})
		srv := newConnServer(t, func(w http.ResponseWriter, r *http.Request) { <-release })
		defer close(release)
		c := newConns("http", strings.TrimPrefix(srv.URL, "http://"), nil, 4)
		for _, mk := range []func() (context.Context, context.CancelFunc){
			func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 50*time.Millisecond) },
			func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(ctx)
				time.AfterFunc(50*time.Millisecond, cancel)
				return ctx, cancel
			},
		} {
			cctx, cancel := mk()
			start := time.Now()
			_, err := post(t, cctx, c, srv.URL+"/x", "hi")
			cancel()
			if !errors.Is(err, cctx.Err()) || cctx.Err() == nil {
				t.Errorf("err = %v, want the context's error", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("call returned %v after its context ended", d)
			}
		}
	})

	t.Run("informational responses are skipped, the final one answers its own call", func(t *testing.T) {
		srv := newConnServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusContinue)
			w.WriteHeader(http.StatusEarlyHints)
			if r.URL.Path == "/gone" {
				w.WriteHeader(http.StatusGone)
			}
		})
		c := newConns("http", strings.TrimPrefix(srv.URL, "http://"), nil, 4)
		for _, want := range []int{http.StatusGone, http.StatusOK, http.StatusGone} {
			path := "/ok"
			if want == http.StatusGone {
				path = "/gone"
			}
			resp, err := post(t, ctx, c, srv.URL+path, "hi")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != want {
				t.Errorf("POST %s: status %d, want %d", path, resp.StatusCode, want)
			}
		}
	})

	t.Run("response headers are bounded as by http.Transport", func(t *testing.T) {
		srv := newConnServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Big", strings.Repeat("a", maxHeader+1))
		})
		c := newConns("http", strings.TrimPrefix(srv.URL, "http://"), nil, 4)
		if _, err := post(t, ctx, c, srv.URL+"/x", "hi"); err == nil {
			t.Errorf("no error for headers over %d bytes", maxHeader)
		}
	})

	t.Run("a response body over 64 KiB is cut and its connection not reused", func(t *testing.T) {
		// A front end's error page can be large; its status still counts
		// (a 503 is retried, as through the SDK client).
		srv := newConnServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write(make([]byte, 3*maxBody))
		})
		s := NewForEndpoint(srv.URL+"/local", &Options{MaxAttempts: 3, BackoffBase: time.Millisecond})
		err := s.Send(ctx, "c1", []byte("hi"))
		var se *Error
		if !errors.As(err, &se) || se.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("err = %v, want a *Error with StatusCode 503", err)
		}
		if req, dialed := srv.counts(); req != 3 || dialed != 3 {
			t.Errorf("%d requests over %d connections, want 3 over 3", req, dialed)
		}
	})
}
