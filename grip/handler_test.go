package grip_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lambdaws/lambdaws/grip"
	"github.com/lambdaws/lambdaws/sender"
	"github.com/lambdaws/lambdaws/ws"
)

// fakeProxy records publishes, as Pushpin's /publish/ endpoint would.
type fakeProxy struct {
	mu    sync.Mutex
	auth  []string
	items []map[string]any
	srv   *httptest.Server
}

func newFakeProxy(t testing.TB) *fakeProxy {
	p := &fakeProxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/publish/" || r.Method != http.MethodPost {
			http.Error(w, "Not Found", 404)
			return
		}
		var body struct{ Items []map[string]any }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, "Invalid format", 400)
			return
		}
		p.mu.Lock()
		p.auth = append(p.auth, r.Header.Get("Authorization"))
		p.items = append(p.items, body.Items...)
		p.mu.Unlock()
		io.WriteString(w, "Published\n")
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *fakeProxy) published() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, it := range p.items {
		b, _ := json.Marshal(it)
		out = append(out, string(b))
	}
	return out
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newHandler serves r with a fake proxy behind its Publisher.
func newHandler(t testing.TB, r *ws.Router, opts *grip.Options) (*grip.Handler, *fakeProxy) {
	t.Helper()
	fp := newFakeProxy(t)
	if r.Logger == nil {
		r.Logger = quiet()
	}
	var o grip.Options
	if opts != nil {
		o = *opts
	}
	if o.Publisher == nil {
		pub, err := grip.NewPublisher(fp.srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		o.Publisher = pub
	}
	o.Logger = quiet()
	h, err := grip.New(r, &o)
	if err != nil {
		t.Fatal(err)
	}
	return h, fp
}

// post sends events for connection cid and decodes the answer.
func post(t *testing.T, h http.Handler, cid, path string, hdr map[string]string, evs ...grip.Event) (*http.Response, []grip.Event) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "http://backend"+path, strings.NewReader(string(grip.EncodeEvents(evs...))))
	req.Header.Set("Content-Type", grip.ContentType)
	if cid != "" {
		req.Header.Set("Connection-Id", cid)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	if resp.StatusCode != 200 {
		return resp, nil
	}
	if ct := resp.Header.Get("Content-Type"); ct != grip.ContentType {
		t.Fatalf("Content-Type %q, want exactly %q", ct, grip.ContentType)
	}
	got, err := grip.DecodeEvents(rec.Body.Bytes())
	if err != nil {
		t.Fatalf("response body %q: %v", rec.Body.Bytes(), err)
	}
	return resp, got
}

func text(s string) grip.Event { return grip.Event{Type: grip.Text, Content: []byte(s)} }

func eventStrings(evs []grip.Event) []string {
	var out []string
	for _, e := range evs {
		if len(e.Content) == 0 {
			out = append(out, e.Type)
		} else {
			out = append(out, e.Type+" "+string(e.Content))
		}
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestOpen(t *testing.T) {
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error {
		switch req.Query("token") {
		case "":
			return ws.Reject(http.StatusUnauthorized, "missing token")
		case "boom":
			return errors.New("internal detail")
		}
		if req.Header("X-Client") != "go" {
			return ws.Reject(http.StatusBadRequest, "header not seen")
		}
		req.SelectSubprotocol("chat.v1")
		return ws.Reply(ctx, "welcome")
	})
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return nil })
	h, _ := newHandler(t, r, &grip.Options{KeepAlive: 30 * time.Second})

	resp, evs := post(t, h, "c1", "/ws?token=ok", map[string]string{"X-Client": "go", "Sec-WebSocket-Protocol": "x, chat.v1"}, grip.Event{Type: grip.Open})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	want := []string{
		"OPEN",
		`TEXT c:{"name":"user","type":"set-meta","value":"c1"}`,
		`TEXT c:{"channel":"conn-c1","type":"subscribe"}`,
		"TEXT m:welcome",
	}
	if got := eventStrings(evs); !equalStrings(got, want) {
		t.Errorf("events %q\nwant %q", got, want)
	}
	for k, v := range map[string]string{"Sec-WebSocket-Extensions": "grip", "Sec-WebSocket-Protocol": "chat.v1", "Keep-Alive-Interval": "30"} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}

	resp, _ = post(t, h, "c2", "/ws", nil, grip.Event{Type: grip.Open})
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 401 || !strings.Contains(string(body), "missing token") {
		t.Errorf("rejected: %d %q, want 401 missing token", resp.StatusCode, body)
	}
	resp, _ = post(t, h, "c3", "/ws?token=boom", map[string]string{"X-Client": "go"}, grip.Event{Type: grip.Open})
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 500 || strings.Contains(string(body), "internal detail") {
		t.Errorf("failing $connect: %d %q, want 500 without the error text", resp.StatusCode, body)
	}
}

