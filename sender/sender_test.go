package sender_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/aws/smithy-go"

	"github.com/lambdaws/lambdaws/internal/apigw"
	"github.com/lambdaws/lambdaws/sender"
)

func TestResolveEndpoint(t *testing.T) {
	custom := events.APIGatewayWebsocketProxyRequestContext{DomainName: "ws.example.com", Stage: "prod", APIID: "abc123"}
	tests := []struct {
		name string
		env  map[string]string
		rc   events.APIGatewayWebsocketProxyRequestContext
		want string
	}{
		{"env override", map[string]string{"WEBSOCKET_API_GATEWAY_ENDPOINT": "https://gw.example.com/live/", "AWS_REGION": "eu-west-1"}, custom, "https://gw.example.com/live"},
		{"localhost", map[string]string{"AWS_REGION": "eu-west-1"}, events.APIGatewayWebsocketProxyRequestContext{DomainName: "localhost", Stage: "local", APIID: "private"}, "http://localhost/local"},
		{"127.0.0.1 with port", map[string]string{"AWS_REGION": "eu-west-1"}, events.APIGatewayWebsocketProxyRequestContext{DomainName: "127.0.0.1:3001", Stage: "dev", APIID: "x"}, "http://127.0.0.1:3001/dev"},
		{"[::1]", nil, events.APIGatewayWebsocketProxyRequestContext{DomainName: "[::1]", Stage: "dev"}, "http://[::1]/dev"},
		{"[::1] with port", nil, events.APIGatewayWebsocketProxyRequestContext{DomainName: "[::1]:8080", Stage: "dev"}, "http://[::1]:8080/dev"},
		{"a host with a port is not the emulator", map[string]string{"AWS_REGION": "eu-west-1"}, events.APIGatewayWebsocketProxyRequestContext{DomainName: "emulator.internal:9000", Stage: "s", APIID: "x"}, "https://x.execute-api.eu-west-1.amazonaws.com/s"},
		{"a LAN address with a port is not the emulator", nil, events.APIGatewayWebsocketProxyRequestContext{DomainName: "192.168.1.5:8080", Stage: "s"}, "https://192.168.1.5:8080/s"},
		{"*.localhost", nil, events.APIGatewayWebsocketProxyRequestContext{DomainName: "gw.localhost:8080", Stage: "s"}, "http://gw.localhost:8080/s"},
		{"custom domain uses execute-api", map[string]string{"AWS_REGION": "eu-west-1"}, custom, "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"},
		{"AWS_DEFAULT_REGION fallback", map[string]string{"AWS_DEFAULT_REGION": "us-east-2"}, custom, "https://abc123.execute-api.us-east-2.amazonaws.com/prod"},
		{"China region", map[string]string{"AWS_REGION": "cn-north-1"}, custom, "https://abc123.execute-api.cn-north-1.amazonaws.com.cn/prod"},
		{"no region uses domainName", nil, custom, "https://ws.example.com/prod"},
		{"no apiId uses domainName", map[string]string{"AWS_REGION": "eu-west-1"}, events.APIGatewayWebsocketProxyRequestContext{DomainName: "ws.example.com", Stage: "prod"}, "https://ws.example.com/prod"},
		{"empty stage", nil, events.APIGatewayWebsocketProxyRequestContext{DomainName: "ws.example.com"}, "https://ws.example.com"},
		{"slash before .localhost", nil, events.APIGatewayWebsocketProxyRequestContext{DomainName: "evil.example/x.localhost", Stage: "s"}, ""},
		{"query before .localhost", nil, events.APIGatewayWebsocketProxyRequestContext{DomainName: "evil.example?.localhost", Stage: "s"}, ""},
		{"space before .localhost", nil, events.APIGatewayWebsocketProxyRequestContext{DomainName: " .localhost", Stage: "s"}, ""},
		{"user info", nil, events.APIGatewayWebsocketProxyRequestContext{DomainName: "[::1]@evil.example", Stage: "s"}, ""},
		{"invalid domainName falls back to execute-api", map[string]string{"AWS_REGION": "eu-west-1"}, events.APIGatewayWebsocketProxyRequestContext{DomainName: "evil.example/x.localhost", Stage: "s", APIID: "x"}, "https://x.execute-api.eu-west-1.amazonaws.com/s"},
		{"invalid apiId uses domainName", map[string]string{"AWS_REGION": "eu-west-1"}, events.APIGatewayWebsocketProxyRequestContext{DomainName: "ws.example.com", Stage: "s", APIID: "x@evil.example#"}, "https://ws.example.com/s"},
		{"port 0", nil, events.APIGatewayWebsocketProxyRequestContext{DomainName: "localhost:0", Stage: "s"}, ""},
		{"nothing", map[string]string{"AWS_REGION": "eu-west-1"}, events.APIGatewayWebsocketProxyRequestContext{Stage: "prod"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"WEBSOCKET_API_GATEWAY_ENDPOINT", "AWS_REGION", "AWS_DEFAULT_REGION"} {
				t.Setenv(k, tt.env[k])
			}
			if got := sender.ResolveEndpoint(tt.rc); got != tt.want {
				t.Errorf("ResolveEndpoint(%+v) = %q, want %q", tt.rc, got, tt.want)
			}
		})
	}
}

