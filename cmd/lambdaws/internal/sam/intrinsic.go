package sam

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// shortTags maps CloudFormation's YAML short-form tags to the keys of their
// long forms.
var shortTags = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition",
	"!Sub": "Fn::Sub", "!GetAtt": "Fn::GetAtt", "!Join": "Fn::Join", "!Select": "Fn::Select",
	"!Split": "Fn::Split", "!If": "Fn::If", "!Equals": "Fn::Equals", "!And": "Fn::And",
	"!Or": "Fn::Or", "!Not": "Fn::Not", "!FindInMap": "Fn::FindInMap", "!Base64": "Fn::Base64",
	"!ImportValue": "Fn::ImportValue", "!GetAZs": "Fn::GetAZs", "!Cidr": "Fn::Cidr",
	"!Transform": "Fn::Transform",
}

// maxTemplate is CloudFormation's limit on a template's size: 1 MB
// (1,048,576 bytes) for a template in S3, as sam deploy uploads it. A
// template passed inline (TemplateBody) may have only 51,200 bytes.
const maxTemplate = 1 << 20

// maxValues bounds the values a template decodes into, YAML aliases
// expanded (a template of 1 MB without aliases has fewer).
const maxValues = 1 << 20

// maxDuplicateWarnings bounds the warnings about duplicate keys.
const maxDuplicateWarnings = 10

// decoded is a template decoded: its values, its node tree (for lines),
// and what was read differently from a strict YAML reader.
type decoded struct {
	doc      map[string]any
	root     *yaml.Node
	warnings []string
}

// decode parses a YAML (or JSON) template into generic values, with short
// tags such as !Ref rewritten into their long forms ({"Ref": ...}).
func decode(data []byte) (*decoded, error) {
	if len(data) > maxTemplate {
		return nil, fmt.Errorf("the template has %d bytes, over CloudFormation's limit of 1,048,576 bytes (1 MB, for a template in S3)", len(data))
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	if err := longForm(&root); err != nil {
		return nil, err
	}
	d := &decoder{left: maxValues, expanding: map[*yaml.Node]bool{}, aliased: map[*yaml.Node]expansion{}}
	v, err := d.value(&root)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, errors.New("the template is empty")
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the template is %s, not a mapping", describe(v))
	}
	if d.duplicates > maxDuplicateWarnings {
		d.warnings = append(d.warnings, fmt.Sprintf("%d more keys are defined twice", d.duplicates-maxDuplicateWarnings))
	}
	return &decoded{doc, &root, d.warnings}, nil
}

// decoder turns a YAML node tree into generic values as yaml.v3 decodes
// into an interface{}, but finds duplicate keys with a map (yaml.v3 compares
// every pair of keys of a mapping: 40 s for one of 100,000 keys), and keeps
// the last of them with a warning, as SAM CLI's reader (PyYAML) keeps it.
type decoder struct {
	left       int                 // values it may still make
	expanding  map[*yaml.Node]bool // anchored nodes whose alias is being expanded
	aliased    map[*yaml.Node]expansion
	duplicates int
	warnings   []string
}

// expansion is the value of an anchored node, shared by its aliases (what
// reads the template never changes a value), and how many values it counts
// for.
type expansion struct {
	v    any
	size int
}

