package sender

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/lambdaws/lambdaws/internal/logs"
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
	// Default 64.
	Concurrency int
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
	fixed caller      // set by New
	lazy  *lazyClient // set by NewForEndpoint and Pool.Get
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
	return &Client{opts: opts.withDefaults(), fixed: sdkCaller{api}}
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
// signer (aws/signer/v4) and credentials, but without the SDK's middleware
// stack and over its own HTTP/1.1 keep-alive connections (up to
// Options.Concurrency kept idle, with the TLS settings of the SDK's HTTP
// client), which costs about a third of the SDK client's CPU per call (see
// BENCHMARKS.md). Errors have the SDK's types. When the AWS configuration has
// a custom HTTP client, or a proxy is set for the endpoint, that client is
// used instead. To call through the SDK client, pass one to [New].
func NewForEndpoint(endpoint string, opts *Options) *Client {
	o := opts.withDefaults()
	return &Client{opts: o, lazy: &lazyClient{endpoint: endpoint, env: newEnv(o.Concurrency)}}
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

// Send posts data to the connection as one text message. Data over 131072
// bytes fails with [ErrTooLarge] before any network call. Use [Encode] to turn
// a string or a value into bytes.
func (s *Client) Send(ctx context.Context, connectionID string, data []byte) error {
	if len(data) > maxPayload {
		return &Error{Op: "send", ConnectionID: connectionID, kind: ErrTooLarge}
	}
	c, err := s.caller(ctx)
	if err != nil {
		return err
	}
	return s.send(ctx, c, connectionID, data, "")
}

func (s *Client) send(ctx context.Context, c caller, id string, data []byte, hash string) error {
	return s.retry(ctx, "send", id, func(ctx context.Context) error {
		return c.post(ctx, id, data, hash)
	})
}

// Close disconnects the connection (DELETE @connections/{id}). API Gateway
// then invokes $disconnect.
func (s *Client) Close(ctx context.Context, connectionID string) error {
	c, err := s.caller(ctx)
	if err != nil {
		return err
	}
	return s.retry(ctx, "close", connectionID, func(ctx context.Context) error {
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
// (GET @connections/{id}); [ErrGone] if it is not connected.
func (s *Client) Info(ctx context.Context, connectionID string) (*Info, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	var info *Info
	err = s.retry(ctx, "info", connectionID, func(ctx context.Context) error {
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
// out of attempts, or the next delay would outlive ctx.
func (s *Client) retry(ctx context.Context, op, id string, call func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := call(ctx)
		if err == nil {
			return nil
		}
		e := classify(op, id, err)
		if !e.retryable() || attempt >= s.opts.MaxAttempts {
			return e
		}
		d := s.backoff(attempt)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
			return e
		}
		s.logger().DebugContext(ctx, "sender: retrying", logs.Op, op, logs.ConnectionID, id,
			logs.Attempt, attempt, logs.Status, e.StatusCode, logs.Delay, d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			// The context's error, so that errors.Is(err,
			// context.DeadlineExceeded) holds; the last response stays
			// in the chain and in StatusCode.
			return &Error{Op: op, ConnectionID: id, StatusCode: e.StatusCode, kind: e.kind,
				Err: fmt.Errorf("%w while retrying (attempt %d: %w)", ctx.Err(), attempt, e.Err)}
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
	return rand.N(ceil + 1)
}
