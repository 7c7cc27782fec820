package sam

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	// Endpoint is the local API's host:port. When set, values that name the
	// API's host on AWS ({id}.execute-api.{region}.amazonaws.com) in
	// environment and stage variables name it instead (Template.Rewrites).
	Endpoint string
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
	// Rewrites say which values Options.Endpoint replaced, for a person.
	Rewrites []string
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
	dec, err := decode(data)
	if err != nil {
		return nil, err
	}
	if err := checkNames(dec.doc, dec.root); err != nil {
		return nil, err
	}
	l := &loader{dir: dir, opts: opts, t: &Template{Functions: map[string]*Function{}, Warnings: dec.warnings}}
	if err := l.init(dec.doc); err != nil {
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
	if opts.Endpoint != "" {
		l.rewriteHosts(opts.Endpoint)
	}
	return l.t, nil
}

type loader struct {
	dir     string
	opts    *Options
	r       *resolver
	globals map[string]any
	t       *Template
	// functions are the template's functions by name (FunctionName or
	// logical id), for functionOf.
	functions map[string]string
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
		res.IgnoreGlobals = m["IgnoreGlobals"]
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

// withGlobals returns the properties of resource id over the Globals
// section's defaults for kind ("Function", "WebSocketApi"), but those its
// IgnoreGlobals names ("*" for all): mappings merge, the resource's scalars
// and intrinsic functions win, lists concatenate, as SAM does.
func (l *loader) withGlobals(kind, id string) (map[string]any, error) {
	res := l.r.resources[id]
	g := mapOf(l.globals[kind])
	switch ig := res.IgnoreGlobals.(type) {
	case nil:
	case string:
		if ig != "*" {
			return nil, fmt.Errorf("resource %s, attribute IgnoreGlobals: %q is neither \"*\" nor a list of properties of Globals.%s", id, ig, kind)
		}
		g = nil
	case []any:
		g = maps.Clone(g)
		for _, name := range ig {
			s, ok := name.(string)
			if _, in := g[s]; !ok || !in {
				return nil, fmt.Errorf("resource %s, attribute IgnoreGlobals: %s is not a property of Globals.%s", id, describe(name), kind)
			}
			delete(g, s)
		}
	default:
		return nil, fmt.Errorf("resource %s, attribute IgnoreGlobals: %s is neither \"*\" nor a list of properties of Globals.%s", id, describe(ig), kind)
	}
	if g == nil {
		return res.Properties, nil
	}
	return merge(g, res.Properties).(map[string]any), nil
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
