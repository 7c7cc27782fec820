package ws_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lambdaws/lambdaws/sender"
	"github.com/lambdaws/lambdaws/ws"
)

// fakeSender records what handlers send.
type fakeSender struct {
	mu     sync.Mutex
	sent   []string // "id:data"
	closed []string
}

func (f *fakeSender) Send(_ context.Context, id string, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, id+":"+string(data))
	return nil
}

func (f *fakeSender) Close(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = append(f.closed, id)
	return nil
}

func (f *fakeSender) Info(_ context.Context, id string) (*sender.Info, error) {
	return &sender.Info{SourceIP: "10.0.0.1 for " + id}, nil
}

func (f *fakeSender) Broadcast(ctx context.Context, ids iter.Seq2[string, error], data []byte, opts *sender.BroadcastOptions) (sender.Result, error) {
	var res sender.Result
	for id, err := range ids {
		if err != nil {
			return res, err
		}
		if opts != nil && id == opts.Skip {
			continue
		}
		_ = f.Send(ctx, id, data)
		res.Sent++
	}
	return res, nil
}

func TestSendingThroughRouterSender(t *testing.T) {
	r, _ := newRouter(true)
	f := &fakeSender{}
	r.Sender = f
	var info *sender.Info
	r.OnRoute("sendmessage", func(ctx context.Context, req *ws.Request) error {
		ids := func(yield func(string, error) bool) {
			for _, id := range []string{"a", req.ConnectionID, "b"} {
				if !yield(id, nil) {
					return
				}
			}
		}
		var err error
		info, err = ws.Info(ctx, "peer")
		return errors.Join(err,
			ws.SendMessage(ctx, "peer", []byte{0, 0xff}),
			ws.SendMessage(ctx, "peer", "text"),
			ws.SendMessage(ctx, "peer", json.RawMessage(`{"raw":true}`)),
			ws.SendMessage(ctx, "peer", map[string]int{"n": 1}),
			ws.Reply(ctx, "to me"),
			ws.Close(ctx, "peer"),
			func() error {
				res, err := ws.Broadcast(ctx, ids, "all", &sender.BroadcastOptions{Skip: req.ConnectionID})
				if res.Sent != 2 {
					return errors.New("broadcast count")
				}
				return err
			}(),
		)
	})
	if resp := serve(t, r, event(t, "sendmessage")); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	want := []string{"peer:\x00\xff", "peer:text", `peer:{"raw":true}`, `peer:{"n":1}`, "R1kmxc2VNjMCFIA=:to me", "a:all", "b:all"}
	if strings.Join(f.sent, "|") != strings.Join(want, "|") {
		t.Errorf("sent %q\nwant %q", f.sent, want)
	}
	if len(f.closed) != 1 || f.closed[0] != "peer" || info == nil || info.SourceIP != "10.0.0.1 for peer" {
		t.Errorf("closed %q, info %+v", f.closed, info)
	}
}

func TestSendingOutsideAHandler(t *testing.T) {
	ctx := context.Background()
	t.Setenv("WEBSOCKET_API_GATEWAY_ENDPOINT", "")
	if err := ws.SendMessage(ctx, "x", "hi"); err == nil || !strings.Contains(err.Error(), "ws: no Sender") {
		t.Errorf("SendMessage without endpoint = %v, want ws: no Sender", err)
	}
	if err := ws.Reply(ctx, "hi"); err == nil {
		t.Error("Reply outside a handler succeeded")
	}
	if err := ws.SendMessage(ctx, "x", func() {}); err == nil {
		t.Error("unencodable data accepted")
	}

	// With the environment variable, an SQS or cron Lambda can send.
	mgmt := newManagementAPI(t)
	t.Setenv("WEBSOCKET_API_GATEWAY_ENDPOINT", mgmt.URL+"/prod")
	if err := ws.SendMessage(ctx, "abc=", "from a cron job"); err != nil {
		t.Fatal(err)
	}
	if got := mgmt.posts(); len(got) != 1 || got[0] != "/prod/@connections/abc%3D from a cron job" {
		t.Errorf("posts %q", got)
	}
}

