package sender

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
)

// maxPooled bounds the Clients a Pool keeps. Endpoints usually come from
// events, one per API; the bound keeps a stream of distinct ones (or a
// hostile Host header behind a misconfigured proxy) from growing it.
const maxPooled = 64

// Pool is a cache of Clients, one per endpoint, sharing one AWS
// configuration (loaded on the first call of any of them) and one HTTP
// client with its keep-alive connections. It keeps the 64 most recently created Clients;
// a Client dropped from the Pool keeps working. The zero Pool is ready to
// use and safe for concurrent use; a Lambda function keeps one for its
// lifetime (a Lambda container serves one API, but an SQS consumer may
// push to several).
type Pool struct {
	// Options for the Clients the Pool creates; set it before the first Get.
	Options *Options

	mu      sync.Mutex
	env     *env
	clients map[string]*Client
	order   []string // endpoints in clients, oldest first
}

// Get returns the Client for endpoint, creating it on first use.
func (p *Pool) Get(endpoint string) *Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.clients[endpoint]; ok {
		return s
	}
	o := p.Options.withDefaults()
	if p.clients == nil {
		p.clients = make(map[string]*Client)
		p.env = newEnv(o)
	}
	if len(p.order) == maxPooled {
		delete(p.clients, p.order[0])
		p.order = append(p.order[:0], p.order[1:]...)
	}
	s := newClient(o, endpoint)
	s.lazy = &lazyClient{endpoint: endpoint, env: p.env}
	p.clients[endpoint] = s
	p.order = append(p.order, endpoint)
	return s
}

// env is what the Clients of a Pool share: the AWS configuration, loaded
// once (a failed load is not cached: the next call tries again), and the
// HTTP clients, each keeping conns idle connections per host.
type env struct {
	conns int
	given *http.Client // Options.HTTPClient without redirects, used for every call when set

	mu     sync.Mutex
	loaded bool
	cfg    aws.Config
	signed aws.HTTPClient // from the AWS configuration (CA bundle, proxy)
	plain  aws.HTTPClient // for the emulator, without any configuration
}

func newEnv(o Options) *env {
	e := &env{conns: o.Concurrency}
	if o.HTTPClient != nil {
		// A copy that follows no redirect: a redirected call would take
		// the body, the date and X-Amz-Security-Token elsewhere (the
		// http.Client drops only Authorization for another host) and
		// report the other host's answer.
		c := *o.HTTPClient
		c.CheckRedirect = noRedirect
		e.given = &c
	}
	return e
}

// noRedirect makes an http.Client return a redirect as the answer.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// sized keeps conns idle keep-alive connections per host: the SDK's
// default of 10 would make a broadcast with more calls in flight reconnect
// (and redo TLS) constantly. The SDK's transport allows HTTP/2 as well.
// It asks for no gzip: the management API's answers are empty or a few
// hundred bytes, and the Accept-Encoding header costs every call 4
// allocations (one a header map) and its bytes on the wire. Calls go
// straight to the transport (see roundTripper); a client with a timeout
// set is used as it is. A nil c is the SDK's default client, as in the SDK
// clients: config.LoadDefaultConfig sets aws.Config.HTTPClient only for a
// CA bundle (AWS_CA_BUNDLE or a profile's ca_bundle), which Lambda does not
// set.
func (e *env) sized(c aws.HTTPClient) aws.HTTPClient {
	if c == nil {
		c = awshttp.NewBuildableClient()
	}
	bc, ok := c.(*awshttp.BuildableClient)
	if !ok || bc.GetTimeout() != 0 {
		return c
	}
	t := bc.GetTransport()
	t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, e.conns)
	t.MaxIdleConns = max(t.MaxIdleConns, e.conns)
	t.DisableCompression = true
	return roundTripper{t}
}

// roundTripper makes each call one round trip of its transport, without
// http.Client: that copies every request's headers for redirects, and
// the management API redirects nowhere (the SDK's client would follow a
// 307 or 308; here it is an error as any other status). The calls'
// contexts bound them, as they do through the SDK's client.
type roundTripper struct{ t *http.Transport }

func (r roundTripper) Do(req *http.Request) (*http.Response, error) { return r.t.RoundTrip(req) }

// config returns the AWS configuration and the HTTP client built from it.
func (e *env) config(ctx context.Context) (aws.Config, aws.HTTPClient, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.loaded {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return aws.Config{}, nil, fmt.Errorf("sender: load AWS config: %w", err)
		}
		e.cfg, e.signed, e.loaded = cfg, e.sized(cfg.HTTPClient), true
		if e.given != nil {
			e.signed = e.given
		}
	}
	return e.cfg, e.signed, nil
}

func (e *env) plainClient() aws.HTTPClient {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.given != nil {
		return e.given
	}
	if e.plain == nil {
		e.plain = e.sized(awshttp.NewBuildableClient())
	}
	return e.plain
}

// lazyClient prepares the calls to one endpoint on first use.
type lazyClient struct {
	endpoint string
	env      *env

	mu     sync.Mutex
	direct *direct
}

func (l *lazyClient) get(ctx context.Context) (caller, error) {
	if l.endpoint == "" {
		return nil, errors.New("sender: no management API endpoint (set WEBSOCKET_API_GATEWAY_ENDPOINT or pass one)")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.direct != nil {
		return l.direct, nil
	}
	// The emulator (plain HTTP on a loopback host) checks no signature:
	// sign nothing, so that a laptop without AWS credentials works and no
	// IMDS lookup delays the first send.
	if emulator(l.endpoint) {
		d, err := newDirect(l.endpoint, l.env.plainClient(), nil, "")
		if err != nil {
			return nil, err
		}
		l.direct = d
		return d, nil
	}
	cfg, hc, err := l.env.config(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		return nil, errors.New("sender: no AWS region to sign for (set AWS_REGION)")
	}
	creds := cfg.Credentials
	if creds == nil {
		return nil, errors.New("sender: no AWS credentials provider in the configuration")
	}
	d, err := newDirect(l.endpoint, hc, creds, cfg.Region)
	if err != nil {
		return nil, err
	}
	l.direct = d
	return d, nil
}

// emulator reports whether endpoint is a plain-HTTP URL on a loopback host,
// such as the local emulator's http://127.0.0.1:8080/local.
func emulator(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "http" {
		return false
	}
	return loopbackHost(u.Hostname())
}
