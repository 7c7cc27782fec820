package sam

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/lambdaws/lambdaws/registry"
)

// API is a WebSocket API: an AWS::ApiGatewayV2::Api with its routes,
// integrations, authorizer, route responses and stage, or an
// AWS::Serverless::WebSocketApi.
type API struct {
	LogicalID string
	// ID is the API's id: what Ref and Fn::GetAtt ApiId give, and the
	// apiId of the events and the authorizer's methodArn.
	ID                       string
	RouteSelectionExpression string
	Stage                    string
	StageVariables           map[string]string
	Routes                   []Route     // in route key order
	Authorizer               *Authorizer // on $connect, or nil
}

// Route is one route key of an API and the function it invokes.
type Route struct {
	Key      string
	Function string // logical id
	TwoWay   bool   // the route has a $default route response
}

// Authorizer is a Lambda REQUEST authorizer on $connect.
type Authorizer struct {
	Function string // logical id
	// IdentitySource lists where the identity is, in WebSocket form:
	// "route.request.header.Auth", "route.request.querystring.token".
	IdentitySource []string
}

// belongsTo reports whether resource id's ApiId refers to api.
func (l *loader) belongsTo(id, api string) (bool, error) {
	v, err := l.prop(id, l.r.resources[id].Properties, "ApiId")
	return v == apiID(api) || v == api, err
}

func (l *loader) readAPI() error {
	var apis []string
	for _, id := range l.ofType("AWS::ApiGatewayV2::Api") {
		if pt, err := l.prop(id, l.r.resources[id].Properties, "ProtocolType"); err != nil {
			return err
		} else if pt == "WEBSOCKET" {
			apis = append(apis, id)
		}
	}
	apis = append(apis, l.ofType("AWS::Serverless::WebSocketApi")...)
	slices.Sort(apis)
	var id string
	switch {
	case l.opts.API != "":
		if !slices.Contains(apis, l.opts.API) {
			return fmt.Errorf("--api %s: the template's WebSocket APIs are %s", l.opts.API, list(apis))
		}
		id = l.opts.API
	case len(apis) == 0:
		return errors.New("the template has no WebSocket API (AWS::ApiGatewayV2::Api with ProtocolType WEBSOCKET, or AWS::Serverless::WebSocketApi)")
	case len(apis) > 1:
		return fmt.Errorf("the template has %d WebSocket APIs (%s): pick one with --api", len(apis), list(apis))
	default:
		id = apis[0]
	}
	if l.r.resources[id].Type == "AWS::Serverless::WebSocketApi" {
		if err := l.readServerlessAPI(id); err != nil {
			return err
		}
	} else if err := l.readV2API(id); err != nil {
		return err
	}
	l.t.API.ID = apiID(id)
	return nil
}