// managementAPI is an httptest server that answers PostToConnection as API
// Gateway does: 200 for known ids, 410
// with X-Amzn-ErrorType and a JSON body for "gone". Being on a loopback
// host, it is treated as the emulator: the sender does not sign requests.
type managementAPI struct {
	*httptest.Server
	mu  sync.Mutex
	got []string // "escaped-path body"
}

func newManagementAPI(t *testing.T) *managementAPI {
	m := &managementAPI{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id, err := url.PathUnescape(r.URL.EscapedPath()[strings.LastIndexByte(r.URL.EscapedPath(), '/')+1:])
		if r.Method != http.MethodPost || err != nil {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		if id == "gone" {
			w.Header().Set("X-Amzn-ErrorType", "GoneException")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusGone)
			_, _ = io.WriteString(w, `{"__type":"GoneException"}`)
			return
		}
		m.mu.Lock()
		m.got = append(m.got, r.URL.EscapedPath()+" "+string(body))
		m.mu.Unlock()
	}))
	t.Cleanup(m.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	return m
}

func (m *managementAPI) posts() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.got...)
}

// TestSendMessageRealSDK drives a handler through Router.Handler with a real
// event whose domainName is a local management API, so the endpoint is
// discovered from the event and the real SDK client does the sending.
func TestSendMessageRealSDK(t *testing.T) {
	mgmt := newManagementAPI(t)
	t.Setenv("WEBSOCKET_API_GATEWAY_ENDPOINT", "")
	r, _ := newRouter(true)
	var goneErr error
	r.OnRoute("sendmessage", func(ctx context.Context, req *ws.Request) error {
		goneErr = ws.SendMessage(ctx, "gone", "x")
		return ws.Reply(ctx, append([]byte("bytes \x00\xff "), req.Body...))
	})
	e := event(t, "sendmessage")
	e.RequestContext.DomainName = strings.TrimPrefix(mgmt.URL, "http://") // 127.0.0.1:port
	if resp := serve(t, r, e); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	want := "/prod/@connections/R1kmxc2VNjMCFIA%3D bytes \x00\xff " + e.Body
	if got := mgmt.posts(); len(got) != 1 || got[0] != want {
		t.Errorf("management API got %q\nwant %q", got, want)
	}
	if !errors.Is(goneErr, sender.ErrGone) {
		t.Errorf("send to a gone connection = %v, want sender.ErrGone", goneErr)
	}
}

// TestSenderChoice checks the rule documented on ws.Sender: the context's
// Sender, else the serving router's, else the endpoint of the event or, outside
// a handler, WEBSOCKET_API_GATEWAY_ENDPOINT. DefaultRouter's Sender is only
// its own handlers' business: neither an explicit router's handlers nor code
// outside a handler use it.
func TestSenderChoice(t *testing.T) {
	defaultSender := &fakeSender{}
	ws.DefaultRouter.Sender = defaultSender
	t.Cleanup(func() { ws.DefaultRouter.Sender = nil })
	mgmt := newManagementAPI(t)
	t.Setenv("WEBSOCKET_API_GATEWAY_ENDPOINT", mgmt.URL+"/prod")

	if err := ws.SendMessage(context.Background(), "worker", "outside"); err != nil {
		t.Fatal(err)
	}
	r, _ := newRouter(true)
	r.OnRoute("sendmessage", func(ctx context.Context, req *ws.Request) error {
		return ws.SendMessage(ctx, "peer", "inside")
	})
	if resp := serve(t, r, event(t, "sendmessage")); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	want := []string{"/prod/@connections/worker outside", "/prod/@connections/peer inside"}
	if got := mgmt.posts(); !slices.Equal(got, want) {
		t.Errorf("management API got %q, want %q", got, want)
	}
	if len(defaultSender.sent) != 0 {
		t.Errorf("DefaultRouter's Sender got %q", defaultSender.sent)
	}

	ctxSender := &fakeSender{}
	if err := ws.SendMessage(ws.ContextWithSender(context.Background(), ctxSender), "worker", "ctx"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ctxSender.sent, []string{"worker:ctx"}) {
		t.Errorf("ContextWithSender's Sender got %q", ctxSender.sent)
	}
}
