package sam

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lambdaws/lambdaws/registry"
)

// Options are what a template is read with.
type Options struct {
	// Parameters override the Default of the template's parameters
	// (--parameter-overrides).
	Parameters map[string]string
	// EnvVars overrides functions' environment variables, in SAM CLI's
	// --env-vars format: a function's logical id, or "Parameters" for every
	// function, to variables. As in SAM CLI, only variables the template
	// declares are overridden.
	EnvVars map[string]map[string]string
	// API picks the WebSocket API by logical id; needed only when the
	// template has several.
	API string
	// Region is AWS::Region. Default "us-east-1".
	Region string
}

// Template is the WebSocket API of a template, with the functions and tables
// it needs, every intrinsic function resolved.
type Template struct {
	API *API
	// Functions are the functions API's routes and authorizer invoke, by
	// logical id.
	Functions map[string]*Function
	// Tables are every DynamoDB table of the template, in logical id order.
	Tables []*Table
	// Warnings are what was read differently from AWS, for a person.
	Warnings []string
}

// API is a WebSocket API: an AWS::ApiGatewayV2::Api with its routes,
// integrations, authorizer, route responses and stage, or an
// AWS::Serverless::WebSocketApi.
type API struct {
	LogicalID                string
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

// Function is an AWS::Serverless::Function or AWS::Lambda::Function with
// Globals applied.
type Function struct {
	LogicalID   string
	CodeURI     string // absolute folder
	Handler     string
	Runtime     string
	BuildMethod string // Metadata.BuildMethod, such as "go1.x"
	MemorySize  int
	Timeout     time.Duration
	// Environment is Environment.Variables, resolved and overridden by
	// Options.EnvVars.
	Environment map[string]string
}

// Table is an AWS::DynamoDB::Table (or AWS::Serverless::SimpleTable, given
// in DynamoDB::Table form).
type Table struct {
	LogicalID string
	Name      string
	// Properties are the table's properties that describe its schema,
	// resolved: AttributeDefinitions, KeySchema, GlobalSecondaryIndexes,
	// LocalSecondaryIndexes, BillingMode, ProvisionedThroughput,
	// TimeToLiveSpecification.
	Properties map[string]any
}

// Load reads the template at path. CodeUri folders are relative to the
// template's folder.
func Load(path string, opts *Options) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	t, err := Parse(data, dir, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Parse reads a template; CodeUri folders are relative to dir.
func Parse(data []byte, dir string, opts *Options) (*Template, error) {
	if opts == nil {
		opts = &Options{}
	}
	doc, err := decode(data)
	if err != nil {
		return nil, err
	}
	l := &loader{dir: dir, opts: opts, t: &Template{Functions: map[string]*Function{}}}
	if err := l.init(doc); err != nil {
		return nil, err
	}
	if err := l.readAPI(); err != nil {
		return nil, err
	}
	for _, r := range l.t.API.Routes {
		if err := l.readFunction(r.Function); err != nil {
			return nil, err
		}
	}
	if a := l.t.API.Authorizer; a != nil {
		if err := l.readFunction(a.Function); err != nil {
			return nil, err
		}
	}
	if err := l.readTables(); err != nil {
		return nil, err
	}
	return l.t, nil
}

type loader struct {
	dir     string
	opts    *Options
	r       *resolver
	globals map[string]any
	t       *Template
}

func (l *loader) warn(format string, args ...any) {
	l.t.Warnings = append(l.t.Warnings, fmt.Sprintf(format, args...))
}

func mapOf(v any) map[string]any { m, _ := v.(map[string]any); return m }

func (l *loader) init(doc map[string]any) error {
	region := orDefault(l.opts.Region, "us-east-1")
	partition, suffix := "aws", "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		partition, suffix = "aws-cn", "amazonaws.com.cn"
	} else if strings.HasPrefix(region, "us-gov-") {
		partition = "aws-us-gov"
	}
	l.r = &resolver{
		params: map[string]any{}, paramErrs: map[string]string{}, resources: map[string]*resource{},
		conditions: mapOf(doc["Conditions"]), mappings: mapOf(doc["Mappings"]), condCache: map[string]bool{}, visiting: map[string]bool{}, names: map[string]string{},
		pseudo: map[string]any{
			"AWS::Region": region, "AWS::AccountId": "123456789012", "AWS::StackName": "local",
			"AWS::StackId":   "arn:" + partition + ":cloudformation:" + region + ":123456789012:stack/local/00000000-0000-0000-0000-000000000000",
			"AWS::Partition": partition, "AWS::URLSuffix": suffix, "AWS::NotificationARNs": []any{},
		},
	}
	if err := checkMappings(l.r.mappings); err != nil {
		return err
	}
	l.globals = mapOf(doc["Globals"])

	params := mapOf(doc["Parameters"])
	for name := range l.opts.Parameters {
		if _, ok := params[name]; !ok {
			l.warn("--parameter-overrides: the template has no parameter %s", name)
		}
	}
	for name, p := range params {
		p := mapOf(p)
		val, ok := l.opts.Parameters[name]
		if !ok {
			d, has := p["Default"]
			if !has {
				l.r.paramErrs[name] = fmt.Sprintf("parameter %s has no Default: pass --parameter-overrides %s=VALUE", name, name)
				continue
			}
			var err error
			if val, err = scalarString(d); err != nil {
				if l, isList := d.([]any); isList { // a list Default of a List<> parameter
					strs := make([]string, len(l))
					for i, x := range l {
						strs[i], _ = scalarString(x)
					}
					val = strings.Join(strs, ",")
				} else {
					return fmt.Errorf("parameter %s: Default is %w", name, err)
				}
			}
		}
		typ, _ := p["Type"].(string)
		if typ == "CommaDelimitedList" || strings.HasPrefix(typ, "List<") {
			var list []any
			for _, s := range strings.Split(val, ",") {
				list = append(list, strings.TrimSpace(s))
			}
			l.r.params[name] = list
		} else {
			l.r.params[name] = val
		}
	}

	for id, v := range mapOf(doc["Resources"]) {
		m := mapOf(v)
		res := &resource{Properties: mapOf(m["Properties"]), Metadata: mapOf(m["Metadata"])}
		res.Type, _ = m["Type"].(string)
		res.Condition, _ = m["Condition"].(string)
		if res.Properties == nil {
			res.Properties = map[string]any{}
		}
		l.r.resources[id] = res
	}
	if len(l.r.resources) == 0 {
		return errors.New("the template has no Resources")
	}
	// Resources whose Condition is false do not exist.
	for id, res := range l.r.resources {
		if res.Condition == "" {
			continue
		}
		ok, err := l.r.condition(res.Condition)
		if err != nil {
			return fmt.Errorf("resource %s: %w", id, err)
		}
		if !ok {
			delete(l.r.resources, id)
		}
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// withGlobals returns props over the Globals section's defaults for kind
// ("Function", "WebSocketApi"): mappings merge, the resource's scalars and
// intrinsic functions win, lists concatenate, as SAM does.
func (l *loader) withGlobals(kind string, props map[string]any) map[string]any {
	g := mapOf(l.globals[kind])
	if g == nil {
		return props
	}
	return merge(g, props).(map[string]any)
}

func merge(global, local any) any {
	switch g := global.(type) {
	case map[string]any:
		loc, ok := local.(map[string]any)
		if !ok || isIntrinsic(g) || isIntrinsic(loc) {
			return local
		}
		out := maps.Clone(g)
		for k, v := range loc {
			if gv, ok := g[k]; ok {
				out[k] = merge(gv, v)
			} else {
				out[k] = v
			}
		}
		return out
	case []any:
		if loc, ok := local.([]any); ok {
			return append(slices.Clone(g), loc...)
		}
	}
	return local
}

// isIntrinsic reports whether m is an intrinsic function ({"Ref": …},
// {"Fn::Sub": …}): a value, not a mapping.
func isIntrinsic(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

// prop resolves property name of resource id to a string; a missing
// property is "".
func (l *loader) prop(id string, props map[string]any, name string) (string, error) {
	v, ok := props[name]
	if !ok {
		return "", nil
	}
	x, err := l.r.resolve(v)
	if x == noValue {
		return "", nil
	}
	var s string
	if err == nil {
		s, err = scalarString(x)
	}
	if err != nil {
		return "", fmt.Errorf("resource %s, property %s: %w; give it a literal value or a parameter (--parameter-overrides)", id, name, err)
	}
	return s, nil
}

// ofType returns the logical ids of the resources of a type, sorted.
func (l *loader) ofType(typ string) []string {
	var ids []string
	for id, res := range l.r.resources {
		if res.Type == typ {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// belongsTo reports whether resource id's ApiId refers to api.
func (l *loader) belongsTo(id, api string) (bool, error) {
	v, err := l.prop(id, l.r.resources[id].Properties, "ApiId")
	return v == api, err
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
		return l.readServerlessAPI(id)
	}
	return l.readV2API(id)
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
		default:
			return fmt.Errorf("route %s (%s): unknown AuthorizationType %s", rid, key, authType)
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

func (l *loader) stringMap(id, prop string, v any) (map[string]string, error) {
	if v == nil {
		return nil, nil
	}
	x, err := l.r.resolve(v)
	if err == nil && mapOf(x) == nil {
		err = errors.New("not a mapping")
	}
	out := map[string]string{}
	for k, val := range mapOf(x) {
		if err == nil {
			out[k], err = scalarString(val)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("resource %s, property %s: %w", id, prop, err)
	}
	return out, nil
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
	props := l.withGlobals("WebSocketApi", l.r.resources[id].Properties)
	api := &API{LogicalID: id}
	l.t.API = api
	if err := l.routeSelection(id, props, api); err != nil {
		return err
	}
	var err error
	if api.Stage, err = l.prop(id, props, "StageName"); err != nil {
		return err
	}
	api.Stage = orDefault(api.Stage, "default")
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
	for _, typ := range []string{"AWS::Serverless::Function", "AWS::Lambda::Function"} {
		for _, id := range l.ofType(typ) {
			if n, err := l.r.ref(id); err == nil && n == name {
				return id, nil
			}
		}
	}
	return "", fmt.Errorf("%q is not a function of this template (lambdaws local runs only the template's own functions: use !GetAtt YourFunction.Arn)", arn)
}

func (l *loader) readFunction(id string) error {
	if _, ok := l.t.Functions[id]; ok {
		return nil
	}
	res := l.r.resources[id]
	props := res.Properties
	fn := &Function{LogicalID: id, MemorySize: 128, Timeout: 3 * time.Second}
	codeProp := "CodeUri"
	if res.Type == "AWS::Serverless::Function" {
		props = l.withGlobals("Function", props)
	} else {
		codeProp = "Code"
	}
	if pt, _ := props["PackageType"].(string); pt == "Image" {
		return fmt.Errorf("function %s: PackageType Image is not supported; lambdaws local runs zip functions (CodeUri)", id)
	}
	var err error
	str := func(name string) string {
		var s string
		if err == nil {
			s, err = l.prop(id, props, name)
		}
		return s
	}
	fn.Handler, fn.Runtime = str("Handler"), str("Runtime")
	mem, timeout := str("MemorySize"), str("Timeout")
	if err != nil {
		return err
	}
	if mem != "" {
		n, err := strconv.Atoi(mem)
		if err != nil || n < 128 || n > 10240 {
			return fmt.Errorf("function %s, property MemorySize: %q is not a whole number of MB from 128 to 10240, as Lambda requires", id, mem)
		}
		fn.MemorySize = n
	}
	if timeout != "" {
		sec, err := strconv.Atoi(timeout)
		if err != nil || sec < 1 || sec > 900 {
			return fmt.Errorf("function %s, property Timeout: %q is not a whole number of seconds from 1 to 900, as Lambda requires", id, timeout)
		}
		fn.Timeout = time.Duration(sec) * time.Second
	}
	fn.BuildMethod, _ = res.Metadata["BuildMethod"].(string)

	code := "." // SAM CLI's default CodeUri
	switch c := props[codeProp].(type) {
	case nil:
	case string:
		code = c
	default:
		// CDK's synthesized templates name the local asset in Metadata.
		asset, ok := res.Metadata["aws:asset:path"].(string)
		if !ok {
			return fmt.Errorf("function %s, property %s: code in S3 or inline cannot run locally; point %s at the function's folder", id, codeProp, codeProp)
		}
		code = asset
	}
	if strings.HasPrefix(code, "s3://") || strings.HasSuffix(code, ".zip") {
		return fmt.Errorf("function %s, property %s: %q cannot run locally; point %s at the function's folder", id, codeProp, code, codeProp)
	}
	if !filepath.IsAbs(code) {
		code = filepath.Join(l.dir, code)
	}
	fn.CodeURI = code

	if err := l.environment(fn, props); err != nil {
		return err
	}
	l.t.Functions[id] = fn
	return nil
}

// environment sets fn.Environment as SAM CLI does: an intrinsic it cannot
// resolve gives "" (with a warning), and --env-vars overrides the variables
// the template declares.
func (l *loader) environment(fn *Function, props map[string]any) error {
	vars := mapOf(mapOf(props["Environment"])["Variables"])
	fn.Environment = map[string]string{}
	overrides := func(name string) (string, bool) {
		if v, ok := l.opts.EnvVars[fn.LogicalID][name]; ok {
			return v, true
		}
		v, ok := l.opts.EnvVars["Parameters"][name]
		return v, ok
	}
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		if v, ok := overrides(name); ok {
			fn.Environment[name] = v
			continue
		}
		v, err := l.r.resolve(vars[name])
		if err == nil && v != noValue {
			var s string
			if s, err = scalarString(v); err == nil {
				fn.Environment[name] = s
				continue
			}
		}
		if v == noValue {
			continue
		}
		fn.Environment[name] = ""
		l.warn("function %s, environment variable %s: %v; it is empty: set it with --env-vars", fn.LogicalID, name, err)
	}
	for _, name := range slices.Sorted(maps.Keys(fn.Environment)) {
		if err := checkEnv(name, fn.Environment[name]); err != nil {
			return fmt.Errorf("function %s, property Environment.Variables: %w", fn.LogicalID, err)
		}
	}
	return nil
}

// reservedEnv are the environment variables Lambda sets and refuses in a
// function's configuration (Lambda's documented reserved list, and
// _LAMBDA_SERVER_PORT of the go1.x runtime).
var reservedEnv = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "TZ", "_LAMBDA_SERVER_PORT",
}

// checkEnv applies Lambda's rules to an environment variable: the name
// matches [a-zA-Z][a-zA-Z0-9_]+ and is not reserved; no value holds NUL
// (a process cannot receive it).
func checkEnv(name, value string) error {
	if slices.Contains(reservedEnv, name) {
		return fmt.Errorf("%s is reserved: Lambda sets it and refuses it in a function's configuration", name)
	}
	ok := len(name) >= 2
	for i, c := range []byte(name) {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		ok = ok && (letter || i > 0 && (c == '_' || c >= '0' && c <= '9'))
	}
	if !ok {
		return fmt.Errorf("name %q: Lambda requires a letter, then letters, digits or _ (at least 2 characters in all)", name)
	}
	if strings.IndexByte(value, 0) >= 0 {
		return fmt.Errorf("%s: the value holds a NUL byte, which no process can receive", name)
	}
	return nil
}

// tableProperties are the properties of AWS::DynamoDB::Table that describe
// its schema.
var tableProperties = []string{"AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes",
	"LocalSecondaryIndexes", "BillingMode", "ProvisionedThroughput", "TimeToLiveSpecification"}

func (l *loader) readTables() error {
	for _, id := range l.ofType("AWS::DynamoDB::Table") {
		res := l.r.resources[id]
		t := &Table{LogicalID: id, Properties: map[string]any{}}
		name, err := l.r.ref(id)
		if err != nil {
			return fmt.Errorf("table %s, property TableName: %w", id, err)
		}
		t.Name = name.(string)
		for _, p := range tableProperties {
			if v, ok := res.Properties[p]; ok {
				x, err := l.r.resolve(v)
				if err != nil {
					return fmt.Errorf("table %s, property %s: %w", id, p, err)
				}
				if x != noValue {
					t.Properties[p] = x
				}
			}
		}
		l.t.Tables = append(l.t.Tables, t)
	}
	for _, id := range l.ofType("AWS::Serverless::SimpleTable") {
		props := l.r.resources[id].Properties
		name, err := l.r.ref(id)
		if err != nil {
			return fmt.Errorf("table %s, property TableName: %w", id, err)
		}
		key := map[string]any{"Name": "id", "Type": "String"}
		if pk := props["PrimaryKey"]; pk != nil {
			x, err := l.r.resolve(pk)
			if err != nil || mapOf(x) == nil {
				return fmt.Errorf("table %s, property PrimaryKey: %v", id, cmpErr(err, "not a mapping"))
			}
			key = mapOf(x)
		}
		typ := map[string]string{"String": "S", "Number": "N", "Binary": "B"}[fmt.Sprint(key["Type"])]
		if typ == "" {
			return fmt.Errorf("table %s, property PrimaryKey: Type %v is not String, Number or Binary", id, key["Type"])
		}
		t := &Table{LogicalID: id, Name: name.(string), Properties: map[string]any{
			"AttributeDefinitions": []any{map[string]any{"AttributeName": key["Name"], "AttributeType": typ}},
			"KeySchema":            []any{map[string]any{"AttributeName": key["Name"], "KeyType": "HASH"}},
			"BillingMode":          "PAY_PER_REQUEST",
		}}
		l.t.Tables = append(l.t.Tables, t)
	}
	slices.SortFunc(l.t.Tables, func(a, b *Table) int { return strings.Compare(a.LogicalID, b.LogicalID) })
	return nil
}

func cmpErr(err error, def string) string {
	if err != nil {
		return err.Error()
	}
	return def
}
