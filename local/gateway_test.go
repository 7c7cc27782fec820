package local_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/internal/testenv"
	"github.com/lambdaws/lambdaws/local"
)

func TestConnect(t *testing.T) {
	tests := []struct {
		name      string
		fn        handlerFunc
		ask       []string // subprotocols the client offers
		status    int      // handshake status the client sees; 0 for accepted
		body      string
		protocol  string
		noConnect bool // the API defines no $connect route
	}{
		{name: "accept", fn: func(context.Context, event) (response, error) { return response{StatusCode: 200}, nil }},
		{name: "accept without body", fn: nil},
		{name: "refuse 401", status: 401, body: "missing token",
			fn: func(context.Context, event) (response, error) {
				return response{StatusCode: 401, Body: "missing token"}, nil
			}},
		{name: "accept 204", fn: func(context.Context, event) (response, error) { return response{StatusCode: 204}, nil }},
		{name: "invalid status 502", status: 502,
			fn: func(context.Context, event) (response, error) { return response{StatusCode: 101}, nil }},
		{name: "handler error 502", status: 502,
			fn: func(context.Context, event) (response, error) { return response{}, errors.New("boom") }},
		{name: "subprotocol copied", ask: []string{"graphql-ws", "chat"}, protocol: "chat",
			fn: func(context.Context, event) (response, error) {
				return response{StatusCode: 200, Headers: map[string]string{"sec-websocket-protocol": "chat"}}, nil
			}},
		{name: "subprotocol from multiValueHeaders", ask: []string{"chat"}, protocol: "chat",
			fn: func(context.Context, event) (response, error) {
				return response{StatusCode: 200, MultiValueHeaders: map[string][]string{"Sec-WebSocket-Protocol": {"chat"}}}, nil
			}},
		{name: "subprotocol not echoed", ask: []string{"chat"}, protocol: "",
			fn: func(context.Context, event) (response, error) { return response{StatusCode: 200}, nil }},
		{name: "no $connect route", noConnect: true,
			fn: func(context.Context, event) (response, error) { return response{StatusCode: 500}, nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := &local.Options{}
			if tt.noConnect {
				opts.Routes = routes(true, "$default")
			}
			h := start(t, opts, tt.fn)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, h.url(), &websocket.DialOptions{Subprotocols: tt.ask})
			if tt.status != 0 {
				if err == nil {
					c.CloseNow()
					t.Fatal("handshake succeeded, want it refused")
				}
				if resp == nil || resp.StatusCode != tt.status {
					t.Fatalf("handshake: %v (response %v), want status %d", err, resp, tt.status)
				}
				if tt.body != "" {
					if b, _ := io.ReadAll(resp.Body); !strings.Contains(string(b), tt.body) {
						t.Errorf("refusal body %q, want %q", b, tt.body)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer c.CloseNow()
			if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != tt.protocol {
				t.Errorf("Sec-WebSocket-Protocol = %q, want %q", got, tt.protocol)
			}
			if got := c.Subprotocol(); got != tt.protocol {
				t.Errorf("client subprotocol = %q, want %q", got, tt.protocol)
			}
			if tt.noConnect {
				select {
				case ev := <-h.events:
					t.Errorf("handler invoked for %s without a $connect route", ev.RequestContext.RouteKey)
				default:
				}
			}
		})
	}
}

func TestConnectInvalidOutput(t *testing.T) {
	g := local.New(rawHandler(`not json`), &local.Options{Logger: discard})
	h := serve(t, g)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, h.url(), nil)
	if err == nil || resp == nil || resp.StatusCode != 502 {
		t.Fatalf("dial: %v, %v; want 502", err, resp)
	}
}

var (
	idRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{15}=$`)
	clfRE = regexp.MustCompile(`^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000$`)
)

func TestEventShape(t *testing.T) {
	h := start(t, &local.Options{Stage: "prod"}, nil)
	c := h.dial("/?token=abc&tag=a&tag=b", &websocket.DialOptions{HTTPHeader: http.Header{"User-Agent": {"test-agent"}, "X-Custom": {"1"}}})
	conn := h.next()
	write(t, c, `{"action":"hello"}`)
	msg := h.next()
	if err := c.Close(4000, "bye"); err != nil {
		t.Fatalf("close: %v", err)
	}
	disc := h.next()

	host := strings.TrimPrefix(h.srv.URL, "http://")
	for _, ev := range []event{conn, msg, disc} {
		rc := ev.RequestContext
		name := rc.EventType
		if !idRE.MatchString(rc.ConnectionID) || rc.ConnectionID != conn.RequestContext.ConnectionID {
			t.Errorf("%s: connectionId %q", name, rc.ConnectionID)
		}
		if !idRE.MatchString(rc.RequestID) || rc.ExtendedRequestID != rc.RequestID {
			t.Errorf("%s: requestId %q extendedRequestId %q", name, rc.RequestID, rc.ExtendedRequestID)
		}
		if !clfRE.MatchString(rc.RequestTime) {
			t.Errorf("%s: requestTime %q", name, rc.RequestTime)
		}
		if tm, err := time.Parse("02/Jan/2006:15:04:05 -0700", rc.RequestTime); err != nil || tm.Unix() != rc.RequestTimeEpoch/1000 {
			t.Errorf("%s: requestTime %q does not match requestTimeEpoch %d", name, rc.RequestTime, rc.RequestTimeEpoch)
		}
		if rc.ConnectedAt != conn.RequestContext.ConnectedAt || rc.ConnectedAt > rc.RequestTimeEpoch ||
			time.Since(time.UnixMilli(rc.ConnectedAt)) > time.Minute {
			t.Errorf("%s: connectedAt %d (requestTimeEpoch %d)", name, rc.ConnectedAt, rc.RequestTimeEpoch)
		}
		if rc.MessageDirection != "IN" || rc.Stage != "prod" || rc.DomainName != host ||
			!regexp.MustCompile(`^[a-z0-9]{10}$`).MatchString(rc.APIID) || rc.APIID != conn.RequestContext.APIID {
			t.Errorf("%s: messageDirection %q stage %q domainName %q apiId %q", name, rc.MessageDirection, rc.Stage, rc.DomainName, rc.APIID)
		}
		if rc.Identity.SourceIP != "127.0.0.1" || rc.Identity.UserAgent != "test-agent" {
			t.Errorf("%s: identity %+v", name, rc.Identity)
		}
		if ev.IsBase64Encoded {
			t.Errorf("%s: isBase64Encoded", name)
		}
		if (rc.MessageID != nil) != (name == "MESSAGE") {
			t.Errorf("%s: messageId %v", name, rc.MessageID)
		}
		if name != "CONNECT" && (ev.QueryStringParameters != nil || ev.MultiValueQueryStringParameters != nil) {
			t.Errorf("%s: query parameters %v", name, ev.QueryStringParameters)
		}
	}
	if rc := conn.RequestContext; rc.EventType != "CONNECT" || rc.RouteKey != "$connect" {
		t.Errorf("connect: eventType %q routeKey %q", rc.EventType, rc.RouteKey)
	}
	if conn.Headers["Host"] != host || conn.Headers["X-Custom"] != "1" || conn.Headers["Sec-WebSocket-Version"] != "13" ||
		conn.Headers["Sec-WebSocket-Key"] == "" || conn.Headers["X-Forwarded-For"] != "127.0.0.1" ||
		conn.Headers["X-Forwarded-Proto"] != "http" || !strings.HasPrefix(conn.Headers["X-Amzn-Trace-Id"], "Root=1-") {
		t.Errorf("connect headers: %v", conn.Headers)
	}
	if len(conn.MultiValueHeaders) != len(conn.Headers) || conn.MultiValueHeaders["X-Custom"][0] != "1" {
		t.Errorf("connect multiValueHeaders: %v", conn.MultiValueHeaders)
	}
	if conn.QueryStringParameters["token"] != "abc" || conn.QueryStringParameters["tag"] != "b" ||
		strings.Join(conn.MultiValueQueryStringParameters["tag"], ",") != "a,b" {
		t.Errorf("connect query: %v %v", conn.QueryStringParameters, conn.MultiValueQueryStringParameters)
	}
	if conn.Body != "" {
		t.Errorf("connect body %q", conn.Body)
	}

	if rc := msg.RequestContext; rc.EventType != "MESSAGE" || rc.RouteKey != "$default" || !idRE.MatchString(fmt.Sprint(rc.MessageID)) {
		t.Errorf("message: eventType %q routeKey %q messageId %v", rc.EventType, rc.RouteKey, rc.MessageID)
	}
	if msg.Body != `{"action":"hello"}` || msg.Headers != nil || msg.MultiValueHeaders != nil {
		t.Errorf("message: body %q headers %v", msg.Body, msg.Headers)
	}

	rc := disc.RequestContext
	if rc.EventType != "DISCONNECT" || rc.RouteKey != "$disconnect" || rc.DisconnectStatusCode != 4000 ||
		rc.DisconnectReason == nil || *rc.DisconnectReason != "bye" {
		t.Errorf("disconnect: eventType %q routeKey %q code %d reason %v", rc.EventType, rc.RouteKey, rc.DisconnectStatusCode, rc.DisconnectReason)
	}
	wantHeaders := map[string]string{"Host": host, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
	if fmt.Sprint(disc.Headers) != fmt.Sprint(wantHeaders) || len(disc.MultiValueHeaders) != 4 || disc.Body != "" {
		t.Errorf("disconnect: headers %v multiValueHeaders %v body %q", disc.Headers, disc.MultiValueHeaders, disc.Body)
	}
}

// TestEventJSON checks the raw JSON the handler receives, as a handler in
// another language would see it.
func TestEventJSON(t *testing.T) {
	got := make(chan map[string]any, 3)
	g := local.New(rawFunc(func(payload []byte) []byte {
		var m map[string]any
		json.Unmarshal(payload, &m)
		got <- m
		return []byte(`{"statusCode":200,"headers":null,"multiValueHeaders":null,"body":""}`)
	}), &local.Options{Logger: discard})
	c := serve(t, g).dial("", nil)
	connect := <-got
	write(t, c, "hi")
	message := <-got
	for _, m := range []map[string]any{connect, message} {
		rc := m["requestContext"].(map[string]any)
		if _, ok := rc["connectedAt"].(float64); !ok {
			t.Errorf("connectedAt is %T", rc["connectedAt"])
		}
		if m["isBase64Encoded"] != false {
			t.Errorf("isBase64Encoded = %v", m["isBase64Encoded"])
		}
		if _, ok := rc["disconnectStatusCode"]; ok {
			t.Errorf("%s has disconnectStatusCode", rc["eventType"])
		}
	}
	if _, ok := connect["requestContext"].(map[string]any)["messageId"]; ok {
		t.Error("CONNECT has messageId")
	}
	if _, ok := message["headers"]; ok {
		t.Error("MESSAGE has headers")
	}
	if message["body"] != "hi" {
		t.Errorf("body = %v", message["body"])
	}
}

func TestRouteSelection(t *testing.T) {
	echoRoute := func(_ context.Context, ev event) (response, error) {
		if ev.RequestContext.EventType != "MESSAGE" {
			return response{StatusCode: 200}, nil
		}
		return response{StatusCode: 200, Body: ev.RequestContext.RouteKey}, nil
	}
	t.Run("custom and default", func(t *testing.T) {
		h := start(t, &local.Options{Routes: routes(true, "$connect", "$default", "sendmessage", "5")}, echoRoute)
		c := h.dial("", nil)
		for body, want := range map[string]string{
			`{"action":"sendmessage","data":1}`: "sendmessage",
			`{"action":5}`:                      "5",
			`{"action":"other"}`:                "$default",
			`{"action":"$connect"}`:             "$default",
			`not json`:                          "$default",
			`{"action":{"x":1}}`:                "$default",
		} {
			write(t, c, body)
			if got := read(t, c); got != want {
				t.Errorf("%s routed to %q, want %q", body, got, want)
			}
		}
	})
	t.Run("custom expression", func(t *testing.T) {
		h := start(t, &local.Options{RouteSelectionExpression: "$request.body.type.name", Routes: routes(true, "$default", "join")}, echoRoute)
		c := h.dial("", nil)
		write(t, c, `{"type":{"name":"join"}}`)
		if got := read(t, c); got != "join" {
			t.Errorf("routed to %q, want join", got)
		}
	})
	t.Run("no $default is Forbidden", func(t *testing.T) {
		h := start(t, &local.Options{Routes: routes(true, "$connect", "sendmessage")}, echoRoute)
		c := h.dial("", nil)
		id := h.next().RequestContext.ConnectionID
		write(t, c, `{"action":"nothing"}`)
		got := read(t, c)
		re := regexp.MustCompile(`^\{"message": "Forbidden", "connectionId":"` + regexp.QuoteMeta(id) + `", "requestId":"[A-Za-z0-9_-]{15}="\}$`)
		if !re.MatchString(got) {
			t.Errorf("got %s", got)
		}
		select {
		case ev := <-h.events:
			t.Errorf("handler invoked for %s", ev.RequestContext.RouteKey)
		case <-time.After(50 * time.Millisecond):
		}
	})
}

func TestMessageResponses(t *testing.T) {
	t.Run("handler error", func(t *testing.T) {
		h := start(t, nil, func(_ context.Context, ev event) (response, error) {
			if ev.RequestContext.EventType == "MESSAGE" {
				return response{}, errors.New("secret detail")
			}
			return response{StatusCode: 200}, nil
		})
		c := h.dial("", nil)
		h.next()
		write(t, c, "x")
		rc := h.next().RequestContext
		want := fmt.Sprintf(`{"message": "Internal server error", "connectionId":"%s", "requestId":"%s"}`, rc.ConnectionID, rc.RequestID)
		if got := read(t, c); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("invalid output", func(t *testing.T) {
		g := local.New(rawFunc(func(payload []byte) []byte {
			if strings.Contains(string(payload), `"MESSAGE"`) {
				return []byte("{not json")
			}
			return []byte("null")
		}), &local.Options{Logger: discard})
		c := serve(t, g).dial("", nil)
		write(t, c, "x")
		if got := read(t, c); !strings.HasPrefix(got, `{"message": "Internal server error", "connectionId":"`) {
			t.Errorf("got %s", got)
		}
	})
	t.Run("two-way body", func(t *testing.T) {
		h := start(t, &local.Options{Routes: twoWay()}, func(_ context.Context, ev event) (response, error) {
			if ev.Body == "" {
				return response{StatusCode: 200}, nil
			}
			return response{StatusCode: 500, Body: "re: " + ev.Body}, nil
		})
		c := h.dial("", nil)
		write(t, c, "ping")
		if got := read(t, c); got != "re: ping" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("one-way", func(t *testing.T) {
		h := start(t, &local.Options{Routes: routes(false, "$connect", "$default")}, func(_ context.Context, ev event) (response, error) {
			return response{StatusCode: 200, Body: "should not arrive"}, nil
		})
		c := h.dial("", nil)
		write(t, c, "ping")
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if _, b, err := c.Read(ctx); err == nil {
			t.Errorf("got %q on a one-way route", b)
		}
	})
	// Nobody sees the body of a failed one-way route: the log shows it, at
	// a level shown by default.
	t.Run("one-way 5xx body logged", func(t *testing.T) {
		var log testenv.LockedBuffer
		h := start(t, &local.Options{Logger: slog.New(slog.NewTextHandler(&log, nil))}, func(_ context.Context, ev event) (response, error) {
			if ev.RequestContext.EventType != "MESSAGE" {
				return response{StatusCode: 200}, nil
			}
			return response{StatusCode: 502, Body: "table chat not found"}, nil
		})
		c := h.dial("", nil)
		write(t, c, "ping")
		h.nextOf("MESSAGE")
		c.Close(websocket.StatusNormalClosure, "")
		h.g.Close() // waits for the invocation, and its log line
		var line string
		for l := range strings.Lines(log.String()) {
			if strings.Contains(l, "local: message") {
				line = l
			}
		}
		if !strings.Contains(line, "level=ERROR") || !strings.Contains(line, "status=502") || !strings.Contains(line, "table chat not found") {
			t.Errorf("logged %q, want an ERROR line with the status and body", line)
		}
	})
}

func TestLimits(t *testing.T) {
	tests := []struct {
		name   string
		send   func(ctx context.Context, c *websocket.Conn) error
		code   websocket.StatusCode
		reason string
	}{
		{name: "binary", code: websocket.StatusUnsupportedData, send: func(ctx context.Context, c *websocket.Conn) error {
			return c.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3})
		}},
		{name: "frame over 32 KB", code: websocket.StatusMessageTooBig, send: func(ctx context.Context, c *websocket.Conn) error {
			return c.Write(ctx, websocket.MessageText, []byte(strings.Repeat("a", 32<<10+1)))
		}},
		{name: "message over 128 KB in 32 KB frames", code: websocket.StatusMessageTooBig, send: func(ctx context.Context, c *websocket.Conn) error {
			return writeFragmented(ctx, c, 128<<10+1, 32<<10)
		}},
		// RFC 6455 section 8.1: a text message that is not UTF-8 fails the
		// connection with 1007, instead of reaching the function as U+FFFD.
		{name: "invalid UTF-8", code: websocket.StatusInvalidFramePayloadData, send: func(ctx context.Context, c *websocket.Conn) error {
			return c.Write(ctx, websocket.MessageText, []byte("caf\xe9"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, nil, nil)
			c := h.dial("", nil)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := tt.send(ctx, c); err != nil {
				t.Fatalf("send: %v", err)
			}
			if ce := readClose(t, c); ce.Code != tt.code {
				t.Errorf("client saw close %v, want %v", ce, tt.code)
			}
			ev := h.next() // CONNECT
			if ev = h.next(); ev.RequestContext.EventType != "DISCONNECT" {
				t.Fatalf("%s event with body %q, want none before DISCONNECT", ev.RequestContext.EventType, ev.Body)
			}
			if rc := ev.RequestContext; rc.DisconnectStatusCode != int64(tt.code) {
				t.Errorf("$disconnect code %d, want %d", rc.DisconnectStatusCode, tt.code)
			}
		})
	}
	t.Run("fragmented messages up to 128 KB pass", func(t *testing.T) {
		h := start(t, nil, nil)
		c := h.dial("", nil)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := writeFragmented(ctx, c, 128<<10, 32<<10); err != nil {
			t.Fatal(err)
		}
		write(t, c, strings.Repeat("b", 32<<10))
		// The two messages are invoked concurrently, in either order.
		if a, b := len(h.nextOf("MESSAGE").Body), len(h.nextOf("MESSAGE").Body); a+b != 160<<10 || a != 128<<10 && a != 32<<10 {
			t.Errorf("bodies of %d and %d bytes, want 128 KiB and 32 KiB", a, b)
		}
	})
}

