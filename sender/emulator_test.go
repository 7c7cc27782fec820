package sender_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
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