// TestRepeatedNames: a repeated query parameter or header gives its last
// value in the event's single-value maps, as API Gateway (and package local)
// do, and all values in the multi-value maps.
func TestRepeatedNames(t *testing.T) {
	var got []string
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error {
		e := req.Event
		got = []string{req.Query("token"), req.Header("X-Dup"), e.QueryStringParameters["token"], e.Headers["X-Dup"],
			strings.Join(e.MultiValueQueryStringParameters["token"], ","), strings.Join(e.MultiValueHeaders["X-Dup"], ",")}
		return nil
	})
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return nil })
	h, _ := newHandler(t, r, nil)
	req := httptest.NewRequest(http.MethodPost, "http://backend/ws?token=a&token=b", strings.NewReader(string(grip.EncodeEvents(grip.Event{Type: grip.Open}))))
	req.Header.Set("Content-Type", grip.ContentType)
	req.Header.Set("Connection-Id", "c1")
	req.Header.Add("X-Dup", "first")
	req.Header.Add("X-Dup", "last")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	if want := []string{"b", "last", "b", "last", "a,b", "first,last"}; !equalStrings(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestSourceIP: the client's address is the X-Forwarded-For entry the
// trusted proxy appended (the last, or TrustedHops from the end), never one
// the client wrote; the TCP peer without X-Forwarded-For. The Lambda entry
// points do not count API Gateway, which appends its own peer, as a hop.
func TestSourceIP(t *testing.T) {
	var got string
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error {
		info, err := ws.Info(ctx, req.ConnectionID)
		if err != nil || info.SourceIP != req.SourceIP() {
			return errors.New("Info disagrees with SourceIP")
		}
		got = req.SourceIP()
		return nil
	})
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return nil })
	one, _ := newHandler(t, r, nil)
	two, _ := newHandler(t, r, &grip.Options{TrustedHops: 2})
	for _, tc := range []struct {
		name   string
		h      *grip.Handler
		xff    []string
		remote string
		want   string
	}{
		{"no header: the peer", one, nil, "192.0.2.9:4321", "192.0.2.9"},
		{"the proxy's entry", one, []string{"203.0.113.7"}, "192.0.2.9:4321", "203.0.113.7"},
		{"client's entries ignored", one, []string{"6.6.6.6, 7.7.7.7, 203.0.113.7"}, "192.0.2.9:4321", "203.0.113.7"},
		{"repeated header lines", one, []string{"6.6.6.6", "203.0.113.7"}, "192.0.2.9:4321", "203.0.113.7"},
		{"two hops", two, []string{"6.6.6.6, 203.0.113.7, 198.51.100.1"}, "192.0.2.9:4321", "203.0.113.7"},
		{"two hops, one entry", two, []string{"203.0.113.7"}, "192.0.2.9:4321", "203.0.113.7"},
		{"IPv6", one, []string{"6.6.6.6, 2001:db8::1"}, "192.0.2.9:4321", "2001:db8::1"},
		{"not an address: the peer", one, []string{"<script>"}, "192.0.2.9:4321", "192.0.2.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got = ""
			req := httptest.NewRequest(http.MethodPost, "http://backend/", strings.NewReader(string(grip.EncodeEvents(grip.Event{Type: grip.Open}))))
			req.Header.Set("Content-Type", grip.ContentType)
			req.Header.Set("Connection-Id", "c1")
			req.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			rec := httptest.NewRecorder()
			tc.h.ServeHTTP(rec, req)
			if rec.Code != 200 || got != tc.want {
				t.Errorf("status %d, SourceIP %q, want %q", rec.Code, got, tc.want)
			}
		})
	}

	open := base64.StdEncoding.EncodeToString(grip.EncodeEvents(grip.Event{Type: grip.Open}))
	for _, tc := range []struct{ name, xff, want string }{
		{"API Gateway's entry dropped", "6.6.6.6, 203.0.113.7, 198.51.100.1", "203.0.113.7"},
		{"no entry but API Gateway's", "198.51.100.1", "198.51.100.1"},
		{"no header", "", "198.51.100.1"},
	} {
		t.Run("Lambda "+tc.name, func(t *testing.T) {
			got = ""
			hdr := map[string]string{"content-type": grip.ContentType, "connection-id": "L1"}
			if tc.xff != "" {
				hdr["X-Forwarded-For"] = tc.xff
			}
			e := events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/", Headers: hdr, Body: open, IsBase64Encoded: true}
			e.RequestContext.Identity.SourceIP = "198.51.100.1"
			if resp, err := one.Lambda(context.Background(), e); err != nil || resp.StatusCode != 200 || got != tc.want {
				t.Errorf("v1: status %d %v, SourceIP %q, want %q", resp.StatusCode, err, got, tc.want)
			}
			got = ""
			v2 := events.APIGatewayV2HTTPRequest{RawPath: "/", Headers: hdr, Body: open, IsBase64Encoded: true}
			v2.RequestContext.HTTP.Method, v2.RequestContext.HTTP.SourceIP = "POST", "198.51.100.1"
			if resp, err := one.LambdaV2(context.Background(), v2); err != nil || resp.StatusCode != 200 || got != tc.want {
				t.Errorf("v2: status %d %v, SourceIP %q, want %q", resp.StatusCode, err, got, tc.want)
			}
		})
	}
}

