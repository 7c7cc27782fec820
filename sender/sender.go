package sender

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/lambdaws/lambdaws/internal/logs"
	"golang.org/x/time/rate"
)

// maxPayload is the PostToConnection Data limit (API Gateway quota, 128 KiB).
const maxPayload = 131072

// API is the subset of *apigatewaymanagementapi.Client that a [Client]
// calls. The real SDK client satisfies it, and so does a test fake.
type API interface {
	PostToConnection(ctx context.Context, params *apigatewaymanagementapi.PostToConnectionInput, optFns ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.PostToConnectionOutput, error)
	GetConnection(ctx context.Context, params *apigatewaymanagementapi.GetConnectionInput, optFns ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.GetConnectionOutput, error)
	DeleteConnection(ctx context.Context, params *apigatewaymanagementapi.DeleteConnectionInput, optFns ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.DeleteConnectionOutput, error)
}

// Options configures a [Client]. The zero value (or a nil *Options) gives
// the documented defaults.
type Options struct {
	// MaxAttempts bounds the calls made for one operation, the first included.
	// 429 and 5xx responses are retried; 403, 410 and 413 never are.
	// Default 5; 1 disables retries.
	MaxAttempts int
	// BackoffBase and BackoffMax shape the delay before retry n: a random
	// duration in [0, min(BackoffMax, BackoffBase·2ⁿ⁻¹)] ("full jitter").
	// Defaults 50ms and 1s. A retry is not attempted when its delay would pass
	// the context deadline.
	BackoffBase, BackoffMax time.Duration
	// Concurrency bounds the sends in flight during a [Client.Broadcast].
	// Default 64. Each call takes one round trip, so a broadcast sends at
	// most Concurrency / round trip calls per second: 64 at 10 ms is 6,400.
	Concurrency int
	// Rate, if above 0, caps the calls per second this Client makes, all
	// operations together (see [BroadcastOptions].Rate for one broadcast).
	// The calls draw on the account's API Gateway quota per Region (10,000
	// per second with a burst of 5,000 by default, 2,500 per second in some
	// Regions), shared with every inbound request of the account's REST,
	// HTTP and WebSocket APIs: a Rate below it leaves the rest to them.
	Rate float64
	// DisablePacing turns off the adaptive pacing (see the package
	// documentation): every call then goes as soon as Rate and Concurrency
	// let it, and a 429 is only retried with backoff, on its own.
	DisablePacing bool
	// HTTPClient, if set, makes every call of a Client from [NewForEndpoint]
	// or a [Pool], signed or not (a proxy, custom TLS, instrumentation),
	// through a copy of it whose CheckRedirect follows no redirect: the
	// management API never redirects, so a redirect fails the call, and
	// the session token and the message never go to another host.
	// Default: the transport of the AWS configuration's HTTP client (the
	// SDK's net/http transport, which honours AWS_CA_BUNDLE and the proxy
	// variables and speaks HTTP/1.1 and HTTP/2), keeping Concurrency idle
	// connections per host, called without an http.Client: no redirect is
	// followed either.
	HTTPClient *http.Client
	// Logger receives retries and broadcast summaries at debug level, never
	// message bodies. Default slog.Default(), or Lambda's JSON log format on
	// stdout when AWS_LAMBDA_LOG_FORMAT is JSON (see ws.Router.Logger).
	Logger *slog.Logger
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 5
	}
	if r.BackoffBase <= 0 {
		r.BackoffBase = 50 * time.Millisecond
	}
	if r.BackoffMax <= 0 {
		r.BackoffMax = time.Second
	}
	if r.BackoffMax < r.BackoffBase {
		r.BackoffMax = r.BackoffBase
	}
	if r.Concurrency <= 0 {
		r.Concurrency = 64
	}
	return r
}

// Client sends to, inspects and closes the connections of one WebSocket API
// stage through the API Gateway management API. It is safe for concurrent use.
type Client struct {
	opts  Options
	fixed caller        // set by New
	lazy  *lazyClient   // set by NewForEndpoint and Pool.Get
	limit *rate.Limiter // Options.Rate, or nil
	pacer *pacer        // the endpoint's, or nil when DisablePacing

	jitter func(ceil time.Duration) time.Duration // a test's choice in [0, ceil], else random
}

// newClient returns a Client with o (defaults applied), pacing its calls
// with the pacer of endpoint, or a new one for "" (an API given to New).
func newClient(o Options, endpoint string) *Client {
	s := &Client{opts: o, limit: limiterAt(o.Rate)}
	switch {
	case o.DisablePacing:
	case endpoint == "":
		s.pacer = newPacer()
	default:
		s.pacer = pacerFor(endpoint)
	}
	return s
}

