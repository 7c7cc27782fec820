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
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
)

// Pool caches one [Client] per endpoint, all sharing one AWS configuration
// that is loaded on the first call of any of them. The zero Pool is ready to
// use and safe for concurrent use; a Lambda function keeps one for its
// lifetime (a Lambda container serves one API, but an SQS consumer may
// push to several).
type Pool struct {
	// Options for the Clients the Pool creates; set it before the first Get.
	Options *Options

	mu      sync.Mutex
	cfg     configLoader
	clients map[string]*Client
}

// Get returns the Client for endpoint, creating it on first use.
func (p *Pool) Get(endpoint string) *Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.clients[endpoint]; ok {
		return s
	}
	if p.clients == nil {
		p.clients = make(map[string]*Client)
	}
	o := p.Options.withDefaults()
	s := &Client{opts: o, lazy: &lazyClient{endpoint: endpoint, cfg: &p.cfg, conns: o.Concurrency}}
	p.clients[endpoint] = s
	return s
}

// configLoader loads the default AWS configuration once. A failed load is
// not cached: the next call tries again.
type configLoader struct {
	mu     sync.Mutex
	loaded bool
	cfg    aws.Config
}

func (l *configLoader) load(ctx context.Context) (aws.Config, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.loaded {
		return l.cfg, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("sender: load AWS config: %w", err)
	}
	l.cfg, l.loaded = cfg, true
	return cfg, nil
}

// lazyClient builds the SDK client for one endpoint on first use.
type lazyClient struct {
	endpoint string
	cfg      *configLoader
	conns    int // idle connections to keep per host (the broadcast concurrency)

	mu     sync.Mutex
	client *apigatewaymanagementapi.Client
}

func (l *lazyClient) get(ctx context.Context) (API, error) {
	if l.endpoint == "" {
		return nil, errors.New("sender: no management API endpoint (set WEBSOCKET_API_GATEWAY_ENDPOINT or pass one)")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.client != nil {
		return l.client, nil
	}
	cfg, err := l.cfg.load(ctx)
	if err != nil {
		return nil, err
	}
	l.client = apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(l.endpoint)
		o.Retryer = aws.NopRetryer{}
		o.RetryMaxAttempts = 0
		// The emulator (plain HTTP on a loopback host) checks no signature:
		// sign nothing, so that a laptop without AWS credentials works and
		// no IMDS lookup delays the first send.
		if emulator(l.endpoint) {
			o.Credentials = aws.AnonymousCredentials{}
		}
		// The SDK keeps 10 idle connections per host by default; a broadcast
		// with more sends in flight would reconnect (and redo TLS) constantly.
		if bc, ok := o.HTTPClient.(*awshttp.BuildableClient); ok {
			o.HTTPClient = bc.WithTransportOptions(func(t *http.Transport) {
				t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, l.conns)
				t.MaxIdleConns = max(t.MaxIdleConns, l.conns)
			})
		}
	})
	return l.client, nil
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
