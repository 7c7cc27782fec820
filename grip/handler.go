package grip

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lambdaws/lambdaws/internal/apigw"
	"github.com/lambdaws/lambdaws/internal/logs"
	"github.com/lambdaws/lambdaws/registry"
	"github.com/lambdaws/lambdaws/ws"
)

// Options configures a [Handler]. The zero value (or nil) gives the documented
// defaults; New reads no environment variable (OptionsFromEnv does, as
// faas-grip does).
type Options struct {
	// Publisher publishes to connections other than the one being served and
	// to channels. Without one, sending to another connection or publishing
	// fails with ErrNoPublisher.
	Publisher *Publisher

	// Key verifies the Grip-Sig header of every request; requests that are
	// unsigned, expired or wrongly signed get 401. Nil means the
	// Publisher's verify-key (or key with iss). With no key at all, requests
	// are not verified: the back end must then be reachable only by the proxy.
	Key *Key
	// Issuer, when not "", is the iss claim Grip-Sig must carry ("pushpin",
	// "fastly:<service id>"). Default: the Publisher's verify-iss.
	Issuer string

	// Prefix is prepended to every channel name the Handler subscribes and
	// publishes to: a connection's own channel is Prefix+"conn-"+connectionID
	// and a ws.Channels channel c is Prefix+c, the name other GRIP publishers
	// use (c may not begin with "conn-"). Do not combine with the proxy
	// route's prefix= option.
	Prefix string

	// TrustedHops is the number of proxies in front of the Handler, the GRIP
	// proxy included, that each append the address of their client to
	// X-Forwarded-For. The client's address (req.SourceIP(), ws.Info) is the
	// entry the outermost of them appended, TrustedHops from the end; entries
	// before it are written by the client and ignored. Zero means 1: the GRIP
	// proxy alone (configure Pushpin with x_forwarded_for=truncate:0,append;
	// without it, X-Forwarded-For is the client's own and must not be
	// trusted). Without X-Forwarded-For it is the TCP peer's address. The
	// Lambda entry points do not count API Gateway as a hop.
	TrustedHops int

	// KeepAlive, when positive, asks the proxy to send an empty request after
	// that much idle time (Pushpin's minimum is 20 s), giving the back end a
	// chance to answer with events.
	KeepAlive time.Duration

	// HTTP serves the requests that are not WebSocket-over-HTTP: pages,
	// HTTP streaming and long-polling (see Hold). Nil answers them 400.
	HTTP http.Handler

	// Logger receives protocol errors and rejected signatures. Nil means
	// slog.Default(), or Lambda's JSON log format on stdout when
	// AWS_LAMBDA_LOG_FORMAT is JSON (see ws.Router.Logger).
	Logger *slog.Logger
}

// Handler serves a ws.Router over WebSocket-over-HTTP: as an http.Handler
// behind Pushpin, or as a Lambda handler behind an API Gateway REST or HTTP
// API (see Handler.Lambda and Handler.LambdaV2). Create it with New.
type Handler struct {
	router *ws.Router
	sender *gripSender
	opts   Options
	pub    *Publisher
	key    *Key
	iss    string
}

// New returns a Handler serving r (nil means ws.DefaultRouter). Inside a
// request, the handlers of r send through the proxy; outside one (a worker),
// send with ws.ContextWithSender(ctx, h.Sender()). New fails for an empty
// key. It reads no environment variable: pass OptionsFromEnv() for GRIP_URL
// and the others.
func New(r *ws.Router, opts *Options) (*Handler, error) {
	if r == nil {
		r = ws.DefaultRouter
	}
	h := &Handler{router: r}
	h.sender = &gripSender{h: h}
	if opts != nil {
		h.opts = *opts
	}
	h.pub, h.key, h.iss = h.opts.Publisher, h.opts.Key, h.opts.Issuer
	if h.key == nil && h.pub != nil {
		h.key = h.pub.verify
	}
	if h.key != nil && h.key.pub == nil && len(h.key.secret) == 0 {
		// A Key{} zero value: HMAC with an empty secret, which anyone can sign.
		return nil, errors.New("grip: empty verification key (make one with ParseKey)")
	}
	if h.iss == "" && h.pub != nil {
		h.iss = h.pub.verifyIs
	}
	if h.key == nil && os.Getenv("GRIP_VERIFY_KEY") != "" {
		// Before OptionsFromEnv, New read it: say so rather than serve
		// unverified requests quietly.
		h.logger().Warn("grip: GRIP_VERIFY_KEY is set but not used, so requests are not verified: pass grip.OptionsFromEnv() to New")
	}
	return h, nil
}

