//go:build unix

package integration

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/grip"
	"github.com/lambdaws/lambdaws/internal/testenv"
	"github.com/lambdaws/lambdaws/ws"
)

// The tests in this file run Debian's pushpin (testenv.Pushpin) in front of
// grip.Handler: real WebSocket clients → Pushpin → WebSocket-over-HTTP →
// the handlers. Pushpin signs every request with its default key
// "changeme", which the back ends verify.

// gripEnv is a back end behind a Pushpin of its own.
type gripEnv struct {
	wsURL      string // ws://pushpin/
	httpURL    string // http://pushpin
	publishURL string // GRIP_URL
	handler    *grip.Handler
}

// startGrip serves r with grip.Handler (opts may be nil) behind a fresh
// Pushpin.
func startGrip(t testing.TB, r *ws.Router, opts *grip.Options) *gripEnv {
	t.Helper()
	var h atomic.Pointer[grip.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if hh := h.Load(); hh != nil {
			hh.ServeHTTP(w, req)
			return
		}
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	clientURL, publishURL := testenv.Pushpin(t, "* "+strings.TrimPrefix(srv.URL, "http://")+",over_http")
	var o grip.Options
	if opts != nil {
		o = *opts
	}
	if o.Publisher == nil {
		p, err := grip.NewPublisher(publishURL)
		if err != nil {
			t.Fatal(err)
		}
		o.Publisher = p
	}
	if o.Key == nil {
		k, err := grip.ParseKey("changeme")
		if err != nil {
			t.Fatal(err)
		}
		o.Key, o.Issuer = k, "pushpin"
	}
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	gh, err := grip.New(r, &o)
	if err != nil {
		t.Fatal(err)
	}
	h.Store(gh)
	return &gripEnv{wsURL: "ws" + strings.TrimPrefix(clientURL, "http") + "/", httpURL: clientURL, publishURL: publishURL, handler: gh}
}

var gripLine = regexp.MustCompile(`GRIP back end on http://(\S+)/`)

// startGripExample runs the named example with -grip behind a fresh Pushpin,
// verifying Grip-Sig, and returns the ws:// URL clients use and the
// publish URL (GRIP_URL).
func startGripExample(t *testing.T, name string) (wsURL, publishURL string) {
	t.Helper()
	port := testenv.FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	clientURL, publishURL := testenv.Pushpin(t, "* "+addr+",over_http")
	p := runExample(t, name, []string{"GRIP_URL=" + publishURL, "GRIP_VERIFY_KEY=changeme", "GRIP_VERIFY_ISS=pushpin"},
		"-grip", "-addr", addr)
	if _, err := p.waitLog(gripLine, 1, 60*time.Second); err != nil {
		t.Fatalf("%s -grip did not start: %v\n%s", name, err, p.out.String())
	}
	// Unsigned requests straight to the back end are refused.
	resp, err := http.Post("http://"+addr+"/", "application/websocket-events", strings.NewReader("OPEN\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned request to %s -grip: status %d, want 401", name, resp.StatusCode)
	}
	return "ws" + strings.TrimPrefix(clientURL, "http") + "/", publishURL
}

// TestGripEcho runs echo's cases against the echo example behind Pushpin.
func TestGripEcho(t *testing.T) {
	testenv.Integration(t, "Pushpin")
	url, _ := startGripExample(t, "echo")
	ctx := testContext(t, time.Minute)
	c := dial(t, ctx, "c", url, nil)
	for _, tc := range []struct{ name, send, want string }{
		{"echo object", `{"action":"echo","data":{"a":[1,2,"x"]}}`, `{"type":"echo","data":{"a":[1,2,"x"]}}`},
		{"echo string", `{"action":"echo","data":"hello"}`, `{"type":"echo","data":"hello"}`},
		{"ping", `{"action":"ping"}`, `{"type":"pong"}`},
		{"unknown action", `{"action":"dance"}`, `{"type":"error","message":"Unknown action: dance"}`},
		{"no action", `{"data":1}`, `{"type":"error","message":"Missing action"}`},
		{"not JSON", `hello`, `{"type":"error","message":"Missing action"}`},
		{"multi-byte text", `{"action":"echo","data":"€€€ ✓"}`, `{"type":"echo","data":"€€€ ✓"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			c.send(ctx, tc.send)
			c.expect(tc.want)
		})
	}
}

// TestGripChat runs the chat scenario (three clients, two channels, exact
// transcripts, never one's own lines) against the chat example behind
// Pushpin: channel membership lives in Pushpin, and a line is one publish.
func TestGripChat(t *testing.T) {
	testenv.Integration(t, "Pushpin")
	url, _ := startGripExample(t, "chat")
	chatScenario(t, url, false)
}

// TestGripHandshake: $connect rejects with 401 (the client sees it), accepts
// with a subprotocol, and a message is echoed.
func TestGripHandshake(t *testing.T) {
	testenv.Integration(t, "Pushpin")
	r, _ := recordingRouter()
	env := startGrip(t, r, nil)
	ctx := testContext(t, time.Minute)
	if status, _ := dialStatus(t, ctx, env.wsURL, nil); status != http.StatusUnauthorized {
		t.Errorf("no token: status %d, want 401", status)
	}
	if status, _ := dialStatus(t, ctx, env.wsURL+"?token=wrong", nil); status != http.StatusUnauthorized {
		t.Errorf("wrong token: status %d, want 401", status)
	}
	status, sub := dialStatus(t, ctx, env.wsURL+"?token=secret", &websocket.DialOptions{Subprotocols: []string{"other", "chat.v1"}})
	if status != http.StatusSwitchingProtocols || sub != "chat.v1" {
		t.Errorf("subprotocol: status %d subprotocol %q, want 101 chat.v1", status, sub)
	}
	c := dial(t, ctx, "c", env.wsURL+"?token=secret", nil)
	c.send(ctx, "hello")
	c.expect("hello")
}

// TestGripSourceIP: behind Pushpin configured as docs/grip.md says
// (x_forwarded_for=truncate:0,append), req.SourceIP() is the client's
// address, on $connect and on messages, not one the client wrote into
// X-Forwarded-For.
func TestGripSourceIP(t *testing.T) {
	testenv.Integration(t, "Pushpin")
	ips := make(chan string, 1)
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error {
		ips <- req.SourceIP()
		return nil
	})
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return ws.Reply(ctx, req.SourceIP()) })
	env := startGrip(t, r, nil)
	ctx := testContext(t, time.Minute)
	c := dial(t, ctx, "c", env.wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"X-Forwarded-For": {"6.6.6.6"}}})
	if got := <-ips; got != "127.0.0.1" {
		t.Errorf("$connect: SourceIP %q, want 127.0.0.1", got)
	}
	for range 2 {
		c.send(ctx, "x")
		c.expect("127.0.0.1")
	}
}

// TestGripLateReply: a Reply from a goroutine after the handler's response
// was written reaches the client (published to its own channel).
func TestGripLateReply(t *testing.T) {
	testenv.Integration(t, "Pushpin")
	release := make(chan struct{})
	errs := make(chan error, 1)
	r := ws.NewRouter()
	r.OnMessage(func(ctx context.Context, req *ws.Request) error {
		late := context.WithoutCancel(ctx)
		go func() {
			<-release
			errs <- ws.Reply(late, "later")
		}()
		return ws.Reply(ctx, "now")
	})
	env := startGrip(t, r, nil)
	ctx := testContext(t, time.Minute)
	c := dial(t, ctx, "c", env.wsURL, nil)
	c.send(ctx, "x")
	c.expect("now")
	close(release)
	if err := <-errs; err != nil {
		t.Fatalf("late Reply: %v", err)
	}
	c.expect("later")
}

// TestGripChannelNamespace: the chat's "/join conn-<victim id>" through
// Pushpin is refused with grip.ErrInvalid, as is a post into it: the
// attacker neither reads nor writes the victim's own channel.
func TestGripChannelNamespace(t *testing.T) {
	testenv.Integration(t, "Pushpin")
	ids := make(chan string, 2)
	var ch ws.Channels
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error { ids <- req.ConnectionID; return nil })
	r.OnMessage(func(ctx context.Context, req *ws.Request) error {
		cmd, arg, _ := strings.Cut(string(req.Body), " ")
		var err error
		switch cmd {
		case "/join":
			err = ch.Join(ctx, req.ConnectionID, arg)
		case "/say":
			channel, text, _ := strings.Cut(arg, " ")
			err = ch.Publish(ctx, channel, text, req.ConnectionID)
		default:
			return ws.Reply(ctx, req.Body)
		}
		if errors.Is(err, grip.ErrInvalid) {
			return ws.Reply(ctx, "refused")
		}
		return errors.Join(err, ws.Reply(ctx, "done"))
	})
	env := startGrip(t, r, nil)
	ch = env.handler.Channels()
	ctx := testContext(t, time.Minute)
	out := ws.ContextWithSender(ctx, env.handler.Sender())

	victim := dial(t, ctx, "victim", env.wsURL, nil)
	victimID := <-ids
	attacker := dial(t, ctx, "attacker", env.wsURL, nil)
	<-ids
	target := "conn-" + victimID
	attacker.send(ctx, "/join "+target)
	attacker.expect("refused")
	attacker.send(ctx, "/say "+target+" forged")
	attacker.expect("refused")
	// Messages to the victim's own channel reach the victim, and the
	// attacker saw none of them.
	if err := ws.SendMessage(out, victimID, "secret"); err != nil {
		t.Fatal(err)
	}
	victim.expect("secret")
	attacker.send(ctx, "still here?")
	attacker.expect("still here?")
}

// TestGripJSGripPublisher: docs/grip.md's recipe (the chat behind Pushpin),
// and a message that js-grip (@fanoutio/grip, the reference GRIP publisher,
// from tools/node_modules) publishes to the raw channel name "general"
// reaches the chat's users: a ws.Channels channel is the name every GRIP
// publisher uses.
func TestGripJSGripPublisher(t *testing.T) {
	testenv.Integration(t, "Pushpin")
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Require(t, "node is not on PATH", "install Node.js, then run `npm ci --prefix tools`")
	}
	tools := filepath.Join(testenv.RepoRoot(t), "tools")
	if _, err := os.Stat(filepath.Join(tools, "node_modules", "@fanoutio", "grip", "package.json")); err != nil {
		testenv.Require(t, "@fanoutio/grip is not installed", "run `make test`, or `npm ci --prefix tools`")
	}
	url, publishURL := startGripExample(t, "chat")
	ctx := testContext(t, time.Minute)
	alice := dial(t, ctx, "alice", url, nil)
	bob := dial(t, ctx, "bob", url, nil)

	// Wait until both subscriptions to "general" (made at $connect) are
	// active: publish probes to the raw name until each client has one.
	pub, err := grip.NewPublisher(publishURL)
	if err != nil {
		t.Fatal(err)
	}
	probe := grip.Item{Channel: "general", WSMessage: &grip.WSMessage{Content: []byte("probe")}}
	for _, c := range []*client{alice, bob} {
		for probes := 0; ; probes++ {
			if probes == 100 {
				t.Fatalf("%s never got a probe published to \"general\"", c.name)
			}
			if err := pub.Publish(ctx, probe); err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-c.msgs:
				if m != "probe" {
					t.Fatalf("%s: got %q, want probes", c.name, m)
				}
			case <-time.After(100 * time.Millisecond):
				continue
			}
			break
		}
	}

	const script = `import("@fanoutio/grip").then(async ({Publisher, WebSocketMessageFormat}) => {
  const p = new Publisher({control_uri: process.argv[1]});
  await p.publishFormats(process.argv[2], new WebSocketMessageFormat(process.argv[3]));
}).catch((e) => { console.error(e); process.exit(1); });`
	cmd := exec.CommandContext(ctx, node, "-e", script, publishURL, "general", "from js-grip")
	cmd.Dir = tools // where import() finds node_modules
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("js-grip publish: %v\n%s", err, out)
	}
	for _, c := range []*client{alice, bob} {
		for {
			if m := c.next(); m != "probe" {
				if m != "from js-grip" {
					t.Errorf("%s: got %q, want the message js-grip published", c.name, m)
				}
				break
			}
		}
	}
}

// TestGripMeta: meta set with grip.SetMeta at $connect and on a message is
// sent back by Pushpin on later requests, readable with grip.Meta and
// req.AuthorizerContext().
func TestGripMeta(t *testing.T) {
	testenv.Integration(t, "Pushpin")
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error {
		return grip.SetMeta(ctx, "User", req.Query("user"))
	})
	r.OnMessage(func(ctx context.Context, req *ws.Request) error {
		n, _ := strconv.Atoi(grip.Meta(ctx)["count"])
		if err := grip.SetMeta(ctx, "count", strconv.Itoa(n+1)); err != nil {
			return err
		}
		return ws.Reply(ctx, fmt.Sprintf("%v %d", req.AuthorizerContext()["user"], n))
	})
	env := startGrip(t, r, nil)
	ctx := testContext(t, time.Minute)
	c := dial(t, ctx, "c", env.wsURL+"?user=alice", nil)
	for i := range 3 {
		c.send(ctx, "x")
		c.expect(fmt.Sprintf("alice %d", i))
	}
}

// TestGripClose: a client's close code reaches $disconnect, and ws.Close from
// a handler closes the client.
func TestGripClose(t *testing.T) {
	testenv.Integration(t, "Pushpin")
	r, disconnects := recordingRouter()
	r.OnRoute("bye", func(ctx context.Context, req *ws.Request) error {
		return ws.Close(ctx, req.ConnectionID)
	})
	env := startGrip(t, r, nil)
	ctx := testContext(t, time.Minute)

	c := dial(t, ctx, "c", env.wsURL+"?token=secret", nil)
	c.send(ctx, "hi")
	c.expect("hi")
	if err := c.conn.Close(4000, "client done"); err != nil {
		t.Fatalf("close: %v", err)
	}
	select {
	case d := <-disconnects:
		if d.code != 4000 || d.reason != "client done" {
			t.Errorf("$disconnect saw %d %q, want 4000 \"client done\"", d.code, d.reason)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no $disconnect after the client closed")
	}

	s := dial(t, ctx, "s", env.wsURL+"?token=secret", nil)
	s.send(ctx, `{"action":"bye"}`)
	if code := s.closed(); code != websocket.StatusNormalClosure {
		t.Errorf("server close: client saw %d, want 1000", code)
	}
	select {
	case d := <-disconnects:
		if d.code != 1000 {
			t.Errorf("$disconnect after ws.Close saw %d, want 1000", d.code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no $disconnect after ws.Close")
	}
}

// TestGripPublishOutside: from outside any request, ws.SendMessage with the
// handler's Sender reaches exactly one connection, a channel publish reaches
// its members, and ws.Close closes a connection.
func TestGripPublishOutside(t *testing.T) {
	testenv.Integration(t, "Pushpin")
	ids := make(chan string, 8)
	var ch ws.Channels
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error {
		ids <- req.ConnectionID
		if room := req.Query("room"); room != "" {
			return ch.Join(ctx, req.ConnectionID, room)
		}
		return nil
	})
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return ws.Reply(ctx, req.Body) })
	env := startGrip(t, r, &grip.Options{Prefix: "t-"})
	ch = env.handler.Channels()
	ctx := testContext(t, time.Minute)

	a := dial(t, ctx, "a", env.wsURL+"?room=lobby", nil)
	aID := <-ids
	b := dial(t, ctx, "b", env.wsURL+"?room=lobby", nil)
	<-ids
	c := dial(t, ctx, "c", env.wsURL, nil)
	cID := <-ids
	// A round trip each: the subscriptions made at OPEN are in place.
	for _, cl := range []*client{a, b, c} {
		cl.send(ctx, "sync")
		cl.expect("sync")
	}

	out := ws.ContextWithSender(context.Background(), env.handler.Sender())
	if err := ws.SendMessage(out, cID, map[string]string{"to": "c"}); err != nil {
		t.Fatal(err)
	}
	c.expect(`{"to":"c"}`)
	if err := ch.Publish(out, "lobby", "to lobby", ""); err != nil {
		t.Fatal(err)
	}
	a.expect("to lobby")
	b.expect("to lobby")
	if err := ch.Publish(out, "lobby", "not to a", aID); err != nil {
		t.Fatal(err)
	}
	b.expect("not to a")
	if _, err := ws.Info(out, cID); err == nil {
		t.Error("Info of a connection outside its request: no error")
	}
	if err := ws.Close(out, cID); err != nil {
		t.Fatal(err)
	}
	if code := c.closed(); code != websocket.StatusNormalClosure {
		t.Errorf("closed by publish: client saw %d, want 1000", code)
	}
	// Nothing else arrived: a and c got exactly what was meant for them.
	for _, cl := range []*client{a, b} {
		cl.send(ctx, "end")
		cl.expect("end")
	}
}

// TestGripHTTPStream: a request held as a stream gets the initial body, then
// each http-stream publish.
func TestGripHTTPStream(t *testing.T) {
	testenv.Integration(t, "Pushpin")
	env := startGrip(t, ws.NewRouter(), &grip.Options{HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		grip.Hold(w.Header(), grip.HoldStream, []string{"news"}, nil)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "stream open\n")
	})})
	ctx := testContext(t, time.Minute)
	resp := getHeld(t, ctx, env.httpURL+"/stream")
	defer resp.Body.Close()
	lines := bufio.NewReader(resp.Body)
	readLine := func() string {
		l, err := lines.ReadString('\n')
		if err != nil {
			t.Fatalf("read stream: %v", err)
		}
		return l
	}
	if l := readLine(); l != "stream open\n" {
		t.Fatalf("first line %q", l)
	}
	pub, _ := grip.NewPublisher(env.publishURL)
	for _, msg := range []string{"one\n", "two\n"} {
		// The subscription is made as the response starts; publish until
		// the first message lands.
		if err := pub.Publish(ctx, grip.Item{Channel: "news", HTTPStream: &grip.HTTPStream{Content: []byte(msg)}}); err != nil {
			t.Fatal(err)
		}
		if l := readLine(); l != msg {
			t.Fatalf("got %q, want %q", l, msg)
		}
	}
}

// TestGripLongPoll: a request held as a response is answered by an
// http-response publish.
func TestGripLongPoll(t *testing.T) {
	testenv.Integration(t, "Pushpin")
	env := startGrip(t, ws.NewRouter(), &grip.Options{HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		grip.Hold(w.Header(), grip.HoldResponse, []string{"poll"}, &grip.HoldOptions{Timeout: 20 * time.Second})
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "timeout\n")
	})})
	ctx := testContext(t, time.Minute)
	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp := getHeld(t, ctx, env.httpURL+"/poll")
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- result{resp.StatusCode, string(b), err}
	}()
	pub, _ := grip.NewPublisher(env.publishURL)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		// Publish until the held request (subscribed once Pushpin got the
		// hold instruction) takes it.
		err := pub.Publish(ctx, grip.Item{Channel: "poll", HTTPResponse: &grip.HTTPResponse{
			Code: 202, Headers: map[string]string{"Content-Type": "text/plain"}, Body: []byte("news!\n"),
		}})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-done:
			if r.err != nil || r.status != 202 || r.body != "news!\n" {
				t.Fatalf("long-poll got %d %q %v, want 202 \"news!\\n\"", r.status, r.body, r.err)
			}
			return
		case <-tick.C:
		}
	}
}

// getHeld GETs url through Pushpin, retrying while Pushpin answers that its
// handler's accept service is unavailable: right after startup its internal
// link to the handler may not be connected yet.
func getHeld(t *testing.T, ctx context.Context, url string) *http.Response {
	for attempt := 0; ; attempt++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("GET %s: %v", url, err)
			return &http.Response{Body: io.NopCloser(strings.NewReader(""))}
		}
		if resp.StatusCode < 500 || attempt == 20 {
			return resp
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), "Accept service unavailable") {
			resp.Body = io.NopCloser(strings.NewReader(string(b)))
			return resp
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// BenchmarkGripBroadcast measures one message reaching 1,000 WebSocket
// clients connected through Pushpin, all members of one channel:
//
//   - channel: one publish to the channel; Pushpin fans out (grip.Channels).
//   - per-connection-batched: the message published to each connection's own
//     channel, 100 items per publish call (the grip ws.Sender's Broadcast).
//   - per-connection: one publish call per connection, 64 in flight, as the
//     API Gateway path (ws.StoreChannels over the management API) makes one
//     call per member.
//
// It reports the time until every client has received the message and the
// publish calls made. Run it on its own:
//
//	LAMBDAWS_INTEGRATION=1 go test -run '^$' -bench GripBroadcast -benchtime 1x ./integration/
func BenchmarkGripBroadcast(b *testing.B) {
	testenv.Integration(b, "Pushpin")
	const n = 1000
	var ch ws.Channels
	r := ws.NewRouter()
	r.Logger = quietLogger()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error { return ch.Join(ctx, req.ConnectionID, "all") })
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return nil })
	ids := make(chan string, n)
	r.Use(func(next ws.HandlerFunc) ws.HandlerFunc {
		return func(ctx context.Context, req *ws.Request) error {
			if req.RouteKey == "$connect" {
				ids <- req.ConnectionID
			}
			return next(ctx, req)
		}
	})
	env := startGrip(b, r, nil)
	ch = env.handler.Channels()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// Connect n clients, 50 at a time; each counts the messages it gets.
	var received atomic.Int64
	counts := make([]atomic.Int64, n)
	conns := make([]*websocket.Conn, n)
	sem := make(chan struct{}, 50)
	var wg sync.WaitGroup
	var dialErr atomic.Value
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, _, err := websocket.Dial(ctx, env.wsURL, nil)
			if err != nil {
				dialErr.Store(err)
				return
			}
			conns[i] = c
			go func() {
				for {
					if _, _, err := c.Read(ctx); err != nil {
						return
					}
					counts[i].Add(1)
					received.Add(1)
				}
			}()
		}()
	}
	wg.Wait()
	if err := dialErr.Load(); err != nil {
		b.Fatalf("dial: %v", err)
	}
	defer func() {
		for _, c := range conns {
			c.CloseNow()
		}
	}()
	connIDs := make([]string, 0, n)
	for range n {
		connIDs = append(connIDs, <-ids)
	}
	pub, _ := grip.NewPublisher(env.publishURL)

	// Wait until every subscription is active: probe the channel until all
	// clients have seen a probe, then let stray probes drain.
	for {
		if err := ch.Publish(ctx, "all", "probe", ""); err != nil {
			b.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		all := true
		for i := range counts {
			if counts[i].Load() == 0 {
				all = false
				break
			}
		}
		if all {
			break
		}
	}
	time.Sleep(500 * time.Millisecond)

	// waitAll waits until every client got one more message than before.
	waitAll := func(base int64) time.Time {
		for received.Load() < base+n {
			if ctx.Err() != nil {
				b.Fatalf("only %d of %d clients received the message", received.Load()-base, n)
			}
			time.Sleep(200 * time.Microsecond)
		}
		return time.Now()
	}
	measure := func(name string, send func() (calls int)) {
		b.Run(name, func(b *testing.B) {
			var total time.Duration
			var calls int
			for range b.N {
				base := received.Load()
				start := time.Now()
				calls = send()
				total += waitAll(base).Sub(start)
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/all-received")
			b.ReportMetric(float64(calls), "publish-calls")
			b.ReportMetric(0, "ns/op")
		})
	}
	measure("channel", func() int {
		if err := ch.Publish(ctx, "all", "hello all", ""); err != nil {
			b.Fatal(err)
		}
		return 1
	})
	measure("per-connection-batched", func() int {
		out := ws.ContextWithSender(ctx, env.handler.Sender())
		res, err := ws.Broadcast(out, func(yield func(string, error) bool) {
			for _, id := range connIDs {
				if !yield(id, nil) {
					return
				}
			}
		}, "hello each", nil)
		if err != nil || res.Sent != n {
			b.Fatalf("broadcast: %+v %v", res, err)
		}
		return (n + 99) / 100
	})
	measure("per-connection", func() int {
		sem := make(chan struct{}, 64)
		var wg sync.WaitGroup
		for _, id := range connIDs {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				item := grip.Item{Channel: env.handler.ConnectionChannel(id), WSMessage: &grip.WSMessage{Content: []byte("hello one")}}
				if err := pub.Publish(ctx, item); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		return n
	})
}
