package local_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/local"
)

// TestDomainNameIsTheGateway checks that a client's Host header does not
// decide where the handlers' management API calls go.
func TestDomainNameIsTheGateway(t *testing.T) {
	h := start(t, nil, func(ctx context.Context, ev event) (response, error) {
		if ev.RequestContext.EventType != "MESSAGE" {
			return response{StatusCode: 200}, nil
		}
		_, err := client(endpoint(ev)).PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
			ConnectionId: aws.String(ev.RequestContext.ConnectionID), Data: []byte("via " + ev.RequestContext.DomainName)},
			func(o *apigatewaymanagementapi.Options) { o.RetryMaxAttempts = 1 })
		return response{StatusCode: 200}, err
	})
	c := h.dial("", &websocket.DialOptions{Host: "127.0.0.1:19999"})
	write(t, c, "x")
	want := "via " + strings.TrimPrefix(h.srv.URL, "http://")
	if got := read(t, c); got != want {
		t.Errorf("client got %q, want %q", got, want)
	}
}

// TestCloseKeepsAcceptedFrames checks that frames PostToConnection accepted
// reach the client before a close that follows them.
func TestCloseKeepsAcceptedFrames(t *testing.T) {
	t.Parallel()
	const frames = 21
	posted := make(chan struct{}, 1)
	fn := func(ctx context.Context, ev event) (response, error) {
		if ev.RequestContext.EventType != "MESSAGE" {
			return response{StatusCode: 200}, nil
		}
		api, id := client(endpoint(ev)), aws.String(ev.RequestContext.ConnectionID)
		for i := range frames {
			if _, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: id, Data: fmt.Appendf(nil, "%d", i)}); err != nil {
				return response{}, err
			}
		}
		if ev.Body == "delete" {
			_, err := api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: id})
			return response{StatusCode: 200}, err
		}
		posted <- struct{}{}
		return response{StatusCode: 200}, nil
	}
	readAll := func(t *testing.T, c *websocket.Conn, code websocket.StatusCode) {
		t.Helper()
		for i := range frames {
			if got := read(t, c); got != fmt.Sprint(i) {
				t.Fatalf("frame %d is %q", i, got)
			}
		}
		if ce := readClose(t, c); ce.Code != code {
			t.Fatalf("close %v, want %v", ce, code)
		}
	}
	t.Run("DeleteConnection", func(t *testing.T) {
		h := start(t, nil, fn)
		for range 40 {
			c := h.dial("", nil)
			write(t, c, "delete")
			readAll(t, c, websocket.StatusNormalClosure)
		}
	})
	t.Run("Gateway.Close", func(t *testing.T) {
		for range 10 {
			h := start(t, nil, fn)
			c := h.dial("", nil)
			write(t, c, "post")
			<-posted
			go h.g.Close()
			readAll(t, c, websocket.StatusGoingAway)
		}
	})
}

// TestInvalidHandshake checks that a handshake that cannot succeed is refused
// before $connect runs.
func TestInvalidHandshake(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(make([]byte, 16))
	tests := []struct {
		name   string
		method string
		header http.Header
		status int
	}{
		{"key not base64 of 16 bytes", "GET", http.Header{"Sec-Websocket-Key": {"abc"}, "Sec-Websocket-Version": {"13"}}, 400},
		{"two keys", "GET", http.Header{"Sec-Websocket-Key": {key, key}, "Sec-Websocket-Version": {"13"}}, 400},
		{"no key", "GET", http.Header{"Sec-Websocket-Version": {"13"}}, 400},
		{"version 8", "GET", http.Header{"Sec-Websocket-Key": {key}, "Sec-Websocket-Version": {"8"}}, 400},
		{"POST", "POST", http.Header{"Sec-Websocket-Key": {key}, "Sec-Websocket-Version": {"13"}}, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, nil, nil)
			req, _ := http.NewRequest(tt.method, h.srv.URL, nil)
			req.Header = tt.header
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "websocket")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			select {
			case ev := <-h.events:
				t.Errorf("%s invoked for a handshake that failed", ev.RequestContext.RouteKey)
			default:
			}
		})
	}
}

// TestProtocolError sends a frame with a reserved opcode, or an unmasked one
// (which coder/websocket alone drops without a close frame): the client is
// closed with 1002 and $disconnect reports 1002.
func TestProtocolError(t *testing.T) {
	for name, frame := range map[string][]byte{
		"reserved opcode": {0x83, 0x80, 1, 2, 3, 4}, // FIN, opcode 3 (reserved), masked, empty
		"unmasked frame":  {0x81, 0x02, 'h', 'i'},   // FIN, text, unmasked "hi"
	} {
		t.Run(name, func(t *testing.T) {
			h := start(t, nil, nil)
			nc, err := net.Dial("tcp", strings.TrimPrefix(h.srv.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(5 * time.Second))
			var key [16]byte
			rand.Read(key[:])
			fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n\r\n",
				base64.StdEncoding.EncodeToString(key[:]))
			br := bufio.NewReader(nc)
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("handshake: %v %v", resp, err)
			}
			h.nextOf("CONNECT")
			nc.Write(frame)
			var hdr [2]byte
			if _, err := io.ReadFull(br, hdr[:]); err != nil || hdr[0] != 0x88 {
				t.Fatalf("read %x, %v; want a close frame", hdr, err)
			}
			payload := make([]byte, hdr[1]&0x7f)
			if _, err := io.ReadFull(br, payload); err != nil || len(payload) < 2 {
				t.Fatalf("close payload %x, %v", payload, err)
			}
			if code := binary.BigEndian.Uint16(payload); code != 1002 {
				t.Errorf("client got close %d, want 1002", code)
			}
			nc.Close() // else the gateway lingers for the client's end of the close
			if ev := h.nextOf("DISCONNECT"); ev.RequestContext.DisconnectStatusCode != 1002 {
				t.Errorf("$disconnect code %d, want 1002", ev.RequestContext.DisconnectStatusCode)
			}
		})
	}
}

