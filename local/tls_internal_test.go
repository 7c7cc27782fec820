//go:build unix

package local

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// testTLS is a TLS configuration with httptest's certificate.
func testTLS(t *testing.T) *tls.Config {
	t.Helper()
	srv := httptest.NewTLSServer(nil)
	defer srv.Close()
	return &tls.Config{Certificates: srv.TLS.Certificates}
}

// TestOversizeFrameCleanClose: a plain ws:// client sending a 1 MiB frame
// gets the close 1009 then a clean end of stream (the gateway half-closes
// and drains what the client still sends), with TLS on as with TLS off.
func TestOversizeFrameCleanClose(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls %v", tlsOn), func(t *testing.T) {
			opts := &Options{Logger: quiet}
			if tlsOn {
				opts.TLS = testTLS(t)
			}
			addr, _ := serveGateway(t, New(rawOK, opts))
			c := rawConn(t, addr)
			c.SetDeadline(time.Now().Add(30 * time.Second))
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", addr)
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("handshake: %v %v", resp, err)
			}
			frame := make([]byte, 14+1<<20)
			frame[0], frame[1] = 0x81, 0x80|127 // a final text frame, masked, 64-bit length
			binary.BigEndian.PutUint64(frame[2:10], 1<<20)
			go c.Write(frame) // fails once the gateway closes; the test waits for what it reads
			hdr := make([]byte, 4)
			if _, err := io.ReadFull(br, hdr); err != nil {
				t.Fatalf("no close frame: %v", err)
			}
			if hdr[0] != 0x88 || hdr[1] < 2 || hdr[1] > 125 {
				t.Fatalf("frame header % x, want a close frame", hdr[:2])
			}
			if code := websocket.StatusCode(binary.BigEndian.Uint16(hdr[2:])); code != websocket.StatusMessageTooBig {
				t.Errorf("close %v, want %v", code, websocket.StatusMessageTooBig)
			}
			io.CopyN(io.Discard, br, int64(hdr[1])-2)
			if n, err := io.Copy(io.Discard, br); err != nil || n != 0 {
				t.Errorf("after the close frame: %d bytes, %v; want a clean EOF", n, err)
			}
		})
	}
}

// TestTLSListenerBudget: with TLS on, a client has one request timeout from
// its connection for the first byte, the handshake and the headers (as
// with TLS off for the headers), not a timeout for the first byte and
// another for what follows.
func TestTLSListenerBudget(t *testing.T) {
	t.Parallel() // waits out timeouts: overlaps the other such tests
	const budget = time.Second
	for _, tc := range []struct {
		name  string
		first byte
	}{
		{"plain request", 'G'},
		{"TLS handshake", recordTypeHandshake},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := New(rawOK, &Options{Logger: quiet, TLS: testTLS(t)})
			g.reqTimeout = budget
			addr, _ := serveGateway(t, g)
			start := time.Now()
			c := rawConn(t, addr)
			time.Sleep(budget * 3 / 4)
			sent := time.Now()
			if _, err := c.Write([]byte{tc.first}); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			_, err := io.Copy(io.Discard, c)
			closed := time.Now()
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the gateway did not close the connection")
			}
			// A second window from the first byte would close it at
			// sent+budget at the earliest.
			if closed.Sub(sent) >= budget {
				t.Errorf("closed %v after the connection, %v after its first byte; want within the %v budget from the connection", closed.Sub(start).Round(time.Millisecond), closed.Sub(sent).Round(time.Millisecond), budget)
			}
		})
	}
}

// TestTLSListenerBudgetEnds: once a request's headers are read in time,
// the connection is no longer bound by the budget: a kept-alive
// connection serves another request after it, plain or TLS.
func TestTLSListenerBudgetEnds(t *testing.T) {
	t.Parallel() // waits out timeouts: overlaps the other such tests
	const budget = 500 * time.Millisecond
	config := testTLS(t)
	for _, tlsOn := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls %v", tlsOn), func(t *testing.T) {
			t.Parallel()
			g := New(rawOK, &Options{Logger: quiet, TLS: config})
			g.reqTimeout = budget
			addr, _ := serveGateway(t, g)
			c := rawConn(t, addr)
			if tlsOn {
				c = tls.Client(c, &tls.Config{InsecureSkipVerify: true})
			}
			c.SetDeadline(time.Now().Add(30 * time.Second))
			br := bufio.NewReader(c)
			for i := range 2 {
				if i == 1 {
					time.Sleep(2 * budget)
				}
				fmt.Fprintf(c, "GET /local/@connections/abc HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("request %d: %v", i+1, err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusGone {
					t.Errorf("request %d: %d, want 410", i+1, resp.StatusCode)
				}
			}
		})
	}
}