func (d *decoder) value(n *yaml.Node) (any, error) {
	if d.left--; d.left < 0 {
		return nil, fmt.Errorf("the template makes over %d values (YAML aliases?)", maxValues)
	}
	switch n.Kind {
	case 0: // an empty document
		return nil, nil
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return d.value(n.Content[0])
	case yaml.AliasNode:
		if e, ok := d.aliased[n.Alias]; ok {
			if d.left -= e.size; d.left < 0 {
				return nil, fmt.Errorf("the template makes over %d values (YAML aliases?)", maxValues)
			}
			return e.v, nil
		}
		if d.expanding[n.Alias] {
			return nil, fmt.Errorf("line %d: alias *%s is inside its own anchor", n.Line, n.Value)
		}
		d.expanding[n.Alias] = true
		defer delete(d.expanding, n.Alias)
		left := d.left
		v, err := d.value(n.Alias)
		if err == nil {
			d.aliased[n.Alias] = expansion{v, left - d.left}
		}
		return v, err
	case yaml.ScalarNode:
		if n.ShortTag() == "!!str" {
			return n.Value, nil
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, err
		}
		return v, nil
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			var err error
			if out[i], err = d.value(c); err != nil {
				return nil, err
			}
		}
		return out, nil
	case yaml.MappingNode:
		return d.mapping(n)
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

// mapping decodes a mapping node. Of a key defined twice, the last is kept;
// keys merged in with "<<" give way to its own, and later merged mappings to
// earlier ones as YAML's merge key says.
func (d *decoder) mapping(n *yaml.Node) (map[string]any, error) {
	out := make(map[string]any, len(n.Content)/2)
	lines := make(map[string]int, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: a mapping key must be a scalar", k.Line)
		}
		if line, dup := lines[k.Value]; dup {
			if d.duplicates++; d.duplicates <= maxDuplicateWarnings {
				d.warnings = append(d.warnings, fmt.Sprintf("line %d: %s is defined again (first at line %d); the last one is used, as SAM CLI does", k.Line, quoteName(k.Value), line))
			}
		}
		lines[k.Value] = k.Line
		x, err := d.value(v)
		if err != nil {
			return nil, err
		}
		out[k.Value] = x
	}
	for _, m := range merges {
		x, err := d.value(m)
		if err != nil {
			return nil, err
		}
		srcs, isList := x.([]any)
		if !isList {
			srcs = []any{x}
		}
		for _, src := range srcs {
			merged, ok := src.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("line %d: a merge key (<<) takes a mapping or a list of mappings", m.Line)
			}
			for k, v := range merged {
				if _, ok := out[k]; !ok {
					out[k] = v
				}
			}
		}
	}
	return out, nil
}

// longForm rewrites every node tagged !X, in its scalar, sequence and mapping
// forms, into a mapping {"Fn::X": node}.
func longForm(n *yaml.Node) error {
	for _, c := range n.Content {
		if err := longForm(c); err != nil {
			return err
		}
	}
	if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return nil
	}
	key, ok := shortTags[n.Tag]
	if !ok {
		return fmt.Errorf("line %d: unknown tag %s", n.Line, n.Tag)
	}
	inner := *n
	inner.Style &^= yaml.TaggedStyle
	switch n.Kind {
	case yaml.ScalarNode:
		inner.Tag = "!!str"
	case yaml.SequenceNode:
		inner.Tag = "!!seq"
	case yaml.MappingNode:
		inner.Tag = "!!map"
	}
	*n = yaml.Node{
		Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column,
		Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, &inner},
	}
	return nil
}

// maxString bounds the strings Fn::Sub and Fn::Join make (a template's
// values are far smaller; a template that doubles a string at every step is
// not).
const maxString = 1 << 20

// noValue is what AWS::NoValue resolves to: the property or list item that
// holds it is dropped.
type noValueType struct{}

var noValue = noValueType{}

// resolver evaluates intrinsic functions against a template's parameters,
// resources, conditions and mappings, with the pseudo parameters of a local
// stack.
type resolver struct {
	params     map[string]any    // resolved parameter values
	paramErrs  map[string]string // why a parameter has no value
	resources  map[string]*resource
	conditions map[string]any
	mappings   map[string]any
	pseudo     map[string]any
	condCache  map[string]bool
	visiting   map[string]bool   // resources whose name is being resolved
	names      map[string]string // resolved names of resources
	depth      int
}

// resource is one entry of a template's Resources.
type resource struct {
	Type       string
	Properties map[string]any
	Metadata   map[string]any
	Condition  string
	// IgnoreGlobals is SAM's resource attribute: "*" or the names of the
	// properties of Globals the resource does not take.
	IgnoreGlobals any
}