// writeFragmented sends one text message of n bytes in frames of size bytes.
func writeFragmented(ctx context.Context, c *websocket.Conn, n, size int) error {
	w, err := c.Writer(ctx, websocket.MessageText)
	if err != nil {
		return err
	}
	for n > 0 {
		k := min(n, size)
		if _, err := w.Write([]byte(strings.Repeat("a", k))); err != nil {
			return err
		}
		n -= k
	}
	return w.Close()
}

func TestTimeouts(t *testing.T) {
	t.Parallel() // waits out timeouts: overlaps the other such tests
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		const idle = 500 * time.Millisecond
		h := start(t, &local.Options{IdleTimeout: idle}, nil)
		c := h.dial("", nil)
		h.next() // CONNECT
		// Messages every idle/5 keep the connection open past idle: each
		// restarts the timer once the gateway read it (its MESSAGE event),
		// so the close comes at least idle after the last one was sent.
		opened := time.Now()
		var last time.Time
		for time.Since(opened) < 3*idle/2 {
			last = time.Now()
			write(t, c, "x")
			h.nextOf("MESSAGE")
			time.Sleep(idle / 5)
		}
		if ce := readClose(t, c); ce.Code != websocket.StatusGoingAway || ce.Reason != "Going away" {
			t.Errorf("client saw %v, want 1001 Going away", ce)
		}
		if d := time.Since(last); d < idle {
			t.Errorf("closed %v after the last message, want at least %v", d, idle)
		}
		rc := h.nextOf("DISCONNECT").RequestContext
		if rc.DisconnectStatusCode != 1001 || *rc.DisconnectReason != "Going away" {
			t.Errorf("$disconnect %d %q", rc.DisconnectStatusCode, *rc.DisconnectReason)
		}
	})
	t.Run("max lifetime", func(t *testing.T) {
		t.Parallel()
		h := start(t, &local.Options{MaxLifetime: 300 * time.Millisecond}, nil)
		c := h.dial("", nil)
		stop := make(chan struct{})
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
					c.Write(context.Background(), websocket.MessageText, []byte("x"))
				}
			}
		}()
		defer close(stop)
		if ce := readClose(t, c); ce.Code != websocket.StatusGoingAway {
			t.Errorf("client saw %v, want 1001", ce)
		}
		if rc := h.nextOf("DISCONNECT").RequestContext; rc.DisconnectStatusCode != 1001 {
			t.Errorf("$disconnect code %d", rc.DisconnectStatusCode)
		}
	})
	t.Run("dropped connection", func(t *testing.T) {
		t.Parallel()
		h := start(t, nil, nil)
		c := h.dial("", nil)
		h.next()
		c.CloseNow()
		rc := h.nextOf("DISCONNECT").RequestContext
		if rc.DisconnectStatusCode != 1006 || *rc.DisconnectReason != "" {
			t.Errorf("$disconnect %d %q, want 1006", rc.DisconnectStatusCode, *rc.DisconnectReason)
		}
	})
}