// caller makes single management-API calls for a Client: direct (net/http
// and the SDK's signer, the default) or sdkCaller (an [API], given to New).
// Their errors have the SDK's shapes; the Client classifies and retries them.
type caller interface {
	// post sends data; hash is its payload hash when the Client computed it
	// once for many posts (see hashFor), else "".
	post(ctx context.Context, id string, data []byte, hash string) error
	get(ctx context.Context, id string) (*Info, error)
	delete(ctx context.Context, id string) error
}

// New returns a Client that calls api, which is either an
// *apigatewaymanagementapi.Client or a fake. The Client owns retries: on
// every call it replaces the SDK client's retryer with aws.NopRetryer, so
// attempts are never multiplied by the SDK's own retry loop.
func New(api API, opts *Options) *Client {
	if api == nil {
		panic("sender: New with a nil API")
	}
	s := newClient(opts.withDefaults(), "")
	s.fixed = sdkCaller{api}
	return s
}

// NewForEndpoint returns a Client that calls the management API at endpoint,
// for example "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
// (see [ResolveEndpoint]). The AWS configuration (credentials, region) is
// loaded with config.LoadDefaultConfig on the first call, not here, so a
// Client costs nothing until used and works from any Lambda function (SQS,
// schedules), not only WebSocket ones. A plain-HTTP loopback endpoint (the
// local emulator) is called unsigned, without loading any AWS configuration.
//
// It makes the requests the SDK client makes, signed with the SDK's SigV4
// signer (aws/signer/v4) and credentials, over the AWS configuration's HTTP
// client (or Options.HTTPClient) but without the SDK's middleware stack,
// which costs a fraction of the SDK client's CPU per call (see
// BENCHMARKS.md). Errors have the SDK's types. To call through the SDK
// client, pass one to [New].
func NewForEndpoint(endpoint string, opts *Options) *Client {
	o := opts.withDefaults()
	s := newClient(o, endpoint)
	s.lazy = &lazyClient{endpoint: endpoint, env: newEnv(o)}
	return s
}

func (s *Client) logger() *slog.Logger {
	if s.opts.Logger != nil {
		return s.opts.Logger
	}
	return logs.Default()
}

func (s *Client) caller(ctx context.Context) (caller, error) {
	if s.fixed != nil {
		return s.fixed, nil
	}
	return s.lazy.get(ctx)
}

// hashFor returns the payload hash of data for c.post when c signs it, so
// that a broadcast hashes its one payload once, not once per connection.
func hashFor(c caller, data []byte) string {
	if d, ok := c.(*direct); ok && d.creds != nil {
		return payloadHash(data)
	}
	return ""
}

// maxIDLen bounds a connection id. API Gateway's are 16 bytes (base64 of 11
// bytes, "L0SM9cOFvHcCIhw="), as are the local emulator's (URL-safe base64).
const maxIDLen = 128

// ValidID reports whether id can be a connection id: 1 to 128 characters of
// the base64 alphabets, standard and URL-safe, without "/" (A-Z a-z 0-9 + -
// _ =). API Gateway's ids ("Lb9A4dZ+oAMCJUA=") and the local emulator's are
// base64 strings of 16 characters, and a UUID passes too. Anything else
// cannot name a connection: an empty id (a POST to @connections/, which API
// Gateway answers 403 as for a missing permission), "." or ".." (which
// address another path once normalised), "?", "#", "%", "/", spaces. A
// [Client] refuses such an id with [ErrInvalidID] before the network.
func ValidID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '_' || c == '=') {
			return false
		}
	}
	return true
}

// checkID returns the error of op for an invalid id, nil for a valid one.
func checkID(op, id string) error {
	if ValidID(id) {
		return nil
	}
	return &Error{Op: op, ConnectionID: id, kind: ErrInvalidID}
}

// Send posts data to the connection as one text message. Data over 131072
// bytes fails with [ErrTooLarge] and an invalid id (see [ValidID]) with
// [ErrInvalidID], both before any network call. Use [Encode] to turn a
// string or a value into bytes.
func (s *Client) Send(ctx context.Context, connectionID string, data []byte) error {
	if len(data) > maxPayload {
		return &Error{Op: "send", ConnectionID: connectionID, kind: ErrTooLarge}
	}
	if err := checkID("send", connectionID); err != nil {
		return err
	}
	c, err := s.caller(ctx)
	if err != nil {
		return err
	}
	return s.send(ctx, c, connectionID, data, "", nil)
}

// send sends data to a valid id, each attempt also waiting for lim (a
// broadcast's rate) unless it is nil.
func (s *Client) send(ctx context.Context, c caller, id string, data []byte, hash string, lim *rate.Limiter) error {
	return s.retry(ctx, "send", id, lim, func(ctx context.Context) error {
		return c.post(ctx, id, data, hash)
	})
}