// TestAfterTheResponse: what a handler's goroutine sends to the connection
// after the response was written cannot ride in it: a message or a close is
// published to the connection's own channel (Broadcast counts it as sent
// only then), and what only a response can carry (Join, Leave, SetMeta)
// fails. After a refused OPEN the connection is gone.
func TestAfterTheResponse(t *testing.T) {
	type late struct {
		ctx context.Context
		id  string
	}
	started := make(chan late, 1)
	var ch ws.Channels
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error {
		started <- late{context.WithoutCancel(ctx), req.ConnectionID}
		if req.Query("refuse") != "" {
			return ws.Reject(http.StatusForbidden, "no")
		}
		return nil
	})
	r.OnMessage(func(ctx context.Context, req *ws.Request) error {
		started <- late{context.WithoutCancel(ctx), req.ConnectionID}
		return nil
	})
	h, fp := newHandler(t, r, nil)
	ch = h.Channels()

	_, evs := post(t, h, "c1", "/", nil, text("hi"))
	if len(evs) != 0 {
		t.Fatalf("answered %q", eventStrings(evs))
	}
	l := <-started
	if err := ws.Reply(l.ctx, "late"); err != nil {
		t.Errorf("late Reply: %v", err)
	}
	res, err := ws.Broadcast(l.ctx, func(yield func(string, error) bool) { yield(l.id, nil) }, "all", nil)
	if err != nil || res.Sent != 1 {
		t.Errorf("late Broadcast: %+v %v, want 1 sent", res, err)
	}
	if err := ws.Close(l.ctx, l.id); err != nil {
		t.Errorf("late Close: %v", err)
	}
	want := []string{
		`{"channel":"conn-c1","formats":{"ws-message":{"content":"late"}}}`,
		`{"channel":"conn-c1","formats":{"ws-message":{"content":"all"}}}`,
		`{"channel":"conn-c1","formats":{"ws-message":{"action":"close","code":1000}}}`,
	}
	if got := fp.published(); !equalStrings(got, want) {
		t.Errorf("published\n%q\nwant\n%q", got, want)
	}
	for name, err := range map[string]error{
		"Join":    ch.Join(l.ctx, l.id, "room"),
		"Leave":   ch.Leave(l.ctx, l.id, "room"),
		"SetMeta": grip.SetMeta(l.ctx, "k", "v"),
	} {
		if !errors.Is(err, grip.ErrUnsupported) {
			t.Errorf("late %s: %v, want ErrUnsupported", name, err)
		}
	}

	if resp, _ := post(t, h, "c2", "/?refuse=1", nil, grip.Event{Type: grip.Open}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("refused OPEN: status %d", resp.StatusCode)
	}
	l = <-started
	if err := ws.Reply(l.ctx, "to nobody"); !errors.Is(err, sender.ErrGone) {
		t.Errorf("Reply after a refused OPEN: %v, want ErrGone", err)
	}
	if got := fp.published(); len(got) != len(want) {
		t.Errorf("published %q, want only the 3 above", got)
	}
}

