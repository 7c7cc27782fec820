package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// DefaultExpression is API Gateway's usual route selection expression.
const DefaultExpression = "$request.body.action"

// Expression is a parsed route selection expression of the form
// "$request.body.<path>", where path is a dot-separated list of JSON object
// keys. The zero Expression never selects a route.
type Expression struct {
	path []string
	// quoted is path[0] in quotes when it is printable ASCII without a
	// quote or a backslash: a body without backslashes can only hold that
	// key verbatim.
	quoted []byte
}

// ParseExpression parses a route selection expression such as
// "$request.body.action" or "$request.body.message.type".
func ParseExpression(s string) (Expression, error) {
	const prefix = "$request.body."
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || rest == "" {
		return Expression{}, fmt.Errorf("registry: route selection expression %q must have the form %s<key>[.<key>...]", s, prefix)
	}
	path := strings.Split(rest, ".")
	for _, p := range path {
		if p == "" {
			return Expression{}, fmt.Errorf("registry: route selection expression %q has an empty key", s)
		}
	}
	e := Expression{path: path}
	if strings.IndexFunc(path[0], func(r rune) bool { return r < 0x20 || r > 0x7e || r == '"' || r == '\\' }) < 0 {
		e.quoted = []byte(`"` + path[0] + `"`)
	}
	return e, nil
}

// String returns the expression in its source form.
func (e Expression) String() string {
	if len(e.path) == 0 {
		return ""
	}
	return "$request.body." + strings.Join(e.path, ".")
}

// Evaluate returns the value the expression selects in body, stringified as
// API Gateway does: a JSON string gives its text, a number or boolean its
// literal. ok is false when body is not valid JSON, the path is missing, or it
// names an object, array or null.
func (e Expression) Evaluate(body []byte) (value string, ok bool) {
	v, ok := e.evaluate(body)
	return string(v), ok
}

// evaluate is Evaluate returning the value as bytes, within body unless the
// value is a string with escapes.
func (e Expression) evaluate(body []byte) (value []byte, ok bool) {
	if len(e.path) == 0 {
		return nil, false
	}
	// Most bodies lack the key: say so without parsing them.
	if e.quoted != nil && bytes.IndexByte(body, '\\') < 0 && !bytes.Contains(body, e.quoted) {
		return nil, false
	}
	if !json.Valid(body) {
		return nil, false
	}
	v := body
	for _, key := range e.path {
		if v, ok = member(v, key); !ok {
			return nil, false
		}
	}
	switch {
	case len(v) == 0 || v[0] == '{' || v[0] == '[' || v[0] == 'n':
		return nil, false
	case v[0] == '"':
		if plain(v) {
			return v[1 : len(v)-1], true
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil, false
		}
		return []byte(s), true
	default:
		return v, true
	}
}

// member returns the raw value of key in the JSON object v, which must be
// valid JSON. Later duplicates win, as in encoding/json.
func member(v []byte, key string) (val []byte, found bool) {
	s := scanner{b: v}
	s.space()
	if !s.consume('{') {
		return nil, false
	}
	for {
		s.space()
		if s.consume('}') {
			return val, found
		}
		k := s.value()
		s.space()
		s.consume(':')
		s.space()
		start := s.i
		s.value()
		if keyEquals(k, key) {
			val, found = v[start:s.i], true
		}
		s.space()
		s.consume(',')
	}
}

// keyEquals reports whether the quoted JSON string k decodes to key.
func keyEquals(k []byte, key string) bool {
	if len(k) < 2 {
		return false
	}
	if plain(k) {
		return string(k[1:len(k)-1]) == key
	}
	var s string
	return json.Unmarshal(k, &s) == nil && s == key
}

// plain reports whether the quoted JSON string q needs no decoding: no
// escapes and valid UTF-8 (encoding/json replaces invalid bytes).
func plain(q []byte) bool {
	return bytes.IndexByte(q, '\\') < 0 && utf8.Valid(q)
}

// scanner walks JSON already known to be valid.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) consume(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// value skips one JSON value and returns its raw bytes.
func (s *scanner) value() []byte {
	start := s.i
	if s.i >= len(s.b) {
		return nil
	}
	switch s.b[s.i] {
	case '"':
		s.i++
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '\\':
				s.i += 2
				continue
			case '"':
				s.i++
				return s.b[start:s.i]
			}
			s.i++
		}
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				s.value()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return s.b[start:s.i]
				}
			}
			s.i++
		}
	default:
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return s.b[start:s.i]
			}
			s.i++
		}
	}
	if s.i > len(s.b) {
		s.i = len(s.b)
	}
	return s.b[start:s.i]
}
