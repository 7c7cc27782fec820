package sam

import (
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

//go:embed properties.yaml
var propertiesYAML []byte

// names are the names properties.yaml allows.
type names struct {
	Attributes    []string `yaml:"attributes"`
	SAMAttributes []string `yaml:"samAttributes"`
	Types         map[string]struct {
		Properties []string            `yaml:"properties"`
		Nested     map[string][]string `yaml:"nested"`
	} `yaml:"types"`
	Globals map[string][]string `yaml:"globals"`
}

var knownNames = sync.OnceValue(func() *names {
	n := &names{}
	if err := yaml.Unmarshal(propertiesYAML, n); err != nil {
		panic("sam: properties.yaml: " + err.Error())
	}
	return n
})

// maxNameErrors bounds the unknown names one error lists.
const maxNameErrors = 20

// checkNames refuses the names that the template's resources of the types
// properties.yaml lists, and its Globals, do not have: a misspelled property
// is an error naming the resource, the line and the closest valid name, as
// CloudFormation and SAM refuse it at deployment.
func checkNames(doc map[string]any, root *yaml.Node) error {
	known := knownNames()
	type unknown struct {
		line int
		msg  string
	}
	var found []unknown
	// check adds the keys of m (at path) not in valid; what says whose
	// they are, hint (when not nil) what to say of a key.
	check := func(path []string, m map[string]any, valid []string, what string, hint func(k string) string) {
		if isIntrinsic(m) {
			return // a value such as !If [...]: CloudFormation resolves it first
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if slices.Contains(valid, k) || k == "Fn::Transform" {
				continue
			}
			msg := fmt.Sprintf("%s %s", what, quoteName(k))
			if hint != nil {
				msg += hint(k)
			} else if s := closest(k, valid); s != "" {
				msg += ": did you mean " + s + "?"
			}
			found = append(found, unknown{keyLine(root, append(slices.Clip(path), k)...), msg})
		}
	}

	resources := mapOf(doc["Resources"])
	for _, id := range slices.Sorted(maps.Keys(resources)) {
		res := mapOf(resources[id])
		typ, _ := res["Type"].(string)
		t, ok := known.Types[typ]
		if !ok {
			continue
		}
		attrs := known.Attributes
		if strings.HasPrefix(typ, "AWS::Serverless::") {
			attrs = append(slices.Clip(attrs), known.SAMAttributes...)
		}
		path := []string{"Resources", id}
		check(path, res, attrs, fmt.Sprintf("resource %s (%s) has no attribute", quoteName(id), typ), nil)
		props := mapOf(res["Properties"])
		if p, ok := res["Properties"]; ok && p != nil && props == nil {
			found = append(found, unknown{keyLine(root, append(path, "Properties")...), fmt.Sprintf("resource %s (%s): Properties is %s, not a mapping", quoteName(id), typ, describe(p))})
		}
		path = append(path, "Properties")
		check(path, props, t.Properties, fmt.Sprintf("resource %s (%s) has no property", quoteName(id), typ), nil)
		checkNested(props, t.Nested, func(sub []string, m map[string]any, valid []string) {
			check(append(slices.Clip(path), sub...), m, valid, fmt.Sprintf("resource %s (%s), property %s, has no", quoteName(id), typ, quoteName(strings.Join(sub, "."))), nil)
		})
	}

	if g, ok := doc["Globals"]; ok {
		globals := mapOf(g)
		if globals == nil {
			found = append(found, unknown{keyLine(root, "Globals"), "Globals is not a mapping of sections (Function: ..., WebSocketApi: ...)"})
		}
		for _, section := range slices.Sorted(maps.Keys(globals)) {
			valid, ok := known.Globals[section]
			path := []string{"Globals", section}
			if !ok {
				msg := fmt.Sprintf("Globals has no section %s", quoteName(section))
				if s := closest(section, slices.Sorted(maps.Keys(known.Globals))); s != "" {
					msg += ": did you mean " + s + "?"
				}
				found = append(found, unknown{keyLine(root, path...), msg})
				continue
			}
			m := mapOf(globals[section])
			if m == nil {
				found = append(found, unknown{keyLine(root, path...), fmt.Sprintf("Globals.%s is %s, not a mapping of properties", section, describe(globals[section]))})
			}
			t := known.Types["AWS::Serverless::"+section]
			check(path, m, valid, fmt.Sprintf("Globals.%s has no property", section), func(k string) string {
				if slices.Contains(t.Properties, k) {
					return ": SAM takes it from each resource only, not from Globals"
				}
				if s := closest(k, valid); s != "" {
					return ": did you mean " + s + "?"
				}
				return ""
			})
			checkNested(m, t.Nested, func(sub []string, m map[string]any, valid []string) {
				check(append(slices.Clip(path), sub...), m, valid, fmt.Sprintf("Globals.%s, property %s, has no", section, quoteName(strings.Join(sub, "."))), nil)
			})
		}
	}

	if len(found) == 0 {
		return nil
	}
	slices.SortStableFunc(found, func(a, b unknown) int { return a.line - b.line })
	if len(found) == 1 {
		return fmt.Errorf("line %d: %s", found[0].line, found[0].msg)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d names that SAM or CloudFormation would refuse:", len(found))
	for i, u := range found {
		if i == maxNameErrors {
			fmt.Fprintf(&b, "\n  and %d more", len(found)-i)
			break
		}
		fmt.Fprintf(&b, "\n  line %d: %s", u.line, u.msg)
	}
	return errors.New(b.String())
}

// quoteName returns a name of the template as it is when it is made of
// letters, digits and _.:$-, else quoted (it may hold anything).
func quoteName(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:$-") == "" {
		return s
	}
	return strconv.Quote(s)
}

// checkNested calls check with the mappings that nested (properties.yaml's
// form) names in props: NAME is props[NAME], NAME.* every value of it.
func checkNested(props map[string]any, nested map[string][]string, check func(path []string, m map[string]any, valid []string)) {
	for _, name := range slices.Sorted(maps.Keys(nested)) {
		prop, each := strings.CutSuffix(name, ".*")
		m := mapOf(props[prop])
		if !each {
			if m != nil {
				check([]string{prop}, m, nested[name])
			}
			continue
		}
		if isIntrinsic(m) {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if v := mapOf(m[k]); v != nil {
				check([]string{prop, k}, v, nested[name])
			}
		}
	}
}

// closest returns the name of valid nearest to name, ignoring case (the
// first of equals), or "" when none is near enough to be a misspelling.
func closest(name string, valid []string) string {
	best, bestDist := "", len(name)/3+2
	for _, v := range valid {
		if d := editDistance(strings.ToLower(name), strings.ToLower(v)); d < bestDist {
			best, bestDist = v, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 100 || len(b) > 100 { // not a misspelling; and bounded work
		return max(len(a), len(b))
	}
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// maxKeyLookups bounds the mappings keyLine visits through merge keys (<<),
// which may name each other many times over.
const maxKeyLookups = 1000

// keyLine returns the line of the key at path (mapping keys from the
// document's root), following aliases and merge keys; the last of duplicate
// keys, as decoding keeps; 0 if it is not found.
func keyLine(root *yaml.Node, path ...string) int {
	line, n, left := 0, root, maxKeyLookups
	for _, key := range path {
		k, v := lookup(n, key, &left)
		if k == nil {
			return line
		}
		line, n = k.Line, v
	}
	return line
}

func lookup(n *yaml.Node, key string, left *int) (k, v *yaml.Node) {
	if *left--; *left < 0 {
		return nil, nil
	}
	for n != nil && (n.Kind == yaml.DocumentNode || n.Kind == yaml.AliasNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else if len(n.Content) > 0 {
			n = n.Content[0]
		} else {
			n = nil
		}
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := len(n.Content) - 2; i >= 0; i -= 2 {
		if c := n.Content[i]; c.Kind == yaml.ScalarNode && c.ShortTag() != "!!merge" && c.Value == key {
			return c, n.Content[i+1]
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if c := n.Content[i]; c.Kind != yaml.ScalarNode || c.ShortTag() != "!!merge" {
			continue
		}
		srcs := []*yaml.Node{n.Content[i+1]}
		if m := n.Content[i+1]; m.Kind == yaml.SequenceNode {
			srcs = m.Content
		}
		for _, src := range srcs {
			if k, v := lookup(src, key, left); k != nil {
				return k, v
			}
		}
	}
	return nil, nil
}