// TestBroadcastAccounting: Broadcast's Result follows sender.Result's
// contract: a bounded sample of failures with exact counts, the ids read but
// not published after ctx ended as NotAttempted, and an early stop when
// there is no Publisher.
func TestBroadcastAccounting(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	pub, err := grip.NewPublisher(down.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	r := ws.NewRouter()
	h, _ := newHandler(t, r, &grip.Options{Publisher: pub})
	ctx := ws.ContextWithSender(context.Background(), h.Sender())
	read := 0
	ids := func(n int) func(func(string, error) bool) {
		read = 0
		return func(yield func(string, error) bool) {
			for i := range n {
				read++
				if !yield("c"+itoa(int64(i)), nil) {
					return
				}
			}
		}
	}
	res, err := ws.Broadcast(ctx, ids(250), "x", nil)
	if err != nil || res.Failed != 250 || len(res.Failures) != 10 || res.Sent != 0 {
		t.Errorf("proxy down: %d failed, %d failures kept, %d sent, %v; want 250, 10, 0, nil", res.Failed, len(res.Failures), res.Sent, err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	res, err = ws.Broadcast(cctx, ids(250), "x", nil)
	if !errors.Is(err, context.Canceled) || res.NotAttempted != read || res.Failed+res.Sent != 0 {
		t.Errorf("ended context: %+v %v after reading %d ids", res, err, read)
	}

	none, err := grip.New(ws.NewRouter(), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err = ws.Broadcast(ws.ContextWithSender(context.Background(), none.Sender()), ids(250), "x", nil)
	if !errors.Is(err, grip.ErrNoPublisher) || res.Failed != 100 || read != 100 {
		t.Errorf("no publisher: %+v %v after reading %d ids; want a stop after the first batch of 100", res, err, read)
	}
}

// FuzzSourceIP: whatever X-Forwarded-For holds, SourceIP is an IP address:
// the last entry when it is one, else the peer's.
func FuzzSourceIP(f *testing.F) {
	for _, s := range []string{"", "203.0.113.7", "6.6.6.6, 203.0.113.7", " , ,", "<script>", "2001:db8::1", "[::1]:80", "1.2.3.4:5, x"} {
		f.Add(s)
	}
	var got string
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error { got = req.SourceIP(); return nil })
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return nil })
	h, _ := newHandler(f, r, nil)
	open := string(grip.EncodeEvents(grip.Event{Type: grip.Open}))
	f.Fuzz(func(t *testing.T, xff string) {
		got = ""
		req := httptest.NewRequest(http.MethodPost, "http://backend/", strings.NewReader(open))
		req.Header.Set("Content-Type", grip.ContentType)
		req.Header.Set("Connection-Id", "c1")
		req.Header.Set("X-Forwarded-For", xff)
		req.RemoteAddr = "192.0.2.9:4321"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("status %d", rec.Code)
		}
		if _, err := netip.ParseAddr(got); err != nil {
			t.Fatalf("X-Forwarded-For %q: SourceIP %q is not an address", xff, got)
		}
		entries := strings.Split(xff, ",")
		last := strings.TrimSpace(entries[len(entries)-1])
		if a, err := netip.ParseAddr(last); err == nil && got != a.String() {
			t.Fatalf("X-Forwarded-For %q: SourceIP %q, want the last entry", xff, got)
		}
	})
}