// resolve evaluates every intrinsic function in v.
func (r *resolver) resolve(v any) (any, error) {
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > 100 {
		return nil, errors.New("intrinsic functions nest too deeply (a reference cycle?)")
	}
	switch v := v.(type) {
	case map[string]any:
		if isIntrinsic(v) {
			for k, arg := range v {
				return r.intrinsic(k, arg)
			}
		}
		out := make(map[string]any, len(v))
		for _, k := range slices.Sorted(maps.Keys(v)) {
			x, err := r.resolve(v[k])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			if x != noValue {
				out[k] = x
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(v))
		for _, x := range v {
			y, err := r.resolve(x)
			if err != nil {
				return nil, err
			}
			if y != noValue {
				out = append(out, y)
			}
		}
		return out, nil
	}
	return v, nil
}

// resolveString resolves v and requires a string (numbers and booleans are
// written out, as CloudFormation does).
func (r *resolver) resolveString(v any) (string, error) {
	x, err := r.resolve(v)
	if err != nil {
		return "", err
	}
	return scalarString(x)
}

func scalarString(x any) (string, error) {
	switch x := x.(type) {
	case string:
		return x, nil
	case int, int64, uint64, float64, bool:
		return fmt.Sprint(x), nil
	}
	return "", fmt.Errorf("%s where a string is needed", describe(x))
}

func describe(x any) string {
	switch x.(type) {
	case nil:
		return "an empty value"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	case noValueType:
		return "AWS::NoValue"
	}
	return fmt.Sprintf("%v", x)
}

func (r *resolver) list(fn string, arg any, n int) ([]any, error) {
	l, ok := arg.([]any)
	if !ok || (n > 0 && len(l) != n) {
		return nil, fmt.Errorf("%s takes a list of %d items", fn, n)
	}
	return l, nil
}

// pair resolves the arguments of a function that takes [string, value].
func (r *resolver) pair(fn string, arg any) (string, any, error) {
	l, err := r.list(fn, arg, 2)
	if err != nil {
		return "", nil, err
	}
	first, err := r.resolveString(l[0])
	if err != nil {
		return "", nil, err
	}
	second, err := r.resolve(l[1])
	return first, second, err
}

func (r *resolver) intrinsic(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, errors.New("a Ref takes a name")
		}
		return r.ref(name)
	case "Condition":
		name, ok := arg.(string)
		if !ok {
			return nil, errors.New("a Condition takes a name")
		}
		return r.condition(name)
	case "Fn::GetAtt":
		var name, attr string
		switch a := arg.(type) {
		case string:
			name, attr, _ = strings.Cut(a, ".")
		case []any:
			if len(a) != 2 {
				return nil, errors.New("Fn::GetAtt takes [resource, attribute]")
			}
			var err error
			if name, err = r.resolveString(a[0]); err != nil {
				return nil, err
			}
			if attr, err = r.resolveString(a[1]); err != nil {
				return nil, err
			}
		default:
			return nil, errors.New("Fn::GetAtt takes Resource.Attribute or [resource, attribute]")
		}
		return r.getAtt(name, attr)
	case "Fn::Sub":
		switch a := arg.(type) {
		case string:
			return r.sub(a, nil)
		case []any:
			if len(a) != 2 {
				return nil, errors.New("Fn::Sub takes a string or [string, {variables}]")
			}
			s, ok := a[0].(string)
			vars, ok2 := a[1].(map[string]any)
			if !ok || !ok2 {
				return nil, errors.New("Fn::Sub takes a string or [string, {variables}]")
			}
			return r.sub(s, vars)
		}
		return nil, errors.New("Fn::Sub takes a string or [string, {variables}]")
	case "Fn::Join":
		sep, items, err := r.pair(fn, arg)
		if err != nil {
			return nil, err
		}
		parts, ok := items.([]any)
		if !ok {
			return nil, errors.New("Fn::Join: the second item must be a list")
		}
		strs := make([]string, len(parts))
		n := 0
		for i, p := range parts {
			if strs[i], err = scalarString(p); err != nil {
				return nil, fmt.Errorf("Fn::Join: %w", err)
			}
			if n += len(strs[i]) + len(sep); n > maxString {
				return nil, errors.New("Fn::Join: the result is over 1 MiB")
			}
		}
		return strings.Join(strs, sep), nil
	case "Fn::Select":
		is, items, err := r.pair(fn, arg)
		if err != nil {
			return nil, err
		}
		i, err := strconv.Atoi(is)
		if err != nil {
			return nil, fmt.Errorf("Fn::Select: index %q is not a number", is)
		}
		parts, ok := items.([]any)
		if !ok || i < 0 || i >= len(parts) {
			return nil, fmt.Errorf("Fn::Select: index %d is outside the list", i)
		}
		return parts[i], nil
	case "Fn::Split":
		sep, v, err := r.pair(fn, arg)
		if err != nil {
			return nil, err
		}
		s, err := scalarString(v)
		if err != nil {
			return nil, fmt.Errorf("Fn::Split: %w", err)
		}
		var out []any
		for _, p := range strings.Split(s, sep) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::If":
		l, err := r.list(fn, arg, 3)
		if err != nil {
			return nil, err
		}
		name, ok := l[0].(string)
		if !ok {
			return nil, errors.New("Fn::If: the first item must be a condition name")
		}
		c, err := r.condition(name)
		if err != nil {
			return nil, err
		}
		if c {
			return r.resolve(l[1])
		}
		return r.resolve(l[2])
	case "Fn::Equals":
		a, v, err := r.pair(fn, arg)
		if err != nil {
			return nil, err
		}
		b, err := scalarString(v)
		if err != nil {
			return nil, fmt.Errorf("Fn::Equals: %w", err)
		}
		return a == b, nil
	case "Fn::And", "Fn::Or", "Fn::Not":
		l, ok := arg.([]any)
		if !ok || len(l) == 0 || (fn == "Fn::Not" && len(l) != 1) {
			return nil, fmt.Errorf("%s takes a list of conditions", fn)
		}
		result := fn == "Fn::And"
		for _, c := range l {
			v, err := r.resolve(c)
			if err != nil {
				return nil, err
			}
			b, ok := v.(bool)
			if !ok {
				return nil, fmt.Errorf("%s: %s is not a condition", fn, describe(v))
			}
			switch fn {
			case "Fn::Not":
				return !b, nil
			case "Fn::And":
				result = result && b
			default:
				result = result || b
			}
		}
		return result, nil
	case "Fn::FindInMap": // Mappings hold literal values only: see checkMappings
		l, err := r.list(fn, arg, 3)
		if err != nil {
			return nil, err
		}
		var v any = r.mappings
		for _, k := range l {
			key, err := r.resolveString(k)
			if err != nil {
				return nil, err
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("Fn::FindInMap: %q is not a mapping", key)
			}
			if v, ok = m[key]; !ok {
				return nil, fmt.Errorf("Fn::FindInMap: no key %q in Mappings", key)
			}
		}
		return r.resolve(v)
	case "Fn::Base64":
		s, err := r.resolveString(arg)
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	}
	return nil, fmt.Errorf("%s is not supported by lambdaws local", fn)
}