// OptionsFromEnv returns Options read from the environment, as faas-grip
// reads it: Publisher from GRIP_URL (with its key, verify-key and verify-iss),
// Key from GRIP_VERIFY_KEY (see ParseKey), Issuer from GRIP_VERIFY_ISS and
// Prefix from GRIP_PREFIX. Unset variables leave their fields zero. It fails
// when a value cannot be parsed.
func OptionsFromEnv() (*Options, error) {
	o := &Options{Issuer: os.Getenv("GRIP_VERIFY_ISS"), Prefix: os.Getenv("GRIP_PREFIX")}
	if s := os.Getenv("GRIP_URL"); s != "" {
		p, err := NewPublisher(s)
		if err != nil {
			return nil, err
		}
		o.Publisher = p
	}
	if s := os.Getenv("GRIP_VERIFY_KEY"); s != "" {
		k, err := ParseKey(s)
		if err != nil {
			return nil, fmt.Errorf("grip: GRIP_VERIFY_KEY: %w", err)
		}
		o.Key = k
	}
	return o, nil
}

// Sender returns the ws.Sender of the Handler: through the proxy, for code
// outside a request (ws.ContextWithSender(ctx, h.Sender())).
func (h *Handler) Sender() ws.Sender { return h.sender }

func (h *Handler) logger() *slog.Logger {
	if h.opts.Logger != nil {
		return h.opts.Logger
	}
	return logs.Default()
}

// connNamespace begins the name of every connection's own channel (after
// Options.Prefix). ws.Channels channel names may not begin with it.
const connNamespace = "conn-"

// ConnectionChannel returns the channel each connection is subscribed to at
// OPEN, through which the Handler reaches it from anywhere:
// Prefix+"conn-"+connectionID.
func (h *Handler) ConnectionChannel(connectionID string) string {
	return h.opts.Prefix + connNamespace + connectionID
}

// channel returns the proxy channel of the ws.Channels channel name,
// Prefix+name as every other GRIP publisher names it. It fails with
// ErrInvalid for "" and for names in the connections' namespace, so that no
// name a client picks reads, writes to or closes another connection.
func (h *Handler) channel(op, name string) (string, error) {
	if name == "" || strings.HasPrefix(name, connNamespace) {
		return "", fmt.Errorf("%w: %s of channel %q: channel names beginning with %q are reserved for the connections' own channels", ErrInvalid, op, name, connNamespace)
	}
	return h.opts.Prefix + name, nil
}

// Serve serves the proxy's requests on ln until ctx is done, then shuts down
// gracefully, giving requests in flight 5 s to finish. It returns nil after a
// clean shutdown, else the error that ended it. Serve closes ln:
//
//	ln, err := net.Listen("tcp", "127.0.0.1:8080") // the proxy's route: * 127.0.0.1:8080,over_http
//	...
//	return h.Serve(ctx, ln)
func (h *Handler) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	stopped := make(chan error, 1)
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		stopped <- srv.Shutdown(sctx)
	})
	err := srv.Serve(ln)
	if !errors.Is(err, http.ErrServerClosed) {
		if stop() {
			return err
		}
		// ctx ended as Serve failed: let the shutdown finish.
	}
	return <-stopped
}

// ServeHTTP serves one request from the proxy.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.key != nil {
		if err := h.key.verify(r.Header.Get("Grip-Sig"), h.iss, time.Now()); err != nil {
			h.logger().WarnContext(r.Context(), "grip: refused request", logs.Error, err, logs.Path, r.URL.Path)
			http.Error(w, "invalid or missing Grip-Sig", http.StatusUnauthorized)
			return
		}
	}
	if !isWOH(r) {
		if h.opts.HTTP != nil {
			h.opts.HTTP.ServeHTTP(w, r)
			return
		}
		http.Error(w, "not a WebSocket-over-HTTP request", http.StatusBadRequest)
		return
	}
	cid := r.Header.Get("Connection-Id")
	if cid == "" {
		http.Error(w, "missing Connection-Id", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	if len(body) > maxBody {
		// Never serve a cut body: a cut on an event boundary would parse,
		// and the events after it (a CLOSE, a DISCONNECT) would be lost.
		h.logger().WarnContext(r.Context(), "grip: request body too large", "limit", maxBody, logs.ConnectionID, cid)
		http.Error(w, fmt.Sprintf("request body over %d bytes", maxBody), http.StatusRequestEntityTooLarge)
		return
	}
	evs, err := decodeEvents(body)
	if err != nil {
		h.logger().WarnContext(r.Context(), "grip: malformed events", logs.Error, err, logs.ConnectionID, cid)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.serve(w, r, cid, evs)
}

// maxBody is the largest WebSocket-over-HTTP request body a Handler reads
// (4 MiB); a larger one is answered 413. Pushpin sends at most about 1 MB.
const maxBody = 4 << 20

func isWOH(r *http.Request) bool {
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	return r.Method == http.MethodPost && strings.EqualFold(strings.TrimSpace(ct), contentType)
}

// conn is the state of the connection a request serves.
type conn struct {
	id      string
	req     *http.Request
	meta    map[string]string // current meta, lowercase names
	setMeta map[string]string // changes to answer with Set-Meta-*
	out     []event           // events to answer after OPEN
	mu      sync.Mutex
	gone    bool // CLOSE/DISCONNECT seen, OPEN refused, or closed by the server
	closed  bool // a CLOSE was queued or published

	// answered is set when the response is written: what is sent to the
	// connection later is published to its own channel instead, and what
	// only a response can carry (subscriptions, meta) fails.
	answered bool
}

type connKey struct{}

func connFrom(ctx context.Context) *conn {
	c, _ := ctx.Value(connKey{}).(*conn)
	return c
}

func (c *conn) setGone() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gone = true
}

func (c *conn) isGone() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gone
}

