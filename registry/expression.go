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
	return Expression{path: path}, nil
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
	if len(e.path) == 0 || !json.Valid(body) {
		return "", false
	}
	v := body
	for _, key := range e.path {
		if v, ok = member(v, key); !ok {
			return "", false
		}
	}
	switch {
	case len(v) == 0 || v[0] == '{' || v[0] == '[' || v[0] == 'n':
		return "", false
	case v[0] == '"':
		if plain(v) {
			return string(v[1 : len(v)-1]), true
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "", false
		}
		return s, true
	default:
		return string(v), true
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
