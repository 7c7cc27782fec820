package ws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// AuthorizerHandler adapts fn into the Lambda handler of a REQUEST authorizer for a WebSocket
// API's $connect route. fn decides whether a client may connect: req is the
// $connect request (headers, query, source IP, connection id); fn returns the
// identity to allow, or refuses with [Reject], as OnConnect does:
// Reject(http.StatusUnauthorized, …) fails the handshake with 401 (the
// authorizer fails with "Unauthorized", as API Gateway requires) and
// Reject(http.StatusForbidden, …) with 403 (a Deny policy); any other error
// fails it with 500.
//
//	lambda.Start(ws.AuthorizerHandler(func(ctx context.Context, req *ws.Request) (string, map[string]any, error) {
//		user, ok := users[req.Query("token")]
//		if !ok {
//			return "", nil, ws.Reject(http.StatusUnauthorized, "")
//		}
//		return user.ID, map[string]any{"name": user.Name}, nil
//	}))
//
// An allowed identity gets a policy that allows execute-api:Invoke on the
// API's stage that asked (arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/*)
// and nothing else; a 403 refusal gets the same policy with Deny.
//
// AuthorizerHandler is the function side: deploy it as the API's authorizer
// Lambda (a template's Authorizer; local.Authorizer's Function in the
// emulator; wstest.Options.Authorizer in tests). The principalID and context fn
// returns reach every later event of the connection, where handlers read
// them with [Request.AuthorizerContext].
func AuthorizerHandler(fn func(ctx context.Context, req *Request) (principalID string, context map[string]any, err error)) func(ctx context.Context, event json.RawMessage) (events.APIGatewayCustomAuthorizerResponse, error) {
	if fn == nil {
		panic("ws: AuthorizerHandler with a nil function")
	}
	return func(ctx context.Context, event json.RawMessage) (events.APIGatewayCustomAuthorizerResponse, error) {
		var none events.APIGatewayCustomAuthorizerResponse
		var in struct {
			MethodArn string `json:"methodArn"`
		}
		req := &Request{}
		if err := json.Unmarshal(event, &in); err != nil {
			return none, fmt.Errorf("ws: authorizer event: %w", err)
		}
		if err := json.Unmarshal(event, &req.Event); err != nil {
			return none, fmt.Errorf("ws: authorizer event: %w", err)
		}
		req.ConnectionID = req.Event.RequestContext.ConnectionID
		req.RouteKey = req.Event.RequestContext.RouteKey
		resource, err := stageResource(in.MethodArn)
		if err != nil {
			return none, err
		}
		principal, authContext, err := fn(ctx, req)
		rej, refused := asReject(err)
		switch {
		case refused && rej.status == http.StatusUnauthorized:
			return none, errUnauthorized
		case refused && rej.status == http.StatusForbidden:
			return policy("Deny", resource, "denied", nil), nil
		case err != nil:
			return none, err
		case principal == "":
			return none, errors.New("ws: an AuthorizerHandler function allowed a connection without a principal id")
		}
		for k, v := range authContext {
			switch v.(type) {
			case string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, json.Number:
			default:
				return none, fmt.Errorf("ws: authorizer context %q is a %T; API Gateway accepts only strings, numbers and booleans", k, v)
			}
		}
		return policy("Allow", resource, principal, authContext), nil
	}
}

// errUnauthorized is the one authorizer error API Gateway answers with 401.
var errUnauthorized = errors.New("Unauthorized")

// stageResource turns a $connect method ARN,
// arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/$connect, into the resource
// of every route of that stage, arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/*.
func stageResource(methodArn string) (string, error) {
	parts := strings.SplitN(methodArn, ":", 6)
	var path []string
	if len(parts) == 6 {
		path = strings.SplitN(parts[5], "/", 3)
	}
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "execute-api" || len(path) < 2 || path[0] == "" || path[1] == "" {
		return "", fmt.Errorf("ws: authorizer event: methodArn %q is not arn:PARTITION:execute-api:REGION:ACCOUNT:API/STAGE/ROUTE", methodArn)
	}
	return strings.Join(parts[:5], ":") + ":" + path[0] + "/" + path[1] + "/*", nil
}

func policy(effect, resource, principal string, authContext map[string]any) events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: principal,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{resource},
			}},
		},
		Context: authContext,
	}
}
