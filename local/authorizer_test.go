package local_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/local"
	"github.com/lambdaws/lambdaws/local/lambdaenv"
)

func policy(effect, resource string, context map[string]any) events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: "user-1",
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{
			{Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{resource}},
		}},
		Context: context,
	}
}

// statements returns an authorizer response with a policy of the given
// statements, in JSON.
func statements(sts ...string) string {
	return `{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[` + strings.Join(sts, ",") + `]}}`
}

func TestAuthorizer(t *testing.T) {
	allowAll := policy("Allow", "arn:aws:execute-api:*:*:*/*/*", nil)
	tests := []struct {
		name    string
		query   string
		header  http.Header
		out     any // the authorizer's output; an error is returned as such
		raw     string
		status  int // 0: accepted
		invoked bool
	}{
		{name: "identity source missing", query: "?token=", out: allowAll, status: 401},
		{name: "header source missing", query: "?token=t", out: allowAll, status: 401},
		{name: "Unauthorized", out: errors.New("Unauthorized"), status: 401, invoked: true},
		{name: "other error", out: errors.New("boom"), status: 500, invoked: true},
		{name: "Deny", out: policy("Deny", "*", nil), status: 403, invoked: true},
		{name: "Allow elsewhere", out: policy("Allow", "arn:aws:execute-api:us-east-1:123456789012:other/local/$connect", nil), status: 403, invoked: true},
		{name: "Allow and Deny", raw: `{"principalId":"u","policyDocument":{"Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"},{"Action":"*","Effect":"Deny","Resource":"*"}]}}`, status: 403, invoked: true},
		{name: "over 8 KB", out: policy("Allow", "*", map[string]any{"big": strings.Repeat("x", 8<<10)}), status: 500, invoked: true},
		{name: "context with an object", out: policy("Allow", "*", map[string]any{"o": map[string]any{}}), status: 500, invoked: true},
		{name: "not JSON", raw: `{`, status: 500, invoked: true},
		{name: "Allow", out: allowAll, invoked: true},
		{name: "Allow, action in another case", raw: `{"principalId":"u","policyDocument":{"Statement":[{"Action":"Execute-API:invoke","Effect":"Allow","Resource":"*"}]}}`, invoked: true},
		{name: "Allow, single strings", raw: `{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":{"Action":"execute-api:*","Effect":"Allow","Resource":"*"}}}`, invoked: true},
		// IAM's elements: an explicit Deny wins; NotAction and NotResource
		// apply to everything they do not list; only * and ? are wildcards.
		{name: "Deny with NotResource", raw: statements(`{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}`,
			`{"Effect":"Deny","Action":"execute-api:Invoke","NotResource":"arn:aws:execute-api:*:*:*/other/*"}`), status: 403, invoked: true},
		{name: "Deny with NotAction", raw: statements(`{"Effect":"Allow","Action":"*","Resource":"*"}`,
			`{"Effect":"Deny","NotAction":"execute-api:ManageConnections","Resource":"*"}`), status: 403, invoked: true},
		{name: "Deny with NotResource elsewhere", raw: statements(`{"Effect":"Allow","Action":"*","Resource":"*"}`,
			`{"Effect":"Deny","Action":"*","NotResource":"arn:aws:execute-api:*:*:*/local/$connect"}`), invoked: true},
		{name: "Allow with NotAction", raw: statements(`{"Effect":"Allow","NotAction":"execute-api:ManageConnections","Resource":"*"}`), invoked: true},
		{name: "Allow with NotAction Invoke", raw: statements(`{"Effect":"Allow","NotAction":"execute-api:invoke","Resource":"*"}`), status: 403, invoked: true},
		{name: "Allow with NotResource", raw: statements(`{"Effect":"Allow","Action":"execute-api:Invoke","NotResource":"arn:aws:execute-api:*:*:*/prod/*"}`), invoked: true},
		{name: "[ is not a character class", raw: statements(`{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/[a-z]*/*"}`), status: 403, invoked: true},
		{name: "? is one character", raw: statements(`{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/loca?/$connect"}`), invoked: true},
		{name: "? is not two", raw: statements(`{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/loc?/$connect"}`), status: 403, invoked: true},
		{name: "* spans slashes", raw: statements(`{"Effect":"Allow","Action":"execute-api:*","Resource":"arn:aws:execute-api:*"}`), invoked: true},
		// What the emulator cannot evaluate is refused, never skipped.
		{name: "Condition", raw: statements(`{"Effect":"Allow","Action":"*","Resource":"*"}`,
			`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`), status: 500, invoked: true},
		{name: "effect in lower case", raw: statements(`{"Effect":"Allow","Action":"*","Resource":"*"}`, `{"effect":"Deny","Action":"*","Resource":"*"}`), status: 500, invoked: true},
		{name: "Effect unknown", raw: statements(`{"Effect":"deny","Action":"*","Resource":"*"}`), status: 500, invoked: true},
		{name: "Action and NotAction", raw: statements(`{"Effect":"Deny","Action":"*","NotAction":"x:y","Resource":"*"}`), status: 500, invoked: true},
		{name: "no Resource", raw: statements(`{"Effect":"Deny","Action":"*"}`, `{"Effect":"Allow","Action":"*","Resource":"*"}`), status: 500, invoked: true},
		{name: "empty Resource", raw: statements(`{"Effect":"Deny","Action":"*","Resource":[]}`, `{"Effect":"Allow","Action":"*","Resource":"*"}`), status: 500, invoked: true},
		{name: "policy variable", raw: statements(`{"Effect":"Allow","Action":"*","Resource":"*"}`, `{"Effect":"Deny","Action":"*","Resource":"${aws:username}"}`), status: 500, invoked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			invoked := make(chan json.RawMessage, 1)
			auth := lambdaenv.New(func(ev json.RawMessage) (json.RawMessage, error) {
				invoked <- ev
				if err, ok := tt.out.(error); ok {
					return nil, err
				}
				if tt.raw != "" {
					return json.RawMessage(tt.raw), nil
				}
				return json.Marshal(tt.out)
			}, &lambdaenv.Options{Name: "auth", Logger: discard})
			t.Cleanup(func() { auth.Close() })
			h := start(t, &local.Options{Authorizer: &local.Authorizer{Function: auth,
				IdentitySource: []string{"route.request.querystring.token", "route.request.header.Auth"}}}, nil)
			header := tt.header
			if header == nil && tt.name != "header source missing" {
				header = http.Header{"Auth": {"a"}}
			}
			query := tt.query
			if query == "" {
				query = "?token=t"
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, h.url()+query, &websocket.DialOptions{HTTPHeader: header})
			if tt.status != 0 {
				if err == nil {
					c.CloseNow()
					t.Fatal("accepted")
				}
				if resp == nil || resp.StatusCode != tt.status {
					t.Fatalf("dial: %v, want %d", err, tt.status)
				}
				want := map[int]string{401: `{"message": "Unauthorized"}`, 403: `{"message": "Forbidden"}`, 500: `{"message": "Internal server error"}`}[tt.status]
				if b, _ := io.ReadAll(resp.Body); string(b) != want {
					t.Errorf("refused with %q, want %q", b, want)
				}
			} else if err != nil {
				t.Fatal(err)
			} else {
				c.CloseNow()
			}
			select {
			case <-invoked:
				if !tt.invoked {
					t.Error("authorizer invoked")
				}
			default:
				if tt.invoked {
					t.Error("authorizer not invoked")
				}
			}
			if tt.status != 0 {
				select {
				case ev := <-h.events:
					t.Errorf("%s invoked after the authorizer refused", ev.RequestContext.RouteKey)
				default:
				}
			}
		})
	}
}

