package registry

import (
	"encoding/json"
	"strings"
	"testing"
)

var validCases = []string{
	``, ` `, `{}`, `[]`, `{"a":1}`, `{"a" : [1, 2.5e-3, -0, true, false, null, "x\u00e9\n"]}`, "{\r\n\t\"a\": 1\r\n}",
	`{"a":1,}`, `[1,]`, `{"a"}`, `{a:1}`, `01`, `1.`, `.5`, `1e`, `1e+`, `-`, `--1`, `"\x"`, `"\u12"`, `"\u12g4"`,
	"\"a\x01\"", "\"\xff\xfe\"", `tru`, `nul`, `truex`, `{"a":1}}`, `[1] [2]`, `"abc`, `{"a":1 "b":2}`, `[1 2]`,
	`{"a":{"b":{"c":[[[]]]}}}`, `  "x"  `, "\v1", `1 `, `{"\"":"\\"}`, `[-1.0E+2]`, `[1E5]`, `[0.0e0]`,
}

// TestValid: valid agrees with json.Valid, nesting limit included.
func TestValid(t *testing.T) {
	for _, s := range validCases {
		if got, want := valid([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("valid(%q) = %v, json.Valid = %v", s, got, want)
		}
	}
	for _, depth := range []int{maxDepth, maxDepth + 1} {
		s := strings.Repeat("[", depth) + strings.Repeat("]", depth)
		if got, want := valid([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("valid(%d nested arrays) = %v, json.Valid = %v", depth, got, want)
		}
	}
}

// FuzzValid checks valid against json.Valid on arbitrary input.
func FuzzValid(f *testing.F) {
	for _, s := range validCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := valid(b), json.Valid(b); got != want {
			t.Fatalf("valid(%q) = %v, json.Valid = %v", b, got, want)
		}
	})
}

// TestRouteNoAllocation: choosing a custom route from a body allocates
// nothing (the key is the registered string, not one made from the body).
func TestRouteNoAllocation(t *testing.T) {
	var tbl Table[int]
	for i, k := range []string{Connect, Default, "sendmessage"} {
		if err := tbl.Add(k, i); err != nil {
			t.Fatal(err)
		}
	}
	expr, _ := ParseExpression(DefaultExpression)
	body := []byte(`{"action":"sendmessage","text":"hello"}`)
	var key string
	allocs := testing.AllocsPerRun(100, func() { key, _, _ = tbl.Route(Default, body, expr) })
	if key != "sendmessage" || allocs != 0 {
		t.Errorf("Route = %q with %v allocations, want sendmessage with 0", key, allocs)
	}
}