func list(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

func (l *loader) readV2API(id string) error {
	props := l.r.resources[id].Properties
	api := &API{LogicalID: id}
	l.t.API = api
	if err := l.routeSelection(id, props, api); err != nil {
		return err
	}

	// Two-way routes: those with a route response.
	twoWay := map[string]bool{}
	for _, rr := range l.ofType("AWS::ApiGatewayV2::RouteResponse") {
		if ok, err := l.belongsTo(rr, id); err != nil || !ok {
			if err != nil {
				return err
			}
			continue
		}
		route, err := l.prop(rr, l.r.resources[rr].Properties, "RouteId")
		if err != nil {
			return err
		}
		twoWay[route] = true
	}

	var usedAuthorizer string // the logical id of the authorizer on $connect
	for _, rid := range l.ofType("AWS::ApiGatewayV2::Route") {
		if ok, err := l.belongsTo(rid, id); err != nil || !ok {
			if err != nil {
				return err
			}
			continue
		}
		rp := l.r.resources[rid].Properties
		key, err := l.prop(rid, rp, "RouteKey")
		if err != nil {
			return err
		}
		if key == "" {
			return fmt.Errorf("route %s has no RouteKey", rid)
		}
		target, err := l.prop(rid, rp, "Target")
		if err != nil {
			return err
		}
		integ, ok := strings.CutPrefix(target, "integrations/")
		if res := l.r.resources[integ]; !ok || res == nil || res.Type != "AWS::ApiGatewayV2::Integration" {
			return fmt.Errorf("route %s (%s), property Target: %q is not integrations/ and an AWS::ApiGatewayV2::Integration of this template; write Target: !Sub integrations/${YourIntegration}", rid, key, target)
		}
		ip := l.r.resources[integ].Properties
		if typ, err := l.prop(integ, ip, "IntegrationType"); err != nil {
			return err
		} else if typ != "AWS_PROXY" {
			return fmt.Errorf("integration %s (route %s): IntegrationType %s is not supported; lambdaws local serves Lambda proxy integrations (AWS_PROXY)", integ, key, typ)
		}
		uri, err := l.prop(integ, ip, "IntegrationUri")
		if err != nil {
			return err
		}
		fn, err := l.functionOf(uri)
		if err != nil {
			return fmt.Errorf("integration %s (route %s), property IntegrationUri: %w", integ, key, err)
		}
		api.Routes = append(api.Routes, Route{Key: key, Function: fn, TwoWay: twoWay[rid]})

		authType, err := l.prop(rid, rp, "AuthorizationType")
		if err != nil {
			return err
		}
		switch authType {
		case "", "NONE":
		case "AWS_IAM":
			l.warn("route %s (%s): AWS_IAM authorization is not checked locally", rid, key)
		case "CUSTOM":
			if key != "$connect" {
				return fmt.Errorf("route %s (%s): a WebSocket API authorizes only $connect", rid, key)
			}
			authID, err := l.prop(rid, rp, "AuthorizerId")
			if err != nil {
				return err
			}
			if api.Authorizer, err = l.readV2Authorizer(authID); err != nil {
				return fmt.Errorf("route %s (%s), property AuthorizerId: %w", rid, key, err)
			}
			usedAuthorizer = authID
		default:
			return fmt.Errorf("route %s (%s): unknown AuthorizationType %s", rid, key, authType)
		}
	}
	for _, aid := range l.ofType("AWS::ApiGatewayV2::Authorizer") {
		if ok, err := l.belongsTo(aid, id); err == nil && ok && aid != usedAuthorizer {
			// A CDK app may attach it through a custom resource, which does
			// not run here: without this, $connect would run open unnoticed.
			l.warn("authorizer %s of API %s is used by no route: $connect runs without it here; attach it with the $connect route's AuthorizationType CUSTOM and AuthorizerId", aid, id)
		}
	}
	slices.SortFunc(api.Routes, func(a, b Route) int { return strings.Compare(a.Key, b.Key) })
	for i := 1; i < len(api.Routes); i++ {
		if api.Routes[i].Key == api.Routes[i-1].Key {
			return fmt.Errorf("API %s has two routes %s", id, api.Routes[i].Key)
		}
	}
	if len(api.Routes) == 0 {
		return fmt.Errorf("API %s has no AWS::ApiGatewayV2::Route", id)
	}

	var stages []string
	for _, sid := range l.ofType("AWS::ApiGatewayV2::Stage") {
		if ok, err := l.belongsTo(sid, id); err != nil {
			return err
		} else if ok {
			stages = append(stages, sid)
		}
	}
	if len(stages) == 0 {
		api.Stage = "local"
		l.warn("API %s has no AWS::ApiGatewayV2::Stage: serving stage %q", id, api.Stage)
		return nil
	}
	if len(stages) > 1 {
		l.warn("API %s has several stages (%s): serving %s", id, list(stages), stages[0])
	}
	sp := l.r.resources[stages[0]].Properties
	var err error
	if api.Stage, err = l.prop(stages[0], sp, "StageName"); err != nil {
		return err
	}
	api.StageVariables, err = l.stringMap(stages[0], "StageVariables", sp["StageVariables"])
	return err
}

// routeSelection reads the RouteSelectionExpression of API id, which the
// local gateway must be able to evaluate.
func (l *loader) routeSelection(id string, props map[string]any, api *API) error {
	expr, err := l.prop(id, props, "RouteSelectionExpression")
	if err != nil {
		return err
	}
	if expr != "" {
		if _, err := registry.ParseExpression(expr); err != nil {
			return fmt.Errorf("API %s, property RouteSelectionExpression: %q is not supported: lambdaws local selects routes with $request.body.KEY[.KEY...]", id, expr)
		}
	}
	api.RouteSelectionExpression = expr
	return nil
}

func (l *loader) readV2Authorizer(id string) (*Authorizer, error) {
	res := l.r.resources[id]
	if res == nil || res.Type != "AWS::ApiGatewayV2::Authorizer" {
		return nil, fmt.Errorf("%q is not an AWS::ApiGatewayV2::Authorizer of this template", id)
	}
	typ, err := l.prop(id, res.Properties, "AuthorizerType")
	if err != nil {
		return nil, err
	}
	if typ != "REQUEST" {
		return nil, fmt.Errorf("authorizer %s: AuthorizerType %s is not supported; WebSocket APIs use REQUEST authorizers", id, typ)
	}
	uri, err := l.prop(id, res.Properties, "AuthorizerUri")
	if err != nil {
		return nil, err
	}
	fn, err := l.functionOf(uri)
	if err != nil {
		return nil, fmt.Errorf("authorizer %s, property AuthorizerUri: %w", id, err)
	}
	src, err := l.identitySource(id, res.Properties["IdentitySource"])
	if err != nil {
		return nil, err
	}
	return &Authorizer{Function: fn, IdentitySource: src}, nil
}

func (l *loader) identitySource(id string, v any) ([]string, error) {
	x, err := l.r.resolve(v)
	if err != nil {
		return nil, fmt.Errorf("resource %s, property IdentitySource: %w", id, err)
	}
	var src []string
	switch x := x.(type) {
	case nil:
	case string:
		src = strings.Split(x, ",")
	case []any:
		for _, s := range x {
			str, err := scalarString(s)
			if err != nil {
				return nil, fmt.Errorf("resource %s, property IdentitySource: %w", id, err)
			}
			src = append(src, str)
		}
	default:
		return nil, fmt.Errorf("resource %s, property IdentitySource: %s where a list is needed", id, describe(x))
	}
	for i, s := range src {
		s = strings.TrimSpace(s)
		src[i] = s
		h, hok := strings.CutPrefix(s, "route.request.header.")
		q, qok := strings.CutPrefix(s, "route.request.querystring.")
		if !(hok && h != "" || qok && q != "") {
			return nil, fmt.Errorf("resource %s, property IdentitySource: %q is not supported; use route.request.header.NAME or route.request.querystring.NAME", id, s)
		}
	}
	return src, nil
}

func (l *loader) readServerlessAPI(id string) error {
	props, err := l.withGlobals("WebSocketApi", id)
	if err != nil {
		return err
	}
	api := &API{LogicalID: id}
	l.t.API = api
	if err := l.routeSelection(id, props, api); err != nil {
		return err
	}
	if api.Stage, err = l.prop(id, props, "StageName"); err != nil {
		return err
	}
	api.Stage = orDefault(api.Stage, "default")
	if api.Stage == "$default" {
		return fmt.Errorf("WebSocket API %s, property StageName: SAM refuses $default as a WebSocket API's stage name", id)
	}
	if api.StageVariables, err = l.stringMap(id, "StageVariables", props["StageVariables"]); err != nil {
		return err
	}
	routes := mapOf(props["Routes"])
	if len(routes) == 0 {
		return fmt.Errorf("WebSocket API %s has no Routes", id)
	}
	for _, key := range slices.Sorted(maps.Keys(routes)) {
		if key == "" {
			return fmt.Errorf("WebSocket API %s has an empty route key", id)
		}
		if !slices.Contains([]string{"$connect", "$disconnect", "$default"}, key) && !alphanumeric(key) {
			return fmt.Errorf("WebSocket API %s, route %q: SAM requires a route key of letters and digits (or $connect, $disconnect, $default); with other keys, write AWS::ApiGatewayV2::Route resources", id, key)
		}
		if _, ok := mapOf(routes[key])["RequestParameters"]; ok && key != "$connect" {
			return fmt.Errorf("WebSocket API %s, route %s: SAM takes RequestParameters on $connect only", id, key)
		}
		arn, err := l.prop(id, mapOf(routes[key]), "FunctionArn")
		if err == nil && arn == "" {
			err = errors.New("no FunctionArn")
		}
		var fn string
		if err == nil {
			fn, err = l.functionOf(arn)
		}
		if err != nil {
			return fmt.Errorf("WebSocket API %s, route %s: %w", id, key, err)
		}
		api.Routes = append(api.Routes, Route{Key: key, Function: fn})
	}
	auth := mapOf(props["Auth"])
	if auth == nil {
		return nil
	}
	typ, err := l.prop(id, auth, "AuthType")
	if err != nil {
		return err
	}
	if _, ok := routes["$connect"]; !ok {
		return fmt.Errorf("WebSocket API %s, property Auth: SAM authorizes $connect only, and the API has no $connect route", id)
	}
	if t := strings.ToUpper(typ); (t == "NONE" || t == "AWS_IAM") && len(auth) > 1 {
		return fmt.Errorf("WebSocket API %s, property Auth: AuthType %s takes no other setting, as SAM requires", id, typ)
	}
	switch strings.ToUpper(typ) {
	case "NONE":
	case "AWS_IAM":
		l.warn("WebSocket API %s: AWS_IAM authorization is not checked locally", id)
	case "CUSTOM":
		arn, err := l.prop(id, auth, "AuthArn")
		if err == nil && arn == "" {
			err = errors.New("AuthType CUSTOM needs AuthArn")
		}
		var fn string
		if err == nil {
			fn, err = l.functionOf(arn)
		}
		if err != nil {
			return fmt.Errorf("WebSocket API %s, property Auth: %w", id, err)
		}
		src, err := l.identitySource(id, auth["IdentitySource"])
		if err != nil {
			return err
		}
		api.Authorizer = &Authorizer{Function: fn, IdentitySource: src}
	default:
		return fmt.Errorf("WebSocket API %s, property Auth: AuthType %q is not NONE, AWS_IAM or CUSTOM", id, typ)
	}
	return nil
}

// alphanumeric reports whether s is letters and digits only (Python's
// str.isalnum, which SAM applies to route keys).
func alphanumeric(s string) bool {
	for _, c := range s {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			return false
		}
	}
	return s != ""
}