// TestAuthorizerContext checks the authorizer's event and that its
// principalId and context reach every later event of the connection.
func TestAuthorizerContext(t *testing.T) {
	events := make(chan map[string]any, 1)
	auth := lambdaenv.New(func(ev map[string]any) (any, error) {
		events <- ev
		return policy("Allow", ev["methodArn"].(string), map[string]any{"user": "ann", "n": 1, "admin": true, "principalId": "admin"}), nil
	}, &lambdaenv.Options{Name: "auth", Logger: discard})
	t.Cleanup(func() { auth.Close() })
	vars := map[string]string{"table": "t1"}
	h := start(t, &local.Options{
		Stage:          "prod",
		StageVariables: vars,
		Authorizer:     &local.Authorizer{Function: auth, IdentitySource: []string{"route.request.querystring.token"}},
	}, nil)
	vars["table"] = "changed after New" // the gateway keeps its own copy
	c := h.dial("?token=abc", &websocket.DialOptions{HTTPHeader: http.Header{"X-Custom": {"1"}}})
	connect := h.next()
	write(t, c, "hi")
	msg := h.nextOf("MESSAGE")
	c.Close(websocket.StatusNormalClosure, "")
	disc := h.nextOf("DISCONNECT")

	ev := <-events
	rc, _ := ev["requestContext"].(map[string]any)
	arn := regexp.MustCompile(`^arn:aws:execute-api:[a-z0-9-]+:\d{12}:[a-z0-9]{10}/prod/\$connect$`)
	if ev["type"] != "REQUEST" || !arn.MatchString(ev["methodArn"].(string)) ||
		ev["queryStringParameters"].(map[string]any)["token"] != "abc" ||
		ev["headers"].(map[string]any)["X-Custom"] != "1" || ev["multiValueHeaders"] == nil ||
		ev["stageVariables"].(map[string]any)["table"] != "t1" ||
		rc["eventType"] != "CONNECT" || rc["routeKey"] != "$connect" || rc["connectionId"] != connect.RequestContext.ConnectionID ||
		rc["apiId"] != connect.RequestContext.APIID || rc["stage"] != "prod" {
		t.Errorf("authorizer event %v", ev)
	}
	if _, ok := rc["authorizer"]; ok {
		t.Error("authorizer event has requestContext.authorizer")
	}
	// The policy's principalId, never a context key of that name.
	want := map[string]any{"principalId": "user-1", "user": "ann", "n": 1.0, "admin": true}
	for _, e := range []event{connect, msg, disc} {
		got, _ := e.RequestContext.Authorizer.(map[string]any)
		if len(got) != len(want) {
			t.Errorf("%s: authorizer %v, want %v", e.RequestContext.EventType, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: authorizer[%q] = %v, want %v", e.RequestContext.EventType, k, got[k], v)
			}
		}
		if e.StageVariables["table"] != "t1" {
			t.Errorf("%s: stageVariables %v", e.RequestContext.EventType, e.StageVariables)
		}
	}
}

// TestAuthorizerIdentitySourceCase: an identity source names a header in any
// case, including the WebSocket headers that Go spells differently
// (Sec-WebSocket-Protocol, the one header a browser can set).
func TestAuthorizerIdentitySourceCase(t *testing.T) {
	for _, src := range []string{"Sec-WebSocket-Protocol", "sec-websocket-protocol", "X-TOKEN"} {
		t.Run(src, func(t *testing.T) {
			auth := lambdaenv.New(func(ev map[string]any) (any, error) {
				return policy("Allow", "*", nil), nil
			}, &lambdaenv.Options{Name: "auth", Logger: discard})
			t.Cleanup(func() { auth.Close() })
			h := start(t, &local.Options{Authorizer: &local.Authorizer{Function: auth,
				IdentitySource: []string{"route.request.header." + src}}}, nil)
			h.dial("", &websocket.DialOptions{Subprotocols: []string{"token"}, HTTPHeader: http.Header{"X-Token": {"t"}}})
		})
	}
}
