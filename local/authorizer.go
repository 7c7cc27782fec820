package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
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
func (g *Gateway) authorize(a *Authorizer, c *apigw.Conn, header map[string][]string, query url.Values) (int, map[string]any) {
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
	// Statement be one object. Statements are read key by key, so that an
	// element the emulator does not evaluate is refused, not ignored.
	var resp struct {
		PrincipalID    string `json:"principalId"`
		PolicyDocument struct {
			Statement oneOrMany[map[string]json.RawMessage] `json:"Statement"`
		} `json:"policyDocument"`
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return http.StatusInternalServerError, nil, fmt.Errorf("local: authorizer output is not an APIGatewayCustomAuthorizerResponse: %w", err)
	}
	allowed := false
	for i, raw := range resp.PolicyDocument.Statement {
		st, err := parseStatement(raw)
		if err != nil {
			return http.StatusInternalServerError, nil, fmt.Errorf("local: authorizer policy statement %d: %w", i, err)
		}
		if !st.applies("execute-api:invoke", methodARN) {
			continue
		}
		if st.deny {
			return http.StatusForbidden, nil, nil // an explicit Deny wins over every Allow
		}
		allowed = true
	}
	if !allowed {
		return http.StatusForbidden, nil, nil
	}
	auth := map[string]any{"principalId": resp.PrincipalID}
	for k, v := range resp.Context {
		switch v.(type) {
		case string, float64, bool:
		default:
			return http.StatusInternalServerError, nil, fmt.Errorf("local: authorizer context %q is not a string, number or boolean", k)
		}
		if k != "principalId" { // the policy's principalId is the principal, whatever the context says
			auth[k] = v
		}
	}
	return http.StatusOK, auth, nil
}

// A statement is one statement of an IAM policy, reduced to the elements
// API Gateway evaluates for an authorizer's policy.
type statement struct {
	deny        bool
	actions     []string // lower case
	notAction   bool     // actions lists NotAction
	resources   []string
	notResource bool // resources lists NotResource
}

// parseStatement reads a policy statement. It refuses what it cannot
// evaluate as IAM would (Condition, Principal, policy variables) and what
// IAM refuses as malformed, so that a statement is never skipped silently:
// a skipped Deny would allow.
func parseStatement(raw map[string]json.RawMessage) (*statement, error) {
	st := new(statement)
	var actions, resources int
	for key, v := range raw {
		var err error
		switch key {
		case "Sid":
		case "Effect":
			var effect string
			err = json.Unmarshal(v, &effect)
			switch {
			case err != nil:
			case effect == "Deny":
				st.deny = true
			case effect != "Allow":
				err = fmt.Errorf("%q, want Allow or Deny", effect)
			}
		case "Action", "NotAction":
			actions++
			st.notAction = key == "NotAction"
			err = unmarshalPatterns(v, &st.actions)
			for i, a := range st.actions {
				st.actions[i] = strings.ToLower(a) // actions match without regard to case
			}
		case "Resource", "NotResource":
			resources++
			st.notResource = key == "NotResource"
			err = unmarshalPatterns(v, &st.resources)
		default:
			err = fmt.Errorf("element %q is not supported by the emulator", key)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
	}
	switch {
	case raw["Effect"] == nil:
		return nil, errors.New("no Effect")
	case actions != 1:
		return nil, errors.New("want one of Action and NotAction")
	case resources != 1:
		return nil, errors.New("want one of Resource and NotResource")
	}
	return st, nil
}

// unmarshalPatterns decodes a non-empty string or list of strings.
func unmarshalPatterns(b []byte, patterns *[]string) error {
	var m oneOrMany[string]
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if len(m) == 0 {
		return errors.New("empty")
	}
	for _, p := range m {
		if strings.Contains(p, "${") {
			return fmt.Errorf("policy variable in %q is not supported by the emulator", p)
		}
	}
	*patterns = m
	return nil
}

// applies reports whether the statement covers action (lower case) on
// resource.
func (st *statement) applies(action, resource string) bool {
	return matchAny(st.actions, action) != st.notAction && matchAny(st.resources, resource) != st.notResource
}

// matchAny reports whether one of the IAM patterns matches s.
func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if wildcardMatch(p, s) {
			return true
		}
	}
	return false
}

// wildcardMatch matches str against an IAM pattern, where * is any run of
// characters ("/" and ":" included) and ? any one character; every other
// character, "[" included, stands for itself.
func wildcardMatch(pattern, str string) bool {
	// The greedy algorithm: on a mismatch, let the last * take one more
	// character of s. At worst len(p)*len(s) steps, no recursion.
	p, s := []rune(pattern), []rune(str)
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
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