// checkMappings refuses intrinsic functions in the Mappings section, as
// CloudFormation does (a mapping that looks up others twice at each level
// expands exponentially).
func checkMappings(mappings map[string]any) error {
	for _, name := range slices.Sorted(maps.Keys(mappings)) {
		if fn := findIntrinsic(mappings[name]); fn != "" {
			return fmt.Errorf("mapping %s: %s: CloudFormation allows only literal values in Mappings, no intrinsic functions", name, fn)
		}
	}
	return nil
}

// findIntrinsic returns the name of an intrinsic function (Ref, Fn::*) in
// v, or "". A key Condition is a mapping's key here.
func findIntrinsic(v any) string {
	switch v := v.(type) {
	case map[string]any:
		if isIntrinsic(v) {
			for k := range v {
				if k != "Condition" {
					return k
				}
			}
		}
		for _, x := range v {
			if fn := findIntrinsic(x); fn != "" {
				return fn
			}
		}
	case []any:
		for _, x := range v {
			if fn := findIntrinsic(x); fn != "" {
				return fn
			}
		}
	}
	return ""
}

func (r *resolver) condition(name string) (bool, error) {
	if b, ok := r.condCache[name]; ok {
		return b, nil
	}
	def, ok := r.conditions[name]
	if !ok {
		return false, fmt.Errorf("no condition %q in Conditions", name)
	}
	v, err := r.resolve(def)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("condition %s is %s, not a condition function", name, describe(v))
	}
	r.condCache[name] = b
	return b, nil
}

// ref resolves Ref: a pseudo parameter, a parameter, or a resource, whose
// "physical id" here is its name property (TableName, FunctionName) or its
// logical id.
func (r *resolver) ref(name string) (any, error) {
	if v, ok := r.pseudo[name]; ok {
		return v, nil
	}
	if name == "AWS::NoValue" {
		return noValue, nil
	}
	if v, ok := r.params[name]; ok {
		return v, nil
	}
	if why, ok := r.paramErrs[name]; ok {
		return nil, errors.New(why)
	}
	res, ok := r.resources[name]
	if !ok {
		return nil, fmt.Errorf("no parameter or resource %s (Ref %s)", name, name)
	}
	switch res.Type {
	case "AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable":
		return r.nameProperty(name, res, "TableName")
	case "AWS::Serverless::Function", "AWS::Lambda::Function":
		return r.nameProperty(name, res, "FunctionName")
	case "AWS::ApiGatewayV2::Api", "AWS::Serverless::WebSocketApi":
		return apiID(name), nil
	case "AWS::ApiGatewayV2::Stage":
		return r.nameProperty(name, res, "StageName")
	}
	return name, nil
}

