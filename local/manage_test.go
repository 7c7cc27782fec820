package local_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/coder/websocket"

	"github.com/lambdaws/lambdaws/local"
)

// client returns the real management API client pointed at endpoint
// ("http://host/stage").
func client(endpoint string) *apigatewaymanagementapi.Client {
	return apigatewaymanagementapi.NewFromConfig(aws.Config{
		Region: "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local"}, nil
		}),
	}, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}

// endpoint is how a handler finds the management API from its event.
func endpoint(ev event) string {
	return "http://" + ev.RequestContext.DomainName + "/" + ev.RequestContext.Stage
}

func TestManagementAPI(t *testing.T) {
	h := start(t, nil, nil)
	api := client(h.srv.URL + "/local")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c := h.dial("", &websocket.DialOptions{HTTPHeader: http.Header{"User-Agent": {"agent/1"}}})
	c.SetReadLimit(1 << 20) // browsers have no limit; coder/websocket defaults to 32 KB
	connect := h.next()
	id := aws.String(connect.RequestContext.ConnectionID)

	t.Run("PostToConnection", func(t *testing.T) {
		for _, data := range []string{"hello", `{"a":1}`, strings.Repeat("x", 131072)} {
			if _, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: id, Data: []byte(data)}); err != nil {
				t.Fatalf("PostToConnection: %v", err)
			}
			if got := read(t, c); got != data {
				t.Errorf("client got %d bytes %.20q, want %.20q", len(got), got, data)
			}
		}
	})
	t.Run("PayloadTooLarge", func(t *testing.T) {
		_, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: id, Data: make([]byte, 131073)})
		var tooLarge *types.PayloadTooLargeException
		if !errors.As(err, &tooLarge) {
			t.Errorf("PostToConnection of 131073 bytes: %v, want PayloadTooLargeException", err)
		}
	})
	t.Run("GetConnection", func(t *testing.T) {
		time.Sleep(5 * time.Millisecond)
		write(t, c, "activity")
		h.nextOf("MESSAGE")
		out, err := api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: id})
		if err != nil {
			t.Fatalf("GetConnection: %v", err)
		}
		if got := out.ConnectedAt.UnixMilli(); got != connect.RequestContext.ConnectedAt {
			t.Errorf("connectedAt %v (%d ms), want %d ms", out.ConnectedAt, got, connect.RequestContext.ConnectedAt)
		}
		if !out.LastActiveAt.After(*out.ConnectedAt) || time.Since(*out.LastActiveAt) > time.Minute {
			t.Errorf("lastActiveAt %v, connectedAt %v", out.LastActiveAt, out.ConnectedAt)
		}
		if out.ConnectedAt.Location() != time.UTC {
			t.Errorf("connectedAt in %v", out.ConnectedAt.Location())
		}
		if *out.Identity.SourceIp != "127.0.0.1" || *out.Identity.UserAgent != "agent/1" {
			t.Errorf("identity %q %q", *out.Identity.SourceIp, *out.Identity.UserAgent)
		}
	})
	t.Run("DeleteConnection", func(t *testing.T) {
		if _, err := api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: id}); err != nil {
			t.Fatalf("DeleteConnection: %v", err)
		}
		if ce := readClose(t, c); ce.Code != websocket.StatusNormalClosure {
			t.Errorf("client saw %v, want 1000", ce)
		}
		rc := h.nextOf("DISCONNECT").RequestContext
		if rc.ConnectionID != *id || rc.DisconnectStatusCode != 1000 {
			t.Errorf("$disconnect for %s code %d", rc.ConnectionID, rc.DisconnectStatusCode)
		}
	})
	t.Run("Gone after close", func(t *testing.T) {
		var gone *types.GoneException
		_, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: id, Data: []byte("x")})
		if !errors.As(err, &gone) {
			t.Errorf("PostToConnection: %v, want GoneException", err)
		}
		_, err = api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: id})
		if !errors.As(err, &gone) {
			t.Errorf("GetConnection: %v, want GoneException", err)
		}
		_, err = api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: id})
		if !errors.As(err, &gone) {
			t.Errorf("DeleteConnection: %v, want GoneException", err)
		}
		_, err = api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String("never/existed="), Data: []byte("x")})
		if !errors.As(err, &gone) {
			t.Errorf("PostToConnection to an unknown id: %v, want GoneException", err)
		}
	})
	t.Run("wrong stage", func(t *testing.T) {
		_, err := client(h.srv.URL+"/prod").GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: id})
		var forbidden *types.ForbiddenException
		if !errors.As(err, &forbidden) {
			t.Errorf("GetConnection on another stage: %v, want ForbiddenException", err)
		}
	})
}