func TestMessages(t *testing.T) {
	var disconnects []string
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error { return nil })
	r.OnRoute("echo", func(ctx context.Context, req *ws.Request) error { return ws.Reply(ctx, req.Body) })
	r.OnRoute("respond", func(ctx context.Context, req *ws.Request) error { return req.Respond("two-way") })
	r.OnRoute("bye", func(ctx context.Context, req *ws.Request) error {
		if err := ws.Close(ctx, req.ConnectionID); err != nil {
			return err
		}
		if err := ws.Reply(ctx, "too late"); err == nil {
			return errors.New("Reply after Close succeeded")
		}
		return nil
	})
	r.OnMessage(func(ctx context.Context, req *ws.Request) error {
		return ws.Reply(ctx, map[string]any{"len": len(req.Body), "bin": req.Event.IsBase64Encoded})
	})
	r.OnDisconnect(func(ctx context.Context, req *ws.Request) error {
		code, reason := req.DisconnectStatus()
		disconnects = append(disconnects, req.ConnectionID+" "+string(rune('0'+code/1000))+" "+reason)
		return nil
	})
	h, _ := newHandler(t, r, nil)

	for _, tc := range []struct {
		name string
		in   []grip.Event
		want []string
	}{
		{"route by action", []grip.Event{text(`{"action":"echo","x":"€"}`)}, []string{`TEXT m:{"action":"echo","x":"€"}`}},
		{"two-way response", []grip.Event{text(`{"action":"respond"}`)}, []string{"TEXT m:two-way"}},
		{"default route", []grip.Event{text("hello")}, []string{`TEXT m:{"bin":false,"len":5}`}},
		{"binary", []grip.Event{{Type: grip.Binary, Content: []byte{0, '\r', '\n', 0xff}}}, []string{`TEXT m:{"bin":true,"len":4}`}},
		{"ping", []grip.Event{{Type: grip.Ping, Content: []byte("p")}}, []string{"PONG p"}},
		{"pong ignored", []grip.Event{{Type: grip.Pong}}, nil},
		{"keep-alive", nil, nil},
		{"batch in order", []grip.Event{text("a"), {Type: grip.Ping}, text(`{"action":"echo"}`)},
			[]string{`TEXT m:{"bin":false,"len":1}`, "PONG", `TEXT m:{"action":"echo"}`}},
		{"server close", []grip.Event{text(`{"action":"bye"}`), text("ignored? no: still served")},
			[]string{"CLOSE \x03\xe8", `TEXT m:{"bin":false,"len":24}`}[:1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, evs := post(t, h, "c1", "/", nil, tc.in...)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if resp.Header.Get("Sec-WebSocket-Extensions") != "" {
				t.Error("grip extension outside the OPEN response")
			}
			if got := eventStrings(evs); !equalStrings(got, tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}

	_, evs := post(t, h, "c4", "/", nil, grip.CloseEvent(4000, "client done"), text("after close"))
	if got := eventStrings(evs); !equalStrings(got, []string{"CLOSE \x0f\xa0"}) {
		t.Errorf("close answered %q, want CLOSE 4000", got)
	}
	post(t, h, "c5", "/", nil, grip.Event{Type: grip.Disconnect})
	if want := []string{"c4 4 client done", "c5 1 "}; !equalStrings(disconnects, want) {
		t.Errorf("$disconnect saw %q, want %q", disconnects, want)
	}
}

func TestBadRequests(t *testing.T) {
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error { return nil })
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return nil })
	h, _ := newHandler(t, r, nil)
	if resp, _ := post(t, h, "", "/", nil, grip.Event{Type: grip.Open}); resp.StatusCode != 400 {
		t.Errorf("no Connection-Id: %d", resp.StatusCode)
	}
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("TEXT 9\r\nhi\r\n"))
	req.Header.Set("Content-Type", grip.ContentType)
	req.Header.Set("Connection-Id", "c")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "truncated") {
		t.Errorf("malformed body: %d %q", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != 400 {
		t.Errorf("plain GET without Options.HTTP: %d", rec.Code)
	}
	h2, _ := newHandler(t, r, &grip.Options{HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page") })})
	rec = httptest.NewRecorder()
	h2.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != 200 || rec.Body.String() != "page" {
		t.Errorf("plain GET with Options.HTTP: %d %q", rec.Code, rec.Body)
	}
}

// TestBodyLimit: a body of 4 MiB is served; one byte more is refused with
// 413 before any handler runs, never cut (a cut on an event boundary parses,
// and the DISCONNECT after it would be lost).
func TestBodyLimit(t *testing.T) {
	var messages, disconnects int
	r := ws.NewRouter()
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { messages++; return nil })
	r.OnDisconnect(func(ctx context.Context, req *ws.Request) error { disconnects++; return nil })
	h, _ := newHandler(t, r, nil)
	const limit = 4 << 20
	// "TEXT <6 hex digits>\r\n" + content + "\r\n" is exactly 4 MiB.
	full := grip.EncodeEvents(grip.Event{Type: grip.Text, Content: []byte(strings.Repeat("x", limit-15))})
	if len(full) != limit {
		t.Fatalf("test body is %d bytes, want %d", len(full), limit)
	}
	serve := func(body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", grip.ContentType)
		req.Header.Set("Connection-Id", "c")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := serve(full); rec.Code != 200 || messages != 1 {
		t.Errorf("body of exactly 4 MiB: status %d, %d messages; want 200 and 1", rec.Code, messages)
	}
	messages = 0
	over := append(full, grip.EncodeEvents(grip.Event{Type: grip.Disconnect})...)
	if rec := serve(over); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("body over 4 MiB: status %d, want 413", rec.Code)
	}
	if messages != 0 || disconnects != 0 {
		t.Errorf("body over 4 MiB: %d messages and %d disconnects served, want none", messages, disconnects)
	}
}

func TestGripSig(t *testing.T) {
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error { return nil })
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return nil })
	t.Setenv("GRIP_VERIFY_KEY", "changeme")
	t.Setenv("GRIP_VERIFY_ISS", "pushpin")
	t.Setenv("GRIP_URL", "")
	t.Setenv("GRIP_PREFIX", "")
	opts, err := grip.OptionsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	opts.Logger = quiet()
	h, err := grip.New(r, opts)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).Unix()
	good := hs256("changeme", `{"alg":"HS256","typ":"JWT"}`, `{"iss":"pushpin","exp":`+itoa(exp)+`}`)
	for _, tc := range []struct {
		name, sig string
		status    int
	}{
		{"valid", good, 200},
		{"unsigned", "", 401},
		{"expired", hs256("changeme", `{"alg":"HS256"}`, `{"iss":"pushpin","exp":1000}`), 401},
		{"wrong key", hs256("nope", `{"alg":"HS256"}`, `{"iss":"pushpin","exp":`+itoa(exp)+`}`), 401},
		{"wrong issuer", hs256("changeme", `{"alg":"HS256"}`, `{"iss":"x","exp":`+itoa(exp)+`}`), 401},
		{"alg none", b64(`{"alg":"none"}`) + "." + b64(`{"iss":"pushpin","exp":`+itoa(exp)+`}`) + ".", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.sig != "" {
				hdr["Grip-Sig"] = tc.sig
			}
			if resp, _ := post(t, h, "c", "/", hdr, grip.Event{Type: grip.Open}); resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestMeta(t *testing.T) {
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error { return grip.SetMeta(ctx, "User", "alice") })
	r.OnMessage(func(ctx context.Context, req *ws.Request) error {
		if err := grip.SetMeta(ctx, "count", "1"); err != nil {
			return err
		}
		if err := grip.SetMeta(ctx, "gone", ""); err != nil {
			return err
		}
		if grip.SetMeta(ctx, "bad name", "x") == nil || grip.SetMeta(ctx, "x", "a\r\nb") == nil {
			return errors.New("invalid meta accepted")
		}
		m := grip.Meta(ctx)
		return ws.Reply(ctx, []string{m["user"], m["count"], m["gone"], req.AuthorizerContext()["user"].(string)})
	})
	h, _ := newHandler(t, r, nil)
	resp, _ := post(t, h, "c", "/", nil, grip.Event{Type: grip.Open})
	if got := resp.Header.Get("Set-Meta-User"); got != "alice" {
		t.Errorf("Set-Meta-User = %q", got)
	}
	resp, evs := post(t, h, "c", "/", map[string]string{"Meta-User": "alice", "Meta-Gone": "x"}, text("hi"))
	if got := eventStrings(evs); !equalStrings(got, []string{`TEXT m:["alice","1","","alice"]`}) {
		t.Errorf("got %q", got)
	}
	if resp.Header.Get("Set-Meta-Count") != "1" || resp.Header.Values("Set-Meta-Gone") == nil || resp.Header.Get("Set-Meta-Gone") != "" {
		t.Errorf("Set-Meta headers %v", resp.Header)
	}
	if err := grip.SetMeta(context.Background(), "a", "b"); err == nil {
		t.Error("SetMeta outside a request: no error")
	}
	if grip.Meta(context.Background()) != nil {
		t.Error("Meta outside a request: not nil")
	}
}

func TestSendToOthers(t *testing.T) {
	var ch ws.Channels
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error {
		return ch.Join(ctx, req.ConnectionID, "room")
	})
	r.OnMessage(func(ctx context.Context, req *ws.Request) error {
		if err := ws.SendMessage(ctx, "other", "hi other"); err != nil {
			return err
		}
		if err := ch.Publish(ctx, "room", map[string]int{"n": 1}, req.ConnectionID); err != nil {
			return err
		}
		if err := ws.Close(ctx, "other"); err != nil {
			return err
		}
		if err := ch.Join(ctx, "other", "room"); !errors.Is(err, grip.ErrUnsupported) {
			return errors.New("Join of another connection did not fail with ErrUnsupported")
		}
		if _, err := ws.Info(ctx, "other"); !errors.Is(err, grip.ErrUnsupported) {
			return errors.New("Info of another connection did not fail with ErrUnsupported")
		}
		if info, err := ws.Info(ctx, req.ConnectionID); err != nil || info.UserAgent != "ua" {
			return errors.New("Info of the served connection failed")
		}
		res, err := ws.Broadcast(ctx, func(yield func(string, error) bool) {
			for _, id := range []string{"a", req.ConnectionID, "b"} {
				if !yield(id, nil) {
					return
				}
			}
		}, "all", nil)
		if err != nil || res.Sent != 3 {
			return errors.New("broadcast failed")
		}
		return ch.Leave(ctx, req.ConnectionID, "room")
	})
	h, fp := newHandler(t, r, &grip.Options{Prefix: "app-"})
	ch = h.Channels()
	_, evs := post(t, h, "me", "/", nil, grip.Event{Type: grip.Open})
	if got := eventStrings(evs); len(got) != 4 || got[3] != `TEXT c:{"channel":"app-room","filters":["skip-self"],"type":"subscribe"}` || got[2] != `TEXT c:{"channel":"app-conn-me","type":"subscribe"}` {
		t.Errorf("OPEN answered %q", got)
	}
	resp, evs := post(t, h, "me", "/", map[string]string{"User-Agent": "ua"}, text("go"))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := eventStrings(evs); !equalStrings(got, []string{"TEXT m:all", `TEXT c:{"channel":"app-room","type":"unsubscribe"}`}) {
		t.Errorf("answered %q", got)
	}
	want := []string{
		`{"channel":"app-conn-other","formats":{"ws-message":{"content":"hi other"}}}`,
		`{"channel":"app-room","formats":{"ws-message":{"content":"{\"n\":1}"}},"meta":{"sender":"me"}}`,
		`{"channel":"app-conn-other","formats":{"ws-message":{"action":"close","code":1000}}}`,
		`{"channel":"app-conn-a","formats":{"ws-message":{"content":"all"}}}`,
		`{"channel":"app-conn-b","formats":{"ws-message":{"content":"all"}}}`,
	}
	if got := fp.published(); !equalStrings(got, want) {
		t.Errorf("published\n%q\nwant\n%q", got, want)
	}

	// Outside a request: the Handler's Sender publishes.
	ctx := ws.ContextWithSender(context.Background(), h.Sender())
	if err := ws.SendMessage(ctx, "me", []byte("later")); err != nil {
		t.Fatal(err)
	}
	if got := fp.published(); got[len(got)-1] != `{"channel":"app-conn-me","formats":{"ws-message":{"content":"later"}}}` {
		t.Errorf("outside a request published %q", got[len(got)-1])
	}
}

