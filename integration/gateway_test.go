package integration

import (
	"context"
	"fmt"
	"github.com/lambdaws/lambdaws/internal/testenv"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/local"
	"github.com/lambdaws/lambdaws/local/lambdaenv"
	"github.com/lambdaws/lambdaws/ws"
)

// The examples accept every handshake and speak no subprotocol, so these
// tests serve small routers of their own through the emulator, in-process,
// as a user's tests would.

// disconnect is what a $disconnect handler saw.
type disconnect struct {
	code   int
	reason string
}

// testGateway serves r behind the emulator on a loopback port and returns
// its ws:// URL. The gateway is closed when the test ends.
func testGateway(t *testing.T, r *ws.Router, opts *local.Options) string {
	t.Helper()
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	g := local.New(r.Handler, opts)
	srv := httptest.NewServer(g)
	t.Cleanup(func() {
		g.Close()
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/"
}

// recordingRouter returns a router that accepts connections with a token,
// speaks subprotocol "chat.v1" when offered, echoes messages and records
// $disconnect close codes.
func recordingRouter() (*ws.Router, chan disconnect) {
	disconnects := make(chan disconnect, 16)
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error {
		if req.Query("token") != "secret" {
			return ws.Reject(http.StatusUnauthorized, "missing token")
		}
		if req.Header("Sec-WebSocket-Protocol") != "" && req.SelectSubprotocol("chat.v1") == "" {
			return ws.Reject(http.StatusBadRequest, "unsupported subprotocol")
		}
		return nil
	})
	r.OnMessage(func(ctx context.Context, req *ws.Request) error {
		return ws.Reply(ctx, req.Body)
	})
	r.OnDisconnect(func(ctx context.Context, req *ws.Request) error {
		code, reason := req.DisconnectStatus()
		disconnects <- disconnect{code, reason}
		return nil
	})
	return r, disconnects
}

func TestHandshake(t *testing.T) {
	testenv.Integration(t, "the emulator and Lambda environments")
	r, _ := recordingRouter()
	url := testGateway(t, r, &local.Options{Logger: quietLogger()})
	ctx := testContext(t, time.Minute)
	for _, tc := range []struct {
		name         string
		query        string
		subprotocols []string
		status       int
		subprotocol  string
	}{
		{"accepted", "?token=secret", nil, 101, ""},
		{"no token: 401", "", nil, 401, ""},
		{"wrong token: 401", "?token=guess", []string{"chat.v1"}, 401, ""},
		{"subprotocol accepted", "?token=secret", []string{"chat.v2", "chat.v1"}, 101, "chat.v1"},
		{"subprotocol refused", "?token=secret", []string{"chat.v2"}, 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, sub := dialStatus(t, ctx, url+tc.query, &websocket.DialOptions{Subprotocols: tc.subprotocols})
			if status != tc.status || sub != tc.subprotocol {
				t.Fatalf("handshake: %d %q, want %d %q", status, sub, tc.status, tc.subprotocol)
			}
		})
	}
	t.Run("echo after handshake", func(t *testing.T) {
		c := dial(t, ctx, "c", url+"?token=secret", &websocket.DialOptions{Subprotocols: []string{"chat.v1"}})
		c.send(ctx, "hello")
		c.expect("hello")
	})
}

// TestLimits checks the closes API Gateway makes: 1003 for a binary message,
// 1009 for a frame over 32 KB or a message over 128 KB, and that each reaches
// $disconnect with its code.
func TestLimits(t *testing.T) {
	testenv.Integration(t, "the emulator and Lambda environments")
	r, disconnects := recordingRouter()
	url := testGateway(t, r, &local.Options{Logger: quietLogger()}) + "?token=secret"
	ctx := testContext(t, time.Minute)

	for _, tc := range []struct {
		name  string
		write func(c *websocket.Conn) error
		code  websocket.StatusCode
	}{
		{"binary message", func(c *websocket.Conn) error {
			return c.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3})
		}, websocket.StatusUnsupportedData},
		{"frame over 32 KB", func(c *websocket.Conn) error {
			return c.Write(ctx, websocket.MessageText, []byte(strings.Repeat("x", 32*1024+1)))
		}, websocket.StatusMessageTooBig},
		{"message over 128 KB in 16 KB frames", func(c *websocket.Conn) error {
			w, err := c.Writer(ctx, websocket.MessageText)
			if err != nil {
				return err
			}
			frame := []byte(strings.Repeat("y", 16*1024))
			for range 9 { // 144 KB, each Write one frame
				if _, err := w.Write(frame); err != nil {
					return nil // the gateway may close before the last frame
				}
			}
			w.Close()
			return nil
		}, websocket.StatusMessageTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, ctx, "c", url, nil)
			// A message at the limits is fine: 32 KB frames, 128 KB in all.
			if tc.code == websocket.StatusMessageTooBig {
				w, _ := c.conn.Writer(ctx, websocket.MessageText)
				for range 4 {
					w.Write([]byte(strings.Repeat("z", 32*1024)))
				}
				w.Close()
				if got := c.next(); len(got) != 128*1024 {
					t.Fatalf("echo of a 128 KB message: %d bytes", len(got))
				}
			}
			if err := tc.write(c.conn); err != nil {
				t.Fatal(err)
			}
			if code := c.closed(); code != tc.code {
				t.Fatalf("closed with %v (%v), want %v", code, c.err, tc.code)
			}
			select {
			case d := <-disconnects:
				if d.code != int(tc.code) {
					t.Fatalf("$disconnect saw %d %q, want %d", d.code, d.reason, tc.code)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no $disconnect")
			}
		})
	}
}

