package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/lambdaws/lambdaws/internal/apigw"
	"github.com/lambdaws/lambdaws/internal/logs"
	"github.com/lambdaws/lambdaws/local/lambdaenv"
	"github.com/lambdaws/lambdaws/registry"
)

// parseIdentitySource splits "route.request.header.{name}" or
// "route.request.querystring.{name}".
func parseIdentitySource(src string) (kind, name string, ok bool) {
	rest, found := strings.CutPrefix(src, "route.request.")
	if !found {
		return "", "", false
	}
	kind, name, found = strings.Cut(rest, ".")
	if !found || name == "" || kind != "header" && kind != "querystring" {
		return "", "", false
	}
	return kind, name, true
}

// authorize runs the Authorizer for the $connect of c and returns the
// status of the handshake (200 to go on) and, when allowed,
// requestContext.authorizer: the principalId and context.
func (g *Gateway) authorize(c *apigw.Conn, header map[string][]string, query url.Values) (int, map[string]any) {
	a := g.authorizer
	for _, src := range a.IdentitySource {
		kind, name, _ := parseIdentitySource(src)
		v := query.Get(name)
		if kind == "header" {
			v = headerValue(header, name)
		}
		if v == "" {
			g.log.Info("local: authorizer", logs.ConnectionID, c.ID, logs.Route, registry.Connect, logs.Status, http.StatusUnauthorized,
				logs.Error, "identity source "+src+" is missing or empty")
			return http.StatusUnauthorized, nil
		}
	}
	methodARN := "arn:aws:execute-api:" + apigw.Region() + ":" + apigw.AccountID + ":" + g.apiID + "/" + g.stage + "/" + registry.Connect
	ev := apigw.Authorizer(c, methodARN, header, query)
	out, inv := g.invoke(a.Function, ev)
	status, auth, err := authorizerResult(out, inv.err, methodARN)
	g.logInvocation("local: authorizer", c, ev.RequestContext.RequestID, registry.Connect, a.Function, status, inv, err)
	return status, auth
}

// headerValue returns the first value of a header, its name matched without
// regard to case: header spells the WebSocket headers as clients do
// (Sec-WebSocket-Protocol), not as http.Header.Get looks them up.
func headerValue(header map[string][]string, name string) string {
	for k, vs := range header {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// authorizerResult interprets an authorizer's output, or its failure err, as
// API Gateway does.
func authorizerResult(out []byte, err error, methodARN string) (int, map[string]any, error) {
	var ie *lambdaenv.InvokeError
	switch {
	case errors.As(err, &ie) && ie.Message == "Unauthorized":
		return http.StatusUnauthorized, nil, nil
	case err != nil:
		return http.StatusInternalServerError, nil, err
	case len(out) > maxAuthorizerResponse:
		return http.StatusInternalServerError, nil, fmt.Errorf("local: authorizer response of %d bytes, over the limit of 8 KB", len(out))
	}
	// events.APIGatewayCustomAuthorizerResponse, read leniently: IAM lets
	// Statement be one object, and Action and Resource single strings.
	var resp struct {
		PrincipalID    string `json:"principalId"`
		PolicyDocument struct {
			Statement oneOrMany[struct {
				Effect   string            `json:"Effect"`
				Action   oneOrMany[string] `json:"Action"`
				Resource oneOrMany[string] `json:"Resource"`
			}] `json:"Statement"`
		} `json:"policyDocument"`
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return http.StatusInternalServerError, nil, fmt.Errorf("local: authorizer output is not an APIGatewayCustomAuthorizerResponse: %w", err)
	}
	allowed := false
	for _, st := range resp.PolicyDocument.Statement {
		if !matchAny(lower(st.Action), "execute-api:invoke") || !matchAny(st.Resource, methodARN) {
			continue
		}
		switch st.Effect {
		case "Deny":
			return http.StatusForbidden, nil, nil
		case "Allow":
			allowed = true
		}
	}
	if !allowed {
		return http.StatusForbidden, nil, nil
	}
	auth := map[string]any{"principalId": resp.PrincipalID}
	for k, v := range resp.Context {
		switch v.(type) {
		case string, float64, bool:
			auth[k] = v
		default:
			return http.StatusInternalServerError, nil, fmt.Errorf("local: authorizer context %q is not a string, number or boolean", k)
		}
	}
	return http.StatusOK, auth, nil
}

// matchAny reports whether one of the IAM patterns (with * and ?) matches s.
func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		// path.Match treats "/" specially; resources contain slashes, so
		// map them to a byte no pattern or ARN contains.
		if ok, _ := path.Match(strings.ReplaceAll(p, "/", "\x00"), strings.ReplaceAll(s, "/", "\x00")); ok {
			return true
		}
	}
	return false
}

// lower returns IAM actions in lower case: they match without regard to
// case ("execute-api:invoke" allows as "execute-api:Invoke" does).
func lower(actions []string) []string {
	l := make([]string, len(actions))
	for i, a := range actions {
		l[i] = strings.ToLower(a)
	}
	return l
}

// oneOrMany decodes a JSON value or an array of values.
type oneOrMany[T any] []T

func (m *oneOrMany[T]) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '[' {
		return json.Unmarshal(b, (*[]T)(m))
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*m = oneOrMany[T]{v}
	return nil
}