// TestChannelNamespace: a ws.Channels channel is the proxy channel
// Prefix+name, as other GRIP publishers name it, and names in the
// connections' namespace are refused with ErrInvalid: joining or publishing
// to "conn-<victim>" neither subscribes to nor publishes into the victim's
// own channel.
func TestChannelNamespace(t *testing.T) {
	var ch ws.Channels
	var errs []error
	r := ws.NewRouter()
	r.OnMessage(func(ctx context.Context, req *ws.Request) error {
		name := string(req.Body)
		errs = append(errs, ch.Join(ctx, req.ConnectionID, name), ch.Publish(ctx, name, "hi", ""), ch.Leave(ctx, req.ConnectionID, name))
		return nil
	})
	for _, prefix := range []string{"", "app-"} {
		h, fp := newHandler(t, r, &grip.Options{Prefix: prefix})
		ch = h.Channels()
		victim := h.ConnectionChannel("victim")
		errs = nil
		_, evs := post(t, h, "attacker", "/", nil, text(strings.TrimPrefix(victim, prefix)), text(""))
		for i, err := range errs {
			if !errors.Is(err, grip.ErrInvalid) {
				t.Errorf("prefix %q: call %d on a reserved or empty name: %v, want ErrInvalid", prefix, i, err)
			}
		}
		if len(evs) != 0 || len(fp.published()) != 0 {
			t.Errorf("prefix %q: %q answered, %q published; want nothing", prefix, eventStrings(evs), fp.published())
		}

		errs = nil
		_, evs = post(t, h, "member", "/", nil, text("room"), text("conn"), text("chan-x"))
		for _, err := range errs {
			if err != nil {
				t.Errorf("prefix %q: %v", prefix, err)
			}
		}
		var want, wantPub []string
		for _, name := range []string{"room", "conn", "chan-x"} {
			want = append(want,
				`TEXT c:{"channel":"`+prefix+name+`","filters":["skip-self"],"type":"subscribe"}`,
				`TEXT c:{"channel":"`+prefix+name+`","type":"unsubscribe"}`)
			wantPub = append(wantPub, `{"channel":"`+prefix+name+`","formats":{"ws-message":{"content":"hi"}}}`)
		}
		if got := eventStrings(evs); !equalStrings(got, want) {
			t.Errorf("prefix %q: answered\n%q\nwant\n%q", prefix, got, want)
		}
		if got := fp.published(); !equalStrings(got, wantPub) {
			t.Errorf("prefix %q: published\n%q\nwant\n%q", prefix, got, wantPub)
		}
	}
}