func TestFallback(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>chat</html>") })
	for _, tt := range []struct {
		name     string
		fallback http.Handler
		path     string
		status   int
		body     string
	}{
		{"page", page, "/", 200, "<html>chat</html>"},
		{"default root", nil, "/", 426, ""},
		{"default stage", nil, "/local", 426, ""},
		{"default other", nil, "/x", 404, ""},
		{"wrong stage", page, "/prod/@connections/abc", 403, "ForbiddenException"},
		{"no id", page, "/local/@connections/", 403, "ForbiddenException"},
		{"no stage", page, "/@connections/abc", 403, "ForbiddenException"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, &local.Options{Fallback: tt.fallback}, nil)
			resp, err := http.Get(h.srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.body) {
				t.Errorf("GET %s: %d %q, want %d %q", tt.path, resp.StatusCode, b, tt.status, tt.body)
			}
		})
	}
	t.Run("websocket on the same path", func(t *testing.T) {
		h := start(t, &local.Options{Fallback: page}, nil)
		c := h.dial("/", nil)
		c.Close(websocket.StatusNormalClosure, "")
	})
}

func TestCloseGateway(t *testing.T) {
	fds := openFDs(t)
	h := start(t, nil, func(_ context.Context, ev event) (response, error) {
		if ev.RequestContext.EventType == "CONNECT" {
			time.Sleep(10 * time.Millisecond) // several handshakes at once: several environments
		}
		return response{StatusCode: 200}, nil
	})
	const n = 5
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i] = h.dial("", nil)
		h.next()
	}
	closes := make(chan websocket.CloseError, n)
	for _, c := range conns {
		go func() {
			_, _, err := c.Read(context.Background())
			var ce websocket.CloseError
			errors.As(err, &ce)
			closes <- ce
		}()
	}
	h.g.Close()
	for range n {
		if ce := <-closes; ce.Code != websocket.StatusGoingAway {
			t.Errorf("client saw %v, want 1001", ce)
		}
	}
	for range n {
		if rc := h.nextOf("DISCONNECT").RequestContext; rc.DisconnectStatusCode != 1001 {
			t.Errorf("$disconnect code %d", rc.DisconnectStatusCode)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, resp, err := websocket.Dial(ctx, h.url(), nil); err == nil || resp == nil || resp.StatusCode != 503 {
		t.Errorf("dial after Close: %v %v, want 503", err, resp)
	}
	h.srv.Close()
	checkNoLeaks(t)
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for openFDs(t) > fds && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if now := openFDs(t); now > fds {
		t.Errorf("%d file descriptors open after Close, %d before", now, fds)
	}
}

// TestCloseAfterClientClose closes the gateway right after a client's close
// handshake finished: $disconnect reports the client's code, not 1001.
func TestCloseAfterClientClose(t *testing.T) {
	for range 5 {
		h := start(t, nil, nil)
		c := h.dial("", nil)
		h.next()
		if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
			t.Fatalf("client close: %v", err)
		}
		h.g.Close()
		if rc := h.nextOf("DISCONNECT").RequestContext; rc.DisconnectStatusCode != 1000 || rc.DisconnectReason == nil || *rc.DisconnectReason != "bye" {
			t.Errorf("$disconnect %d %v, want 1000 \"bye\"", rc.DisconnectStatusCode, rc.DisconnectReason)
		}
	}
}

