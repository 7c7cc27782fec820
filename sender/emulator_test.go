package sender_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/smithy-go"
	"github.com/coder/websocket"

	"github.com/lambdaws/lambdaws/local"
	"github.com/lambdaws/lambdaws/sender"
)

// emulator serves a local Gateway whose function accepts every connection
// and reports each $connect's connection id on connected.
func emulator(t testing.TB, opts *local.Options) (srv *httptest.Server, connected chan string) {
	connected = make(chan string, 1024)
	fn := func(ctx context.Context, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		if ev.RequestContext.RouteKey == "$connect" {
			connected <- ev.RequestContext.ConnectionID
		}
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	}
	if opts == nil {
		opts = &local.Options{}
	}
	opts.Logger = slog.New(slog.DiscardHandler)
	g := local.New(lambda.NewHandler(fn), opts)
	srv = httptest.NewServer(g)
	t.Cleanup(func() {
		g.Close()
		srv.Close()
	})
	return srv, connected
}

// dial opens a WebSocket connection to srv and returns it with its
// connection id.
func dial(t testing.TB, ctx context.Context, srv *httptest.Server, connected chan string) (*websocket.Conn, string) {
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	select {
	case id := <-connected:
		return c, id
	case <-ctx.Done():
		t.Fatal("no $connect")
		return nil, ""
	}
}

// TestEmulator runs both kinds of Client against the local emulator's
// management API: sends arrive, Info describes, Close closes, and the
// emulator's errors are parsed into the same typed errors.
func TestEmulator(t *testing.T) {
	testCredentials(t)
	for _, kind := range clientKinds {
		t.Run(kind, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv, connected := emulator(t, nil)
			s := newClient(t, kind, srv.URL+"/local", &sender.Options{MaxAttempts: 2, BackoffBase: time.Millisecond})
			ws, id := dial(t, ctx, srv, connected)

			if err := s.Send(ctx, id, []byte("hello")); err != nil {
				t.Fatal(err)
			}
			if _, got, err := ws.Read(ctx); err != nil || string(got) != "hello" {
				t.Fatalf("client read %q, %v", got, err)
			}
			info, err := s.Info(ctx, id)
			if err != nil || info.SourceIP != "127.0.0.1" || time.Since(info.ConnectedAt) > time.Minute {
				t.Errorf("Info = %+v, %v", info, err)
			}

			err = s.Send(ctx, "R1kmxc2VNjMCFIA=", []byte("x"))
			var se *sender.Error
			var api smithy.APIError
			if !errors.Is(err, sender.ErrGone) || !errors.As(err, &se) || se.StatusCode != 410 ||
				!errors.As(err, &api) || api.ErrorCode() != "GoneException" {
				t.Errorf("Send to an unknown id = %v, want ErrGone from a 410 GoneException", err)
			}
			if _, err := s.Info(ctx, "nope"); !errors.Is(err, sender.ErrGone) {
				t.Errorf("Info of an unknown id = %v, want ErrGone", err)
			}
			bad := newClient(t, kind, srv.URL+"/otherstage", nil)
			if err := bad.Send(ctx, id, []byte("x")); !errors.Is(err, sender.ErrForbidden) {
				t.Errorf("Send through the wrong stage = %v, want ErrForbidden", err)
			}

			if err := s.Close(ctx, id); err != nil {
				t.Fatal(err)
			}
			if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
				t.Errorf("after Close the client read %v, want close 1000", err)
			}
			if err := s.Send(ctx, id, []byte("x")); !errors.Is(err, sender.ErrGone) {
				t.Errorf("Send after Close = %v, want ErrGone", err)
			}
		})
	}
}

// statusCounter counts the management API's answers by status.
type statusCounter struct {
	next http.Handler
	mu   sync.Mutex
	n    map[int]int
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) { w.status = s; w.ResponseWriter.WriteHeader(s) }

func (c *statusCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.URL.Path, "@connections") {
		c.next.ServeHTTP(w, r)
		return
	}
	sw := &statusWriter{w, 200}
	c.next.ServeHTTP(sw, r)
	c.mu.Lock()
	c.n[sw.status]++
	c.mu.Unlock()
}

// TestBroadcastWithFaults broadcasts through the default (direct) client to
// 200 real WebSocket connections on the local emulator while it fails 20 %
// of management API calls with 429 or 500: every connection receives the
// message exactly once, and the Result accounts for every id.
func TestBroadcastWithFaults(t *testing.T) {
	const n = 200
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	connected := make(chan string, n)
	fn := func(ctx context.Context, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		if ev.RequestContext.RouteKey == "$connect" {
			connected <- ev.RequestContext.ConnectionID
		}
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	}
	g := local.New(fn, &local.Options{FaultRate: 0.2, Logger: slog.New(slog.DiscardHandler)})
	counter := &statusCounter{next: g, n: map[int]int{}}
	srv := httptest.NewServer(counter)
	t.Cleanup(func() {
		g.Close()
		srv.Close()
	})

	clients := map[string]*websocket.Conn{}
	for range n {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		clients[<-connected] = c
	}
	ids := func(yield func(string, error) bool) {
		for id := range clients {
			if !yield(id, nil) {
				return
			}
		}
	}
	// Twelve attempts: an id fails all of them with probability 0.2^12, so
	// 200 ids all get through but for one run in 1,200,000.
	s := sender.NewForEndpoint(srv.URL+"/local", &sender.Options{MaxAttempts: 12, BackoffBase: time.Millisecond, BackoffMax: 10 * time.Millisecond})
	res, err := s.Broadcast(ctx, ids, []byte("to everyone"), nil)
	if err != nil || res.Sent != n || res.Gone+res.Failed+res.NotAttempted != 0 {
		t.Fatalf("Broadcast = %+v, %v; want %d sent", res, err, n)
	}
	counter.mu.Lock()
	ok, faults := counter.n[200], counter.n[429]+counter.n[500]
	t.Logf("management API answers by status: %v", counter.n)
	counter.mu.Unlock()
	if ok != n || faults < n/10 || len(counter.n) != 3 {
		t.Errorf("management API answered %v: want %d × 200 and about %d faults (429, 500)", counter.n, n, n/4)
	}

	// Exactly once: each client reads the message, then a marker sent after
	// the broadcast, and nothing in between. The markers go concurrently
	// and unpaced: one after the other, or at the pacer's minimum rate (the
	// faults' 429s bring it there), they would take seconds.
	unpaced := sender.NewForEndpoint(srv.URL+"/local", &sender.Options{MaxAttempts: 12, BackoffBase: time.Millisecond, BackoffMax: 10 * time.Millisecond, DisablePacing: true})
	var wg sync.WaitGroup
	for id, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := unpaced.Send(ctx, id, []byte("marker")); err != nil {
				t.Error(err)
				return
			}
			for _, want := range []string{"to everyone", "marker"} {
				if _, got, err := c.Read(ctx); err != nil || string(got) != want {
					t.Errorf("connection %s read %q, %v; want %q", id, got, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}