// TestEmptyKey: New refuses a verification key with an empty secret (a Key
// zero value, or GRIP_URL's key=base64: as an unset variable gives it)
// instead of verifying Grip-Sig with an empty HMAC secret, which anyone can
// sign.
func TestEmptyKey(t *testing.T) {
	if _, err := grip.New(ws.NewRouter(), &grip.Options{Key: &grip.Key{}}); err == nil {
		t.Error("New with Options.Key = &grip.Key{}: no error")
	}
	t.Setenv("GRIP_URL", "http://127.0.0.1:5561/?iss=realm&key=base64:")
	if _, err := grip.OptionsFromEnv(); err == nil {
		t.Error("OptionsFromEnv with GRIP_URL key=base64:: no error")
	}
}

func TestNoPublisher(t *testing.T) {
	t.Setenv("GRIP_URL", "http://127.0.0.1:5561/") // New does not read it
	h, err := grip.New(ws.NewRouter(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ws.ContextWithSender(context.Background(), h.Sender())
	if err := ws.SendMessage(ctx, "x", "hi"); !errors.Is(err, grip.ErrNoPublisher) {
		t.Errorf("SendMessage without GRIP_URL: %v", err)
	}
	if err := h.Channels().Publish(ctx, "room", "hi", ""); !errors.Is(err, grip.ErrNoPublisher) {
		t.Errorf("Publish without GRIP_URL: %v", err)
	}
}

func TestLambda(t *testing.T) {
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error {
		if req.Query("t") != "1" {
			return ws.Reject(403, "no")
		}
		return nil
	})
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return ws.Reply(ctx, req.Body) })
	h, _ := newHandler(t, r, nil)
	body := grip.EncodeEvents(grip.Event{Type: grip.Open}, text("€ hi"))

	v1, err := h.Lambda(context.Background(), events.APIGatewayProxyRequest{
		HTTPMethod:            "POST",
		Path:                  "/ws",
		Headers:               map[string]string{"content-type": grip.ContentType, "connection-id": "L1"},
		QueryStringParameters: map[string]string{"t": "1"},
		Body:                  base64.StdEncoding.EncodeToString(body),
		IsBase64Encoded:       true,
	})
	if err != nil || v1.StatusCode != 200 || !v1.IsBase64Encoded || v1.Headers["Content-Type"] != grip.ContentType {
		t.Fatalf("v1: %+v %v", v1, err)
	}
	raw, _ := base64.StdEncoding.DecodeString(v1.Body)
	evs, _ := grip.DecodeEvents(raw)
	if got := eventStrings(evs); len(got) != 4 || got[0] != "OPEN" || got[3] != "TEXT m:€ hi" {
		t.Errorf("v1 events %q", got)
	}

	v2, err := h.LambdaV2(context.Background(), events.APIGatewayV2HTTPRequest{
		RawPath:        "/ws",
		RawQueryString: "t=0",
		Headers:        map[string]string{"content-type": grip.ContentType, "connection-id": "L2"},
		Body:           string(grip.EncodeEvents(grip.Event{Type: grip.Open})),
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}},
	})
	if err != nil || v2.StatusCode != 403 {
		t.Fatalf("v2 reject: %+v %v", v2, err)
	}
	bad, _ := h.Lambda(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "POST", Body: "!!", IsBase64Encoded: true})
	if bad.StatusCode != 400 {
		t.Errorf("bad base64: %d", bad.StatusCode)
	}
}