// Close disconnects the connection (DELETE @connections/{id}). API Gateway
// then invokes $disconnect. An invalid id fails with [ErrInvalidID].
func (s *Client) Close(ctx context.Context, connectionID string) error {
	if err := checkID("close", connectionID); err != nil {
		return err
	}
	c, err := s.caller(ctx)
	if err != nil {
		return err
	}
	return s.retry(ctx, "close", connectionID, nil, func(ctx context.Context) error {
		return c.delete(ctx, connectionID)
	})
}

// Info describes a live connection, as returned by GetConnection.
type Info struct {
	ConnectedAt  time.Time
	LastActiveAt time.Time
	SourceIP     string
	UserAgent    string
}

// Info returns what API Gateway knows about the connection
// (GET @connections/{id}); [ErrGone] if it is not connected, [ErrInvalidID]
// if the id cannot name a connection.
func (s *Client) Info(ctx context.Context, connectionID string) (*Info, error) {
	if err := checkID("info", connectionID); err != nil {
		return nil, err
	}
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	var info *Info
	err = s.retry(ctx, "info", connectionID, nil, func(ctx context.Context) error {
		var err error
		info, err = c.get(ctx, connectionID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return info, nil
}

// sdkCaller calls an [API] (the SDK client or a fake).
type sdkCaller struct{ api API }

// noSDKRetries is passed on every call so that only the Client retries.
func noSDKRetries(o *apigatewaymanagementapi.Options) {
	o.Retryer = aws.NopRetryer{}
	o.RetryMaxAttempts = 0
}

func (c sdkCaller) post(ctx context.Context, id string, data []byte, _ string) error {
	_, err := c.api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: &id, Data: data}, noSDKRetries)
	return err
}

func (c sdkCaller) delete(ctx context.Context, id string) error {
	_, err := c.api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: &id}, noSDKRetries)
	return err
}

func (c sdkCaller) get(ctx context.Context, id string) (*Info, error) {
	out, err := c.api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: &id}, noSDKRetries)
	if err != nil {
		return nil, err
	}
	info := &Info{
		ConnectedAt:  aws.ToTime(out.ConnectedAt),
		LastActiveAt: aws.ToTime(out.LastActiveAt),
	}
	if out.Identity != nil {
		info.SourceIP = aws.ToString(out.Identity.SourceIp)
		info.UserAgent = aws.ToString(out.Identity.UserAgent)
	}
	return info, nil
}

// retry runs call until it succeeds, fails with a non-retryable error, runs
// out of attempts, or the next delay would outlive ctx. Each attempt first
// waits for the Client's rate (Options.Rate), lim (a broadcast's rate, or
// nil) and the endpoint's pacer.
func (s *Client) retry(ctx context.Context, op, id string, lim *rate.Limiter, call func(context.Context) error) error {
	var (
		last        *Error // the last attempt's error
		lastAttempt int
	)
	stop := func(err error) error {
		if last == nil {
			return &Error{Op: op, ConnectionID: id, Err: err}
		}
		// The context's error, so that errors.Is(err,
		// context.DeadlineExceeded) holds; the last response stays in
		// the chain and in StatusCode.
		return &Error{Op: op, ConnectionID: id, StatusCode: last.StatusCode, kind: last.kind,
			Err: fmt.Errorf("%w (attempt %d: %w)", err, lastAttempt, last.Err)}
	}
	for attempt := 1; ; attempt++ {
		for _, l := range [...]*rate.Limiter{s.limit, lim, s.pacer.limiter()} {
			if err := gate(ctx, l); err != nil {
				return stop(err)
			}
		}
		err := call(ctx)
		if err == nil {
			s.pacer.done(false)
			return nil
		}
		e := classify(op, id, err)
		if e.kind == ErrThrottled {
			s.pacer.done(true)
		}
		if !e.retryable() || attempt >= s.opts.MaxAttempts {
			return e
		}
		last, lastAttempt = e, attempt
		d := s.backoff(attempt)
		if e.kind == ErrThrottled && s.pacer != nil {
			// Past the pacer's reaction to the 429s of this moment.
			d += 2 * window
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
			// The deadline is why it gives up: say so, as below.
			return stop(fmt.Errorf("next attempt in %v would be past the deadline: %w", d.Round(time.Millisecond), context.DeadlineExceeded))
		}
		s.logger().DebugContext(ctx, "sender: retrying", logs.Op, op, logs.ConnectionID, id,
			logs.Attempt, attempt, logs.Status, e.StatusCode, logs.Delay, d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return stop(fmt.Errorf("%w while retrying", ctx.Err()))
		case <-t.C:
		}
	}
}

func (s *Client) backoff(attempt int) time.Duration {
	ceil := s.opts.BackoffMax
	if attempt < 31 {
		if d := s.opts.BackoffBase << (attempt - 1); d > 0 && d < ceil {
			ceil = d
		}
	}
	if s.jitter != nil {
		return s.jitter(ceil)
	}
	return rand.N(ceil + 1)
}
