package ws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// The refusals an [Authorizer] function returns (or wraps).
var (
	// ErrUnauthorized refuses the connection with 401 Unauthorized: API
	// Gateway answers 401 when an authorizer fails with exactly this message.
	ErrUnauthorized = errors.New("Unauthorized")
	// ErrDenied refuses the connection with 403 Forbidden: the authorizer
	// answers a Deny policy.
	ErrDenied = errors.New("ws: connection denied")
)

// Identity is who an authorizer allowed to connect.
type Identity struct {
	// PrincipalID identifies the user; required.
	PrincipalID string
	// Context is attached to the connection: handlers read it, with
	// PrincipalID as "principalId", from Request.Authorizer on $connect and
	// on every later event. Values must be strings, numbers or booleans.
	Context map[string]any
}

// Authorizer adapts fn into a Lambda REQUEST authorizer for a WebSocket
// API's $connect route. fn decides whether a client may connect: req is the
// $connect request (headers, query, source IP, connection id); fn returns the
// identity to allow, or [ErrUnauthorized] or [ErrDenied] to refuse; any other
// error fails the handshake with 500.
//
//	lambda.Start(ws.Authorizer(func(ctx context.Context, req *ws.Request) (*ws.Identity, error) {
//		user, ok := users[req.Query("token")]
//		if !ok {
//			return nil, ws.ErrUnauthorized
//		}
//		return &ws.Identity{PrincipalID: user.ID, Context: map[string]any{"name": user.Name}}, nil
//	}))
//
// An allowed identity gets a policy that allows execute-api:Invoke on the
// API's stage that asked (arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/*)
// and nothing else. ErrDenied gives the same policy with Deny.
func Authorizer(fn func(ctx context.Context, req *Request) (*Identity, error)) func(ctx context.Context, event json.RawMessage) (events.APIGatewayCustomAuthorizerResponse, error) {
	if fn == nil {
		panic("ws: Authorizer with a nil function")
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
		id, err := fn(ctx, req)
		switch {
		case errors.Is(err, ErrUnauthorized):
			return none, ErrUnauthorized
		case errors.Is(err, ErrDenied):
			return policy("Deny", resource, &Identity{PrincipalID: "denied"}), nil
		case err != nil:
			return none, err
		case id == nil || id.PrincipalID == "":
			return none, errors.New("ws: an Authorizer function allowed a connection without Identity.PrincipalID")
		}
		for k, v := range id.Context {
			switch v.(type) {
			case string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, json.Number:
			default:
				return none, fmt.Errorf("ws: authorizer context %q is a %T; API Gateway accepts only strings, numbers and booleans", k, v)
			}
		}
		return policy("Allow", resource, id), nil
	}
}

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

func policy(effect, resource string, id *Identity) events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: id.PrincipalID,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{resource},
			}},
		},
		Context: id.Context,
	}
}
