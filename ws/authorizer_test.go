package ws_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lambdaws/lambdaws/ws"
)

// authorizerFunc is the type of the function ws.Authorizer adapts.
type authorizerFunc = func(ctx context.Context, req *ws.Request) (string, map[string]any, error)

func authorizerEvent(t *testing.T) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile("testdata/authorizer.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAuthorizer(t *testing.T) {
	const resource = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/*"
	allow := func(principal string, authContext map[string]any) authorizerFunc {
		return func(ctx context.Context, req *ws.Request) (string, map[string]any, error) {
			return principal, authContext, nil
		}
	}
	fail := func(err error) authorizerFunc {
		return func(ctx context.Context, req *ws.Request) (string, map[string]any, error) { return "", nil, err }
	}
	boom := errors.New("database down")
	for _, tc := range []struct {
		name    string
		fn      authorizerFunc
		effect  string // "" for an error
		context map[string]any
		err     string
	}{
		{name: "allow", fn: allow("ann", map[string]any{"name": "Ann", "admin": true, "level": 3}),
			effect: "Allow", context: map[string]any{"name": "Ann", "admin": true, "level": 3}},
		{name: "allow without context", fn: allow("ann", nil), effect: "Allow"},
		{name: "unauthorized", fn: fail(ws.Reject(http.StatusUnauthorized, "no token")), err: "Unauthorized"},
		{name: "unauthorized wrapped", fn: fail(fmt.Errorf("token expired: %w", ws.Reject(http.StatusUnauthorized, ""))), err: "Unauthorized"},
		{name: "denied", fn: fail(fmt.Errorf("banned: %w", ws.Reject(http.StatusForbidden, "banned"))), effect: "Deny"},
		{name: "other error", fn: fail(boom), err: "database down"},
		{name: "no principal", fn: allow("", map[string]any{"name": "Ann"}), err: "without a principal id"},
		{name: "nested context", fn: allow("ann", map[string]any{"roles": []string{"a"}}),
			err: `authorizer context "roles" is a []string`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := ws.AuthorizerHandler(tc.fn)(context.Background(), authorizerEvent(t))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				if tc.err == "Unauthorized" && err.Error() != "Unauthorized" {
					t.Errorf("API Gateway answers 401 only for exactly \"Unauthorized\", got %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{
				{Action: []string{"execute-api:Invoke"}, Effect: tc.effect, Resource: []string{resource}},
			}}
			if !reflect.DeepEqual(resp.PolicyDocument, want) {
				t.Errorf("policy = %+v, want %+v", resp.PolicyDocument, want)
			}
			if resp.PrincipalID == "" {
				t.Error("no principalId")
			}
			if !reflect.DeepEqual(resp.Context, tc.context) {
				t.Errorf("context = %v, want %v", resp.Context, tc.context)
			}
		})
	}
}

// The Authorizer function sees the $connect request with its helpers.
func TestAuthorizerRequest(t *testing.T) {
	var got *ws.Request
	_, err := ws.AuthorizerHandler(func(ctx context.Context, req *ws.Request) (string, map[string]any, error) {
		got = req
		return "x", nil, nil
	})(context.Background(), authorizerEvent(t))
	if err != nil {
		t.Fatal(err)
	}
	for what, v := range map[string][2]string{
		"query":         {got.Query("token"), "t0ken"},
		"header":        {got.Header("auth"), "secret-header"},
		"source ip":     {got.SourceIP(), "203.0.113.7"},
		"connection id": {got.ConnectionID, "N1ixicXgDoECHaA="},
		"route key":     {got.RouteKey, "$connect"},
		"stage var":     {got.Event.StageVariables["env"], "prod"},
	} {
		if v[0] != v[1] {
			t.Errorf("%s = %q, want %q", what, v[0], v[1])
		}
	}
}

func TestAuthorizerBadEvent(t *testing.T) {
	fn := ws.AuthorizerHandler(func(ctx context.Context, req *ws.Request) (string, map[string]any, error) {
		t.Error("called")
		return "", nil, nil
	})
	for _, event := range []string{`[]`, `{}`, `{"methodArn": "arn:aws:execute-api:r:a:api"}`, `{"methodArn": "arn:aws:lambda:r:a:api/stage/$connect"}`} {
		if _, err := fn(context.Background(), json.RawMessage(event)); err == nil {
			t.Errorf("%s: no error", event)
		}
	}
}

// The JSON the Lambda runtime sends back is the shape API Gateway reads.
func TestAuthorizerJSON(t *testing.T) {
	h := lambda.NewHandler(ws.AuthorizerHandler(func(ctx context.Context, req *ws.Request) (string, map[string]any, error) {
		return "ann", map[string]any{"name": "Ann"}, nil
	}))
	out, err := h.Invoke(context.Background(), authorizerEvent(t))
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"principalId":"ann","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/*"]}]},"context":{"name":"Ann"}}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}

func ExampleAuthorizerHandler() {
	tokens := map[string]string{"t0ken": "ann"} // token → user; yours is a database or a JWT check
	authorize := ws.AuthorizerHandler(func(ctx context.Context, req *ws.Request) (string, map[string]any, error) {
		user, ok := tokens[req.Query("token")]
		if !ok {
			return "", nil, ws.Reject(http.StatusUnauthorized, "") // 401
		}
		return user, map[string]any{"user": user}, nil
	})
	// In the authorizer's main: lambda.Start(authorize)
	resp, err := authorize(context.Background(), json.RawMessage(`{
		"methodArn": "arn:aws:execute-api:us-east-1:123456789012:api1/prod/$connect",
		"queryStringParameters": {"token": "t0ken"}}`))
	fmt.Println(resp.PolicyDocument.Statement[0].Effect, resp.PolicyDocument.Statement[0].Resource, resp.Context, err)
	// Output: Allow [arn:aws:execute-api:us-east-1:123456789012:api1/prod/*] map[user:ann] <nil>
}