// TestIdleTimeout checks that an idle connection is closed with 1001 and
// that $disconnect sees the code and reason, while a talking one stays open.
func TestIdleTimeout(t *testing.T) {
	testenv.Integration(t, "the emulator and Lambda environments")
	r, disconnects := recordingRouter()
	url := testGateway(t, r, &local.Options{Logger: quietLogger(), IdleTimeout: time.Second}) + "?token=secret"
	ctx := testContext(t, time.Minute)

	talker := dial(t, ctx, "talker", url, nil)
	idle := dial(t, ctx, "idle", url, nil)
	start := time.Now()
	for time.Since(start) < 2*time.Second { // twice the timeout
		talker.send(ctx, "still here")
		talker.expect("still here")
		time.Sleep(100 * time.Millisecond)
	}
	if code := idle.closed(); code != websocket.StatusGoingAway {
		t.Fatalf("idle connection closed with %v (%v), want 1001", code, idle.err)
	}
	select {
	case d := <-disconnects:
		if d != (disconnect{1001, "Going away"}) {
			t.Fatalf("$disconnect saw %d %q, want 1001 \"Going away\"", d.code, d.reason)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no $disconnect for the idle connection")
	}
	select {
	case <-talker.done:
		t.Fatalf("the talking connection was closed too: %v", talker.err)
	default:
	}
}

// TestAuthorizer serves a ws.Authorizer as the API's Lambda authorizer and a
// router whose handlers read its identity with Request.AuthorizerContext, each on
// its own Function, as `sam deploy` would wire them.
func TestAuthorizer(t *testing.T) {
	testenv.Integration(t, "the emulator and Lambda environments")
	auth := lambdaenv.New(ws.AuthorizerHandler(func(ctx context.Context, req *ws.Request) (string, map[string]any, error) {
		switch req.Query("token") {
		case "secret":
			return "ann", map[string]any{"plan": "pro", "seats": 3}, nil
		case "banned":
			return "", nil, ws.Reject(http.StatusForbidden, "")
		}
		return "", nil, ws.Reject(http.StatusUnauthorized, "")
	}), &lambdaenv.Options{Name: "authorizer", Logger: quietLogger()})
	t.Cleanup(func() { auth.Close() })
	r := ws.NewRouter()
	r.OnMessage(func(ctx context.Context, req *ws.Request) error {
		a := req.AuthorizerContext()
		return ws.Reply(ctx, fmt.Sprintf("%v on %v with %v seats", a["principalId"], a["plan"], a["seats"]))
	})
	url := testGateway(t, r, &local.Options{Logger: quietLogger(), Authorizer: &local.Authorizer{
		Function: auth, IdentitySource: []string{"route.request.querystring.token"}}})
	ctx := testContext(t, time.Minute)
	for _, tc := range []struct {
		query  string
		status int
	}{{"", 401}, {"?token=guess", 401}, {"?token=banned", 403}, {"?token=secret", 101}} {
		if status, _ := dialStatus(t, ctx, url+tc.query, nil); status != tc.status {
			t.Errorf("dial %q: %d, want %d", tc.query, status, tc.status)
		}
	}
	c := dial(t, ctx, "c", url+"?token=secret", nil)
	c.send(ctx, "who am I?")
	c.expect("ann on pro with 3 seats")
}