// TestNewReadsNoEnvironment: New changes nothing of the router and reads no
// variable (a GRIP_VERIFY_KEY it does not use is logged); OptionsFromEnv
// reads all four.
func TestNewReadsNoEnvironment(t *testing.T) {
	t.Setenv("GRIP_URL", "http://127.0.0.1:5561/?iss=realm&key=base64:aGVsbG8=")
	t.Setenv("GRIP_VERIFY_KEY", "changeme")
	t.Setenv("GRIP_VERIFY_ISS", "pushpin")
	t.Setenv("GRIP_PREFIX", "app-")
	r := ws.NewRouter()
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return nil })
	var logged bytes.Buffer
	h, err := grip.New(r, &grip.Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if r.Sender != nil {
		t.Errorf("New set the router's Sender to %v", r.Sender)
	}
	if resp, _ := post(t, h, "c1", "/", nil, grip.Event{Type: grip.Open}); resp.StatusCode != 200 {
		t.Errorf("unsigned request with GRIP_VERIFY_KEY set but no Options.Key: %d, want 200 (New reads no variable)", resp.StatusCode)
	}
	if !strings.Contains(logged.String(), "GRIP_VERIFY_KEY is set but not used") {
		t.Errorf("no warning about the unused GRIP_VERIFY_KEY; logged %q", logged.String())
	}
	if got := h.ConnectionChannel("c1"); got != "conn-c1" {
		t.Errorf("channel %q: New used GRIP_PREFIX", got)
	}

	opts, err := grip.OptionsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if opts.Publisher == nil || opts.Key == nil || opts.Issuer != "pushpin" || opts.Prefix != "app-" {
		t.Errorf("OptionsFromEnv = %+v, want a Publisher, a Key, Issuer pushpin, Prefix app-", opts)
	}
}

func TestServeUntilContextDone(t *testing.T) {
	h, _ := newHandler(t, ws.NewRouter(), &grip.Options{HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "page")
	})})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.Serve(ctx, ln) }()

	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "page" {
		t.Errorf("GET / = %q", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after ctx done = %v, want nil", err)
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Error("the listener is still open after Serve returned")
	}
}