// functionOf finds the function of this template an integration or
// authorizer URI invokes. uri is a function ARN (possibly with a qualifier) or
// API Gateway's arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/ARN/invocations.
func (l *loader) functionOf(uri string) (string, error) {
	arn := uri
	if _, rest, ok := strings.Cut(uri, ":lambda:path/"); ok {
		_, a, ok1 := strings.Cut(rest, "/functions/")
		a, ok2 := strings.CutSuffix(a, "/invocations")
		if !ok1 || !ok2 {
			return "", fmt.Errorf("%q is not an arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/ARN/invocations URI", uri)
		}
		arn = a
	}
	parts := strings.Split(arn, ":")
	name := arn // a bare function name
	if len(parts) >= 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function" {
		name = parts[6]
	} else if strings.Contains(arn, ":") {
		return "", fmt.Errorf("%q is not a Lambda function ARN", arn)
	}
	if l.functions == nil { // once: a template may have thousands of routes
		l.functions = map[string]string{}
		for _, typ := range []string{"AWS::Serverless::Function", "AWS::Lambda::Function"} {
			for _, id := range l.ofType(typ) {
				if n, err := l.r.ref(id); err == nil {
					if _, dup := l.functions[n.(string)]; !dup {
						l.functions[n.(string)] = id
					}
				}
			}
		}
	}
	if id, ok := l.functions[name]; ok {
		return id, nil
	}
	return "", fmt.Errorf("%q is not a function of this template (lambdaws local runs only the template's own functions: use !GetAtt YourFunction.Arn)", arn)
}