// TestQueueBoundedInBytes checks that a client that does not read costs a
// bounded amount of memory: PostToConnection answers 429 long before 128
// frames of 128 KiB are queued.
func TestQueueBoundedInBytes(t *testing.T) {
	h := start(t, nil, nil)
	c := h.dial("", nil)
	defer c.CloseNow()
	id := h.next().RequestContext.ConnectionID
	api := client(h.srv.URL + "/local")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	data := make([]byte, 128<<10)
	accepted := 0
	for {
		_, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: &id, Data: data},
			func(o *apigatewaymanagementapi.Options) { o.RetryMaxAttempts = 1 })
		var limit *types.LimitExceededException
		if errors.As(err, &limit) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		accepted += len(data)
	}
	// The queue holds 1 MiB; the rest is in the kernel's socket buffers.
	t.Logf("accepted %d MiB before 429", accepted>>20)
	if accepted > 10<<20 {
		t.Errorf("accepted %d MiB for a client that does not read", accepted>>20)
	}
}

// TestServeShutdown checks that Serve closes the gateway before the
// listener, so $disconnect handlers reach the management API, and returns
// nil though a $connect was still running: it returns only once the
// shutdown's first $disconnect ran.
func TestServeShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	entered := make(chan struct{})
	disconnectErr := make(chan error, 2)
	var once sync.Once
	shutdown := make(chan struct{}) // the first $disconnect of the shutdown ran
	fn := func(ctx context.Context, ev event) (response, error) {
		switch rc := ev.RequestContext; {
		case rc.EventType == "CONNECT" && ev.QueryStringParameters["slow"] != "":
			close(entered)
			<-shutdown // still running well into the shutdown
		case rc.EventType == "DISCONNECT":
			_, err := client(endpoint(ev)).GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(rc.ConnectionID)},
				func(o *apigatewaymanagementapi.Options) { o.RetryMaxAttempts = 1 })
			disconnectErr <- err
			once.Do(func() { close(shutdown) })
		}
		return response{StatusCode: 200}, nil
	}
	done := make(chan error, 1)
	// fn itself, not a lambda.Handler: its environments run in parallel, so
	// $disconnect runs while the slow $connect waits for it.
	go func() { done <- local.Serve(ctx, ln, fn, &local.Options{Logger: discard}) }()
	url := "ws://" + ln.Addr().String()
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	c, _, err := websocket.Dial(dctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.CloseRead(context.Background()) // answers the gateway's close at once
	slow := make(chan error, 1)
	go func() {
		c, _, err := websocket.Dial(dctx, url+"/?slow=1", nil)
		if err == nil {
			c.CloseNow()
		}
		slow <- err
	}()
	<-entered
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	<-slow
	for range 2 {
		var gone *types.GoneException
		if err := <-disconnectErr; !errors.As(err, &gone) {
			t.Errorf("GetConnection from $disconnect during shutdown: %v, want GoneException", err)
		}
	}
}

// TestDisconnectCodeAfterLargeFrame checks that a frame over 32 KiB sent to
// the client (PostToConnection allows 128 KiB) does not upset how the
// gateway follows its own frames: a client that then drops the connection
// is reported to $disconnect with 1006, not with a code read from the
// payload.
func TestDisconnectCodeAfterLargeFrame(t *testing.T) {
	h := start(t, nil, nil)
	c := h.dial("", nil)
	id := h.next().RequestContext.ConnectionID
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	data := []byte(strings.Repeat("x", 40<<10)) // 'x' read as a frame header is a close frame
	if _, err := client(h.srv.URL+"/local").PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: &id, Data: data}); err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(-1)
	if got := read(t, c); got != string(data) {
		t.Fatalf("read %d bytes, want %d", len(got), len(data))
	}
	c.CloseNow()
	if rc := h.nextOf("DISCONNECT").RequestContext; rc.DisconnectStatusCode != 1006 {
		t.Errorf("$disconnect code %d, want 1006", rc.DisconnectStatusCode)
	}
}

// TestInFlightBoundedInBytes checks that the messages of one connection
// being invoked or waiting for an environment hold at most 1 MiB of bodies:
// of 128 KiB messages, 8 are in flight and the reader waits for one to end
// before reading the next (32 could wait, each as a JSON event up to six
// times its body: 25 MB per client while the Function was busy).
func TestInFlightBoundedInBytes(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{}, 64)
	release := make(chan struct{})
	h := start(t, nil, func(ctx context.Context, ev event) (response, error) {
		if ev.RequestContext.EventType == "MESSAGE" {
			entered <- struct{}{}
			<-release
		}
		return response{StatusCode: 200}, nil
	})
	t.Cleanup(func() { close(release) })
	c := h.dial("", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	frame := make([]byte, 32<<10)
	go func() {
		for range 12 {
			w, err := c.Writer(ctx, websocket.MessageText)
			if err != nil {
				return
			}
			for range 4 {
				w.Write(frame)
			}
			w.Close()
		}
	}()
	for i := range 8 {
		select {
		case <-entered:
		case <-time.After(5 * time.Second):
			t.Fatalf("%d messages invoked, want 8", i)
		}
	}
	select {
	case <-entered:
		t.Error("a 9th message of 128 KiB invoked while 8 were in flight")
	case <-time.After(300 * time.Millisecond):
	}
}