// TestPostDuringConnect posts from inside $connect, where AWS answers 410.
func TestPostDuringConnect(t *testing.T) {
	errc := make(chan error, 1)
	h := start(t, nil, func(ctx context.Context, ev event) (response, error) {
		if ev.RequestContext.EventType == "CONNECT" {
			_, err := client(endpoint(ev)).PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
				ConnectionId: aws.String(ev.RequestContext.ConnectionID), Data: []byte("too early")})
			errc <- err
		}
		return response{StatusCode: 200}, nil
	})
	h.dial("", nil)
	var gone *types.GoneException
	if err := <-errc; !errors.As(err, &gone) {
		t.Errorf("PostToConnection during $connect: %v, want GoneException", err)
	}
}

// TestManagementRaw checks the wire format: escapes, headers and bodies.
func TestManagementRaw(t *testing.T) {
	h := start(t, nil, nil)
	c := h.dial("", nil)
	id := h.next().RequestContext.ConnectionID
	for _, path := range []string{
		"/local/@connections/" + id,
		"/local/%40connections/" + url.PathEscape(id),
		"/local/%40connections/" + strings.ReplaceAll(id, "=", "%3D"),
		"/%6cocal/@connections/" + strings.ReplaceAll(id, "=", "%3d"),
	} {
		resp, err := http.Post(h.srv.URL+path, "application/octet-stream", strings.NewReader(path))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("POST %s: %d", path, resp.StatusCode)
			continue
		}
		if got := read(t, c); got != path {
			t.Errorf("client got %q", got)
		}
	}
	for _, tt := range []struct {
		method, path string
		status       int
		typ, body    string
	}{
		{"POST", "/local/@connections/" + id + "x", 410, "GoneException", `{"__type":"GoneException","message":`},
		{"PUT", "/local/@connections/" + id, 403, "ForbiddenException", `{"__type":"ForbiddenException","message":`},
		{"GET", "/local/@connections/" + id + "/extra", 403, "ForbiddenException", `{"__type":"ForbiddenException"`},
	} {
		req, _ := http.NewRequest(tt.method, h.srv.URL+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || resp.Header.Get("X-Amzn-ErrorType") != tt.typ ||
			resp.Header.Get("Content-Type") != "application/json" || !strings.HasPrefix(string(b), tt.body) {
			t.Errorf("%s %s: %d %q %q", tt.method, tt.path, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b)
		}
	}
	resp, err := http.Get(h.srv.URL + "/local/@connections/" + id)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/json" ||
		!regexpMatch(`^\{"connectedAt":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","identity":\{"sourceIp":"127.0.0.1","userAgent":"[^"]*"\},"lastActiveAt":"[^"]+Z"\}\n$`, string(b)) {
		t.Errorf("GET: %s %q", resp.Header.Get("Content-Type"), b)
	}
}

// TestSlowClient checks that a client that does not read cannot block the
// management API: once its queue is full, PostToConnection answers 429.
func TestSlowClient(t *testing.T) {
	h := start(t, nil, nil)
	c := h.dial("", nil)
	id := h.next().RequestContext.ConnectionID
	api := client(h.srv.URL + "/local")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	data := make([]byte, 128<<10)
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		_, err = api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: &id, Data: data},
			func(o *apigatewaymanagementapi.Options) { o.RetryMaxAttempts = 1 })
	}
	var limit *types.LimitExceededException
	if !errors.As(err, &limit) {
		t.Fatalf("PostToConnection to a client that does not read: %v, want LimitExceededException", err)
	}
	c.CloseNow()
}