// FuzzResolveEndpoint: any event yields "" or a URL that parses, whose host
// is the one the event named (domainName, or the execute-api name built from
// apiId and the region) and whose scheme is http only for a loopback host.
// The environment is passed as a function: the fuzzer's strings may hold NUL
// bytes, which t.Setenv refuses (the seed with a NUL made the harness itself
// fail).
func FuzzResolveEndpoint(f *testing.F) {
	f.Add("localhost:3001", "dev", "abc", "eu-west-1")
	f.Add("[::1", "/", "", "cn-")
	f.Add("a:b:c", "", "x", "")
	f.Add("ws.example.com", "prod", "abc", "eu\x00west-1")
	f.Add("127.0.0.1.nip.io:8080", "dev", "", "")
	// Issue 18: http for anything ending in .localhost, unparsable URLs.
	f.Add("evil.example/x.localhost", "s", "", "")
	f.Add("evil.example?.localhost", "s", "", "")
	f.Add(" .localhost", "s", "", "")
	f.Add("[::1]@evil.example", "s", "", "")
	f.Add("evil.example#.localhost:80", "s", "a/b", "eu-west-1")
	f.Add("[::ffff:127.0.0.1]:0", "s", "x", "us-east-1?")
	f.Fuzz(func(t *testing.T, domain, stage, apiID, region string) {
		env := func(k string) string {
			if k == "AWS_REGION" {
				return region
			}
			return ""
		}
		got := sender.ResolveEndpointWith(events.APIGatewayWebsocketProxyRequestContext{DomainName: domain, Stage: stage, APIID: apiID}, env)
		if got == "" {
			return
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("endpoint %q does not parse: %v", got, err)
		}
		if _, err := http.NewRequest(http.MethodPost, got+"/@connections/c1", nil); err != nil {
			t.Fatalf("endpoint %q: no request can be made to it: %v", got, err)
		}
		apiHost := apiID + ".execute-api." + region + ".amazonaws.com"
		if strings.HasPrefix(region, "cn-") {
			apiHost += ".cn"
		}
		switch {
		case u.Scheme == "http" && u.Host == domain:
			ip := net.ParseIP(u.Hostname())
			if h := strings.ToLower(u.Hostname()); h != "localhost" && !strings.HasSuffix(h, ".localhost") && (ip == nil || !ip.IsLoopback()) {
				t.Errorf("plain-HTTP endpoint %q for domainName %q is not a loopback host", got, domain)
			}
		case u.Scheme == "https" && (u.Host == domain || u.Host == apiHost):
		default:
			t.Errorf("endpoint %q (scheme %q, host %q) for domainName %q, apiId %q, region %q", got, u.Scheme, u.Host, domain, apiID, region)
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
			t.Errorf("endpoint %q has user info, a query, a fragment or an opaque part", got)
		}
	})
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"bytes raw", []byte{0xff, 0x00, 'a'}, "\xff\x00a"},
		{"string", "héllo", "héllo"},
		{"raw JSON as is", json.RawMessage(`{"a" : 1}`), `{"a" : 1}`},
		{"struct as JSON", struct {
			Action string `json:"action"`
		}{"hi"}, `{"action":"hi"}`},
		{"map as JSON", map[string]int{"n": 1}, `{"n":1}`},
		{"number as JSON", 42, `42`},
		{"nil as JSON", nil, `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sender.Encode(tt.in)
			if err != nil || string(got) != tt.want {
				t.Errorf("Encode(%v) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	t.Run("unencodable", func(t *testing.T) {
		_, err := sender.Encode(make(chan int))
		if err == nil || !strings.HasPrefix(err.Error(), "sender: ") {
			t.Errorf("Encode(chan) error = %v, want a sender: error", err)
		}
	})
}

func TestTypedErrors(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		want   error
		status int
	}{
		{"GoneException", sdkError("PostToConnection", 410, &types.GoneException{}), sender.ErrGone, 410},
		{"LimitExceededException", sdkError("PostToConnection", 429, &types.LimitExceededException{}), sender.ErrThrottled, 429},
		{"PayloadTooLargeException", sdkError("PostToConnection", 413, &types.PayloadTooLargeException{Message: aws.String("too big")}), sender.ErrTooLarge, 413},
		{"ForbiddenException", sdkError("PostToConnection", 403, &types.ForbiddenException{}), sender.ErrForbidden, 403},
		{"generic 410", statusError(410), sender.ErrGone, 410},
		{"generic 429", statusError(429), sender.ErrThrottled, 429},
		{"generic 413", statusError(413), sender.ErrTooLarge, 413},
		{"generic 403", statusError(403), sender.ErrForbidden, 403},
		{"code without status", &smithy.GenericAPIError{Code: "GoneException"}, sender.ErrGone, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := newFake(func(string, string, int) error { return tt.err })
			s := sender.New(fc, &sender.Options{MaxAttempts: 1})
			ctx := context.Background()
			_, infoErr := s.Info(ctx, "c=1")
			for op, err := range map[string]error{"send": s.Send(ctx, "c=1", []byte("x")), "close": s.Close(ctx, "c=1"), "info": infoErr} {
				if !errors.Is(err, tt.want) {
					t.Fatalf("%s: errors.Is(%v, %v) = false", op, err, tt.want)
				}
				if !errors.Is(err, tt.err) {
					t.Errorf("%s: the SDK error is not in the chain of %v", op, err)
				}
				var se *sender.Error
				if !errors.As(err, &se) || se.Op != op || se.ConnectionID != "c=1" || se.StatusCode != tt.status {
					t.Errorf("%s: got %#v, want *sender.Error{Op: %q, ConnectionID: \"c=1\", StatusCode: %d}", op, se, op, tt.status)
				}
				if msg := err.Error(); !strings.HasPrefix(msg, "sender: "+op+` "c=1": `) {
					t.Errorf("%s: message %q lacks the operation and connection id", op, msg)
				}
			}
		})
	}
}

func TestSendTooLargeBeforeNetwork(t *testing.T) {
	fc := newFake(nil)
	s := sender.New(fc, nil)
	err := s.Send(context.Background(), "c1", make([]byte, 131073))
	if !errors.Is(err, sender.ErrTooLarge) {
		t.Fatalf("Send(131073 bytes) = %v, want ErrTooLarge", err)
	}
	if fc.total != 0 {
		t.Errorf("client called %d times, want 0", fc.total)
	}
	if err := s.Send(context.Background(), "c1", make([]byte, 131072)); err != nil {
		t.Errorf("Send(131072 bytes) = %v, want nil", err)
	}
}

func TestRetry(t *testing.T) {
	tests := []struct {
		name      string
		respond   func(attempt int) error
		wantErr   error
		wantCalls int
	}{
		{"429 then success", func(a int) error {
			if a == 1 {
				return sdkError("PostToConnection", 429, &types.LimitExceededException{})
			}
			return nil
		}, nil, 2},
		{"503 then success", func(a int) error {
			if a < 3 {
				return statusError(503)
			}
			return nil
		}, nil, 3},
		{"500s exhausted", func(int) error { return statusError(500) }, nil, 4},
		{"429s exhausted", func(int) error { return statusError(429) }, sender.ErrThrottled, 4},
		{"410 not retried", func(int) error { return sdkError("PostToConnection", 410, &types.GoneException{}) }, sender.ErrGone, 1},
		{"403 not retried", func(int) error { return statusError(403) }, sender.ErrForbidden, 1},
		{"413 not retried", func(int) error { return statusError(413) }, sender.ErrTooLarge, 1},
		{"400 not retried", func(int) error { return statusError(400) }, nil, 1},
		{"999 not retried", func(int) error { return statusError(999) }, nil, 1},
		{"599 retried", func(int) error { return statusError(599) }, nil, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fc := newFake(func(_, _ string, a int) error { return tt.respond(a) })
			s := sender.New(fc, &sender.Options{MaxAttempts: 4, BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond})
			err := s.Send(context.Background(), "c1", []byte("hi"))
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if wantNil := tt.respond(tt.wantCalls) == nil; wantNil != (err == nil) {
				t.Errorf("err = %v after %d calls", err, fc.total)
			}
			if fc.total != tt.wantCalls {
				t.Errorf("calls = %d, want %d", fc.total, tt.wantCalls)
			}
		})
	}

	t.Run("ctx deadline stops retrying", func(t *testing.T) {
		fc := newFake(func(string, string, int) error { return statusError(503) })
		s := sender.New(fc, &sender.Options{MaxAttempts: 1000, BackoffBase: 20 * time.Millisecond, BackoffMax: 40 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := s.Send(ctx, "c1", []byte("hi"))
		if elapsed := time.Since(start); elapsed > time.Second {
			t.Errorf("Send took %v past a 100ms deadline", elapsed)
		}
		var se *sender.Error
		if !errors.As(err, &se) || se.StatusCode != 503 {
			t.Errorf("err = %v, want the last 503", err)
		}
		if fc.total >= 1000 || fc.total < 1 {
			t.Errorf("calls = %d", fc.total)
		}
	})

	t.Run("delay longer than deadline not attempted", func(t *testing.T) {
		fc := newFake(func(string, string, int) error { return statusError(429) })
		s := sender.New(fc, &sender.Options{MaxAttempts: 5, BackoffBase: time.Hour, BackoffMax: time.Hour})
		sender.SetJitter(s, func(ceil time.Duration) time.Duration { return ceil })
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err := s.Send(ctx, "c1", nil)
		// The deadline is why it gave up (issue 18): it is in the chain,
		// with the last answer.
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, sender.ErrThrottled) {
			t.Errorf("err = %v, want context.DeadlineExceeded and ErrThrottled", err)
		}
		var se *sender.Error
		if !errors.As(err, &se) || se.StatusCode != 429 {
			t.Errorf("err = %#v, want StatusCode 429", err)
		}
		if fc.total != 1 {
			t.Errorf("calls = %d, want 1 (the next delay is past the deadline)", fc.total)
		}
	})

	t.Run("canceled ctx", func(t *testing.T) {
		fc := newFake(nil)
		s := sender.New(fc, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.Send(ctx, "c1", nil); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}

func TestInfo(t *testing.T) {
	s := sender.New(newFake(nil), nil)
	got, err := s.Info(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	want := sender.Info{
		ConnectedAt:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		LastActiveAt: time.Date(2026, 1, 2, 3, 9, 0, 0, time.UTC),
		SourceIP:     "203.0.113.7",
		UserAgent:    "test-agent",
	}
	if *got != want {
		t.Errorf("Info = %+v, want %+v", *got, want)
	}
}

func TestNoEndpoint(t *testing.T) {
	s := sender.NewForEndpoint("", nil)
	if err := s.Send(context.Background(), "c1", nil); err == nil || !strings.HasPrefix(err.Error(), "sender: ") {
		t.Errorf("Send with no endpoint = %v, want a sender: error", err)
	}
}

func TestLogsNoBodies(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	fc := newFake(func(_, _ string, attempt int) error {
		if attempt == 1 {
			return statusError(503)
		}
		return nil
	})
	s := sender.New(fc, &sender.Options{Logger: logger, BackoffBase: time.Millisecond})
	body := []byte("TOP-SECRET-BODY")
	if err := s.Send(context.Background(), "c1", body); err != nil {
		t.Fatal(err)
	}
	seq := func(yield func(string, error) bool) { yield("c2", nil) }
	if _, err := s.Broadcast(context.Background(), seq, body, nil); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "sender: retrying") || !strings.Contains(out, "c1") {
		t.Errorf("retry not logged: %s", out)
	}
	if strings.Contains(out, string(body)) {
		t.Errorf("message body logged: %s", out)
	}
}

func TestBroadcastTooLargeMessage(t *testing.T) {
	_, err := sender.New(newFake(nil), nil).Broadcast(context.Background(), nil, make([]byte, 131073), nil)
	if err == nil || err.Error() != "sender: broadcast: payload too large" {
		t.Errorf("err = %v", err)
	}
}

// TestInvalidID: ids that cannot name a connection fail before the network
// with ErrInvalidID, in Send, Close and Info alike; real ids (API Gateway's,
// the local emulator's, UUIDs) pass. "." and ".." address another path once
// normalised, "?" and "#" end a path where they are not escaped (issue
// 24.10).
func TestInvalidID(t *testing.T) {
	for _, id := range []string{"L0SM9cOFvHcCIhw=", "Lb9A4dZ+oAMCJUA=", apigw.NewID(), "3f1c6a2e-8b0d-4e7a-9c55-0d2b7e4f9a11", "conn-1=", "c_1", strings.Repeat("x", 128)} {
		if !sender.ValidID(id) {
			t.Errorf("ValidID(%q) = false", id)
		}
	}
	fc := newFake(nil)
	s := sender.New(fc, nil)
	ctx := context.Background()
	for _, id := range []string{"", "a/b", "/", "c\x00", "sp ace", "\x7f", "é", "line\n", strings.Repeat("x", 129),
		".", "..", "a?b", "a#b", "%41", "a.b", `a\b`, "a:b", "a;b", "a&b", "*"} {
		if sender.ValidID(id) {
			t.Errorf("ValidID(%q) = true", id)
		}
		_, infoErr := s.Info(ctx, id)
		for op, err := range map[string]error{"send": s.Send(ctx, id, []byte("x")), "close": s.Close(ctx, id), "info": infoErr} {
			var se *sender.Error
			if !errors.Is(err, sender.ErrInvalidID) || !errors.As(err, &se) || se.Op != op || se.ConnectionID != id {
				t.Errorf("%s(%q) = %v, want a *sender.Error for %q matching ErrInvalidID", op, id, err, id)
			}
		}
	}
	if fc.total != 0 {
		t.Errorf("%d calls made for invalid ids, want 0", fc.total)
	}
}

// TestBroadcastInvalidID: an invalid id among a broadcast's ids fails that id
// only. API Gateway answers a POST to @connections/ (an empty id) with 403,
// which stopped the whole broadcast as a missing permission (issue 18).
func TestBroadcastInvalidID(t *testing.T) {
	fc := newFake(func(_, id string, _ int) error {
		if !sender.ValidID(id) {
			return statusError(403)
		}
		return nil
	})
	s := sender.New(fc, &sender.Options{Concurrency: 4})
	seq := func(yield func(string, error) bool) {
		for i := range 100 {
			id := fmt.Sprint("c", i)
			switch i {
			case 1:
				id = ""
			case 2:
				id = "a/b"
			}
			if !yield(id, nil) {
				return
			}
		}
	}
	res, err := s.Broadcast(context.Background(), seq, []byte("x"), nil)
	if err != nil || res.Sent != 98 || res.Failed != 2 || res.NotAttempted != 0 {
		t.Fatalf("Broadcast = %+v, %v; want 98 sent, 2 failed, nil", res, err)
	}
	for _, f := range res.Failures {
		if !errors.Is(f.Err, sender.ErrInvalidID) {
			t.Errorf("failure %q: %v, want ErrInvalidID", f.ID, f.Err)
		}
	}
	if n := fc.callsFor("post", "") + fc.callsFor("post", "a/b"); n != 0 {
		t.Errorf("%d calls for the invalid ids, want 0", n)
	}
}

// TestErrorScheme: errors from a plain-HTTP endpoint do not say "https".
func TestErrorScheme(t *testing.T) {
	api := newMgmtAPI(t, "local", 0)
	s := sender.NewForEndpoint(api.endpoint(), &sender.Options{MaxAttempts: 1})
	err := s.Send(context.Background(), "gone1", []byte("x"))
	if !errors.Is(err, sender.ErrGone) || strings.Contains(err.Error(), "https") {
		t.Errorf("err = %v, want ErrGone without \"https\"", err)
	}
	api.Close()
	err = s.Send(context.Background(), "c1", []byte("x"))
	if err == nil || strings.Contains(err.Error(), "https") {
		t.Errorf("err = %v, want a failure without \"https\"", err)
	}
}
