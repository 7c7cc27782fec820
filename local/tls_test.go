//go:build unix

package local_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/internal/testenv"
	"github.com/lambdaws/lambdaws/local"
)

// selfSigned returns httptest's certificate (for 127.0.0.1, ::1 and
// example.com) and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	srv := httptest.NewTLSServer(nil)
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv.TLS.Certificates[0], pool
}

// TestServeTLS serves TLS and plain HTTP on one port: wss:// and ws://
// clients, and a handler answering through the management API at
// https://{domainName}/{stage}, as most apps build the URL.
func TestServeTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	httpsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	ln, err := local.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	protos := make(chan string, 4)
	handler := func(ctx context.Context, ev event) (response, error) {
		switch ev.RequestContext.EventType {
		case "CONNECT":
			protos <- ev.Headers["X-Forwarded-Proto"]
		case "MESSAGE":
			url := "https://" + ev.RequestContext.DomainName + "/" + ev.RequestContext.Stage + "/@connections/" + ev.RequestContext.ConnectionID
			resp, err := httpsClient.Post(url, "application/octet-stream", strings.NewReader("re: "+ev.Body))
			if err != nil {
				return response{}, err
			}
			resp.Body.Close()
		}
		return response{StatusCode: 200}, nil
	}
	var logs testenv.LockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- local.Serve(ctx, ln, lambda.NewHandler(handler), &local.Options{
			Logger: slog.New(slog.NewTextHandler(&logs, nil)), TLS: &tls.Config{Certificates: []tls.Certificate{cert}},
		})
	}()
	addr := ln.Addr().String()
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()

	// A TLS handshake that is garbage fails alone.
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	raw.Write([]byte{0x16, 3, 1, 0, 4, 0xff, 0, 0, 0}) // a handshake record of an unknown type
	raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := raw.Read(make([]byte, 64)); err == nil {
		// An alert, then the close.
		buf := make([]byte, 64)
		for err == nil {
			_, err = raw.Read(buf)
		}
	}
	raw.Close()

	var conns []*websocket.Conn
	for _, scheme := range []string{"wss", "ws"} {
		opts := &websocket.DialOptions{HTTPClient: httpsClient}
		c, _, err := websocket.Dial(dctx, scheme+"://"+addr+"/", opts)
		if err != nil {
			t.Fatalf("%s: %v", scheme, err)
		}
		conns = append(conns, c)
		want := map[string]string{"wss": "https", "ws": "http"}[scheme]
		if got := <-protos; got != want {
			t.Errorf("%s: X-Forwarded-Proto %q, want %q", scheme, got, want)
		}
		write(t, c, "hi "+scheme)
		if got := read(t, c); got != "re: hi "+scheme {
			t.Errorf("%s: got %q", scheme, got)
		}
	}

	// A client not trusting the certificate is refused as by any TLS
	// server; plain HTTP stays plain.
	if _, err := http.Get("https://" + addr + "/"); err == nil {
		t.Error("https without trusting the certificate: no error")
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired {
		t.Errorf("GET / over http: %d, want 426", resp.StatusCode)
	}
	resp, err = httpsClient.Post("https://"+addr+"/local/@connections/nope", "text/plain", bytes.NewReader([]byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Errorf("POST to an unknown connection over https: %d, want 410", resp.StatusCode)
	}

	for _, c := range conns {
		c.Close(websocket.StatusNormalClosure, "")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if n := strings.Count(logs.String(), "level=WARN msg=\"http: TLS handshake error"); n != 2 {
		t.Errorf("%d TLS handshake errors logged, want 2 (a bad handshake, a client not trusting the certificate):\n%s", n, logs.String())
	}
	httpsClient.CloseIdleConnections()
	checkNoLeaks(t)
}

// TestServeTLSSilentClient checks that a client that connects and sends
// nothing does not hold up others, nor the shutdown.
func TestServeTLSSilentClient(t *testing.T) {
	cert, _ := selfSigned(t)
	ln, err := local.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- local.Serve(ctx, ln, lambda.NewHandler(func(ev event) (response, error) {
			return response{StatusCode: 200}, nil
		}), &local.Options{Logger: discard, TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	}()
	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	// The silent connection is closed by the shutdown or its first-byte
	// deadline, whichever comes first.
	silent.SetReadDeadline(time.Now().Add(time.Minute))
	if _, err := silent.Read(make([]byte, 1)); err == nil {
		t.Error("the silent connection got data")
	}
	http.DefaultClient.CloseIdleConnections()
	checkNoLeaks(t)
}

// BenchmarkManageTLS measures a management API call (GetConnection) over
// plain HTTP, over TLS on a kept-alive connection, and over TLS with a new
// connection per call (a handler that makes a client per invocation).
func BenchmarkManageTLS(b *testing.B) {
	cert, pool := selfSigned(&testing.T{})
	ln, err := local.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ids := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- local.Serve(ctx, ln, lambda.NewHandler(func(ev event) (response, error) {
			if ev.RequestContext.EventType == "CONNECT" {
				ids <- ev.RequestContext.ConnectionID
			}
			return response{StatusCode: 200}, nil
		}), &local.Options{Logger: discard, TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	}()
	defer func() {
		cancel()
		<-done
	}()
	addr := ln.Addr().String()
	c, _, err := websocket.Dial(ctx, "ws://"+addr, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseNow()
	go func() {
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return
			}
		}
	}()
	path := "/local/@connections/" + <-ids
	tlsConfig := &tls.Config{RootCAs: pool}
	for _, bc := range []struct {
		name, url string
		client    func() *http.Client
	}{
		{"http", "http://" + addr + path, func() *http.Client { return &http.Client{Transport: &http.Transport{}} }},
		{"https", "https://" + addr + path, func() *http.Client { return &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig}} }},
		{"https-new-conn", "https://" + addr + path, func() *http.Client {
			return &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig, DisableKeepAlives: true}}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			client := bc.client()
			defer client.CloseIdleConnections()
			for b.Loop() {
				resp, err := client.Get(bc.url)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body) // so that the connection is reused
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