// queue adds e to the response, unless the response is written already.
func (c *conn) queue(e event) (queued bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.answered {
		return false
	}
	c.out = append(c.out, e)
	return true
}

// errAnswered is the error of an operation that only the response to the
// connection's request can carry, once that response is written (from a
// goroutine the handler started).
func errAnswered(op, id string) error {
	return fmt.Errorf("%w: %s for connection %s after its request was answered", ErrUnsupported, op, id)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, cid string, evs []event) {
	c := &conn{id: cid, req: r, meta: map[string]string{}, setMeta: map[string]string{}}
	for name, vs := range r.Header {
		if len(name) > 5 && strings.EqualFold(name[:5], "Meta-") && len(vs) > 0 {
			c.meta[strings.ToLower(name[5:])] = vs[0]
		}
	}
	ctx := context.WithValue(r.Context(), connKey{}, c)
	ctx = ws.ContextWithSender(ctx, h.sender)
	hdr := w.Header()
	accepted := false
	for _, ev := range evs {
		if c.isGone() {
			break
		}
		switch ev.Type {
		case evOpen:
			resp := h.dispatch(ctx, c, "CONNECT", registry.Connect, nil, false, 0, "")
			if resp.StatusCode/100 != 2 {
				c.mu.Lock()
				c.gone, c.answered = true, true
				queued := len(c.out) > 0
				c.mu.Unlock()
				if accepted || queued {
					h.logger().WarnContext(ctx, "grip: OPEN refused after events", logs.ConnectionID, cid)
				}
				http.Error(w, resp.Body, resp.StatusCode)
				return
			}
			accepted = true
			for k, v := range resp.Headers {
				hdr.Set(k, v)
			}
			// The connection's own channel, and "user" session meta keyed by
			// the skip-self filter of channel subscriptions (see Channels).
			c.mu.Lock()
			c.out = append([]event{
				controlEvent(map[string]any{"type": "set-meta", "name": "user", "value": cid}),
				controlEvent(map[string]any{"type": "subscribe", "channel": h.ConnectionChannel(cid)}),
			}, c.out...)
			c.mu.Unlock()
		case evText, evBinary:
			body := string(ev.Content)
			if ev.Type == evBinary {
				body = base64.StdEncoding.EncodeToString(ev.Content)
			}
			resp := h.dispatch(ctx, c, "MESSAGE", registry.Default, &body, ev.Type == evBinary, 0, "")
			if resp.StatusCode/100 == 2 && resp.Body != "" && !c.isGone() {
				c.queue(event{Type: evText, Content: append([]byte("m:"), resp.Body...)})
			}
		case evPing:
			c.queue(event{Type: evPong, Content: ev.Content})
		case evPong:
		case evClose:
			code, reason := ev.closeCode()
			c.setGone()
			h.dispatch(ctx, c, "DISCONNECT", registry.Disconnect, nil, false, code, reason)
			c.mu.Lock()
			if !c.closed {
				c.closed = true
				c.out = append(c.out, closeEvent(code, ""))
			}
			c.mu.Unlock()
		case evDisconnect:
			c.setGone()
			h.dispatch(ctx, c, "DISCONNECT", registry.Disconnect, nil, false, 1006, "")
		default:
			h.logger().WarnContext(ctx, "grip: ignoring unknown event", logs.Type, ev.Type, logs.ConnectionID, cid)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answered = true
	hdr.Set("Content-Type", contentType)
	if accepted {
		hdr.Set("Sec-WebSocket-Extensions", "grip")
	}
	if h.opts.KeepAlive > 0 {
		hdr.Set("Keep-Alive-Interval", strconv.Itoa(int(h.opts.KeepAlive/time.Second)))
	}
	names := make([]string, 0, len(c.setMeta))
	for k := range c.setMeta {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		hdr.Set("Set-Meta-"+k, c.setMeta[k])
	}
	var out []byte
	if accepted {
		out = appendEvents(out, event{Type: evOpen})
	}
	out = appendEvents(out, c.out...)
	hdr.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

func controlEvent(v map[string]any) event {
	b, _ := json.Marshal(v)
	return event{Type: evText, Content: append([]byte("c:"), b...)}
}

// dispatch builds the API Gateway event for one WebSocket-over-HTTP event and
// serves it with the router.
func (h *Handler) dispatch(ctx context.Context, c *conn, eventType, routeKey string, body *string, b64 bool, code int, reason string) events.APIGatewayProxyResponse {
	r := c.req
	auth := make(map[string]any, len(c.meta))
	c.mu.Lock()
	for k, v := range c.meta {
		auth[k] = v
	}
	c.mu.Unlock()
	info := &apigw.Conn{
		ID:         c.id,
		DomainName: r.Host,
		SourceIP:   h.sourceIP(r),
		UserAgent:  r.UserAgent(),
		Authorizer: auth,
	}
	var ev *events.APIGatewayWebsocketProxyRequest
	switch eventType {
	case "CONNECT":
		header := make(map[string][]string, len(r.Header))
		for k, vs := range r.Header {
			switch strings.ToLower(k) {
			case "grip-sig", "content-type", "content-length", "accept", "connection-id", "grip-feature":
				continue
			}
			if !strings.HasPrefix(strings.ToLower(k), "meta-") {
				header[k] = vs
			}
		}
		ev = apigw.Connect(info, header, r.URL.Query())
	case "DISCONNECT":
		ev = apigw.Disconnect(info, code, reason)
	default:
		ev = apigw.Message(info, routeKey, *body)
		ev.IsBase64Encoded = b64
	}
	resp, _ := h.router.Handler(ctx, *ev)
	return resp
}

// sourceIP returns the client's address: the X-Forwarded-For entry that the
// outermost trusted proxy appended (see Options.TrustedHops), else the TCP
// peer's address.
func (h *Handler) sourceIP(r *http.Request) string {
	var entries []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for e := range strings.SplitSeq(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				entries = append(entries, e)
			}
		}
	}
	if len(entries) > 0 {
		if ip := address(entries[max(len(entries)-max(h.opts.TrustedHops, 1), 0)]); ip != "" {
			return ip
		}
	}
	if ip := address(r.RemoteAddr); ip != "" {
		return ip
	}
	return r.RemoteAddr
}

// address returns the IP address in s, an address with or without a port,
// or "" when s is neither.
func address(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String()
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().String()
	}
	return ""
}