// TestListen checks that an address without a host binds loopback only.
func TestListen(t *testing.T) {
	ln, err := local.Listen(":0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); host != "127.0.0.1" {
		t.Errorf(`Listen(":0") bound %v, want 127.0.0.1`, ln.Addr())
	}
}

func TestServe(t *testing.T) {
	ln, err := local.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- local.Serve(ctx, ln, lambda.NewHandler(func(ev event) (response, error) {
			return response{StatusCode: 200, Body: ev.Body}, nil
		}), &local.Options{Logger: discard, Routes: twoWay()})
	}()
	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	c, _, err := websocket.Dial(dctx, "ws://"+ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	write(t, c, "hi")
	if got := read(t, c); got != "hi" {
		t.Errorf("got %q", got)
	}
	cancel()
	if ce := readClose(t, c); ce.Code != websocket.StatusGoingAway {
		t.Errorf("client saw %v, want 1001", ce)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	checkNoLeaks(t)
}

// TestForwardedFor: the client's X-Forwarded-For lines are combined in order,
// as a proxy would, before the gateway appends the address it sees;
// identity.sourceIp is that address alone, never a client's claim.
func TestForwardedFor(t *testing.T) {
	h := start(t, nil, nil)
	h.dial("", &websocket.DialOptions{HTTPHeader: http.Header{"X-Forwarded-For": {"203.0.113.7", "10.0.0.1, 10.0.0.2"}}})
	ev := h.nextOf("CONNECT")
	if got, want := ev.Headers["X-Forwarded-For"], "203.0.113.7, 10.0.0.1, 10.0.0.2, 127.0.0.1"; got != want {
		t.Errorf("X-Forwarded-For %q, want %q", got, want)
	}
	if got := ev.MultiValueHeaders["X-Forwarded-For"]; len(got) != 1 {
		t.Errorf("multiValueHeaders X-Forwarded-For %q, want one value", got)
	}
	if ip := ev.RequestContext.Identity.SourceIP; ip != "127.0.0.1" {
		t.Errorf("sourceIp %q, want 127.0.0.1", ip)
	}
}