func (r *resolver) nameProperty(logicalID string, res *resource, prop string) (string, error) {
	v, ok := res.Properties[prop]
	if !ok {
		return logicalID, nil
	}
	if name, ok := r.names[logicalID]; ok {
		return name, nil
	}
	if r.visiting[logicalID] {
		return "", fmt.Errorf("%s.%s refers to itself", logicalID, prop)
	}
	r.visiting[logicalID] = true
	defer delete(r.visiting, logicalID)
	x, err := r.resolve(v)
	s := logicalID // AWS::NoValue: no name given
	if err == nil && x != noValue {
		s, err = scalarString(x)
	}
	if err != nil {
		return "", fmt.Errorf("%s.%s: %w", logicalID, prop, err)
	}
	r.names[logicalID] = s
	return s, nil
}

// getAtt resolves the attributes a WebSocket app commonly reads: ARNs of
// functions and tables, and API ids.
func (r *resolver) getAtt(name, attr string) (any, error) {
	res, ok := r.resources[name]
	if !ok {
		return nil, fmt.Errorf("Fn::GetAtt %s.%s: no resource %s", name, attr, name)
	}
	arn := func(service, rest string) string {
		return fmt.Sprintf("arn:%s:%s:%s:%s:%s", r.pseudo["AWS::Partition"], service,
			r.pseudo["AWS::Region"], r.pseudo["AWS::AccountId"], rest)
	}
	switch res.Type + "." + attr {
	case "AWS::Serverless::Function.Arn", "AWS::Lambda::Function.Arn":
		fn, err := r.ref(name)
		if err != nil {
			return nil, err
		}
		return arn("lambda", "function:"+fn.(string)), nil
	case "AWS::DynamoDB::Table.Arn", "AWS::Serverless::SimpleTable.Arn":
		t, err := r.ref(name)
		if err != nil {
			return nil, err
		}
		return arn("dynamodb", "table/"+t.(string)), nil
	case "AWS::DynamoDB::Table.StreamArn":
		t, err := r.ref(name)
		if err != nil {
			return nil, err
		}
		return arn("dynamodb", "table/"+t.(string)+"/stream/1970-01-01T00:00:00.000"), nil
	case "AWS::ApiGatewayV2::Api.ApiId", "AWS::Serverless::WebSocketApi.ApiId":
		return apiID(name), nil
	case "AWS::ApiGatewayV2::Api.ApiEndpoint", "AWS::Serverless::WebSocketApi.ApiEndpoint":
		// As on AWS; Parse rewrites it to the local address (see rewriteHosts).
		return "wss://" + apiHost(apiID(name), r.pseudo["AWS::Region"].(string), r.pseudo["AWS::URLSuffix"].(string)), nil
	case "AWS::IAM::Role.Arn":
		return fmt.Sprintf("arn:%s:iam::%s:role/%s", r.pseudo["AWS::Partition"], r.pseudo["AWS::AccountId"], name), nil
	}
	return nil, fmt.Errorf("Fn::GetAtt %s.%s: lambdaws local does not know attribute %s of %s", name, attr, attr, res.Type)
}

// sub resolves Fn::Sub: ${Name} is a variable, a parameter, a resource or a
// pseudo parameter, ${Res.Attr} an attribute, and ${!Text} the literal ${Text}.
// Each name is resolved once, however often s names it.
func (r *resolver) sub(s string, vars map[string]any) (string, error) {
	var b strings.Builder
	seen := map[string]string{}
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		s = s[i+2:]
		j := strings.Index(s, "}")
		if j < 0 {
			return "", errors.New("Fn::Sub: ${ without }")
		}
		name := s[:j]
		s = s[j+1:]
		if strings.HasPrefix(name, "!") {
			b.WriteString("${" + name[1:] + "}")
			continue
		}
		str, ok := seen[name]
		if !ok {
			var v any
			var err error
			if def, ok := vars[name]; ok {
				v, err = r.resolve(def)
			} else if res, attr, ok := strings.Cut(name, "."); ok {
				v, err = r.getAtt(res, attr)
			} else {
				v, err = r.ref(name)
			}
			if err != nil {
				return "", err
			}
			if str, err = scalarString(v); err != nil {
				return "", fmt.Errorf("Fn::Sub: ${%s} is %w", name, err)
			}
			seen[name] = str
		}
		if b.Len()+len(str) > maxString {
			return "", errors.New("Fn::Sub: the result is over 1 MiB")
		}
		b.WriteString(str)
	}
}