// Meta returns the GRIP meta of the connection being served (names in lower
// case), including changes made with SetMeta during this request, or nil
// outside a Handler's request. The same values are the event's authorizer
// context, so req.AuthorizerContext() reads them on every transport.
func Meta(ctx context.Context) map[string]string {
	c := connFrom(ctx)
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]string, len(c.meta))
	for k, v := range c.meta {
		m[k] = v
	}
	return m
}

// SetMeta sets a meta value of the connection being served; the proxy stores
// it and sends it with every later request of the connection (read it with
// Meta, or req.AuthorizerContext()[name]). An empty value deletes it. Names are
// case-insensitive header-name tokens. It fails outside a Handler's request,
// and with ErrUnsupported once the request's response is written (from a
// goroutine the handler started).
func SetMeta(ctx context.Context, name, value string) error {
	c := connFrom(ctx)
	if c == nil {
		return errors.New("grip: SetMeta outside a request served by grip.Handler")
	}
	if name == "" || strings.ContainsAny(name, " \t\r\n:()<>@,;\\\"/[]?={}") {
		return fmt.Errorf("grip: SetMeta: invalid name %q", name)
	}
	if strings.ContainsAny(value, "\r\n") {
		return fmt.Errorf("grip: SetMeta %q: value contains CR or LF", name)
	}
	name = strings.ToLower(name)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.answered {
		return errAnswered("SetMeta", c.id)
	}
	c.setMeta[name] = value
	if value == "" {
		delete(c.meta, name)
	} else {
		c.meta[name] = value
	}
	return nil
}