// TestConcurrentClients echoes every message back through the management API
// and checks that each client gets its own messages, each once. Messages of
// one connection run concurrently, as on AWS, so their order is not kept.
func TestConcurrentClients(t *testing.T) {
	const clients, messages = 50, 20
	var once sync.Once
	var api *apigatewaymanagementapi.Client // one client, as a Lambda keeps it between invocations
	h := start(t, nil, func(ctx context.Context, ev event) (response, error) {
		once.Do(func() { api = client(endpoint(ev)) })
		if ev.RequestContext.EventType == "MESSAGE" {
			_, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
				ConnectionId: aws.String(ev.RequestContext.ConnectionID), Data: []byte(ev.Body)})
			if err != nil {
				return response{}, err
			}
		}
		return response{StatusCode: 200}, nil
	})
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(ctx, h.url(), nil)
			if err != nil {
				errs <- err
				return
			}
			defer c.CloseNow()
			go func() {
				for j := range messages {
					c.Write(ctx, websocket.MessageText, fmt.Appendf(nil, "%d-%d", i, j))
				}
			}()
			want := make(map[string]bool, messages)
			for j := range messages {
				want[fmt.Sprintf("%d-%d", i, j)] = true
			}
			for j := range messages {
				_, b, err := c.Read(ctx)
				if err != nil {
					errs <- fmt.Errorf("client %d, message %d: %w", i, j, err)
					return
				}
				if !want[string(b)] {
					errs <- fmt.Errorf("client %d got %q: not its own, or twice", i, b)
					return
				}
				delete(want, string(b))
			}
			readCtx, cancelRead := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancelRead()
			if _, b, err := c.Read(readCtx); err == nil {
				errs <- fmt.Errorf("client %d got an extra message %q", i, b)
				return
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	h.g.Close()
	checkNoLeaks(t)
}

// TestFaultRate: with Options.FaultRate, that share of management API calls
// fails as AWS fails them (429 LimitExceededException or 500, type in the
// header and the body) and does nothing; the others go through.
func TestFaultRate(t *testing.T) {
	h := start(t, &local.Options{FaultRate: 0.5}, nil)
	c := h.dial("", nil)
	id := h.next().RequestContext.ConnectionID
	statuses := map[int]int{}
	for i := range 200 {
		body := fmt.Sprint("m", i)
		resp, err := http.Post(h.srv.URL+"/local/@connections/"+id, "application/octet-stream", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		statuses[resp.StatusCode]++
		switch resp.StatusCode {
		case 200:
			if got := read(t, c); got != body {
				t.Fatalf("client read %q, want %q", got, body)
			}
		case 429, 500:
			typ := map[int]string{429: "LimitExceededException", 500: "InternalServerErrorException"}[resp.StatusCode]
			if resp.Header.Get("X-Amzn-ErrorType") != typ || !strings.HasPrefix(string(b), `{"__type":"`+typ+`"`) {
				t.Errorf("fault %d: X-Amzn-ErrorType %q, body %q", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b)
			}
		default:
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
	}
	// 200 calls at 50 %: each count is far from 0 (binomial, p < 1e-20).
	if statuses[200] < 50 || statuses[429] < 20 || statuses[500] < 20 {
		t.Errorf("statuses %v, want about 100 × 200 and 50 each of 429 and 500", statuses)
	}
	// The faulted posts were not delivered: the next message is the marker.
	if resp, err := http.Post(h.srv.URL+"/local/@connections/"+id, "", strings.NewReader("marker")); err == nil && resp.StatusCode == 200 {
		resp.Body.Close()
		if got := read(t, c); got != "marker" {
			t.Errorf("client read %q after the faults, want the marker", got)
		}
	}

	defer func() {
		if recover() == nil {
			t.Errorf("New with FaultRate 1.5 did not panic")
		}
	}()
	local.New(nil, &local.Options{FaultRate: 1.5})
}
