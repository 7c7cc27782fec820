package registry_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/lambdaws/lambdaws/registry"
)

func TestParseExpression(t *testing.T) {
	for _, s := range []string{"$request.body.action", "$request.body.a.b.c", "$request.body.$x"} {
		e, err := registry.ParseExpression(s)
		if err != nil || e.String() != s {
			t.Errorf("ParseExpression(%q) = %v, %v", s, e, err)
		}
	}
	for _, s := range []string{"", "$request.body", "$request.body.", "$request.body.a..b", "$request.header.x", "action", "${request.body.action}"} {
		if _, err := registry.ParseExpression(s); err == nil {
			t.Errorf("ParseExpression(%q) accepted", s)
		}
	}
	if (registry.Expression{}).String() != "" {
		t.Error("zero Expression has a non-empty String")
	}
}

func TestEvaluate(t *testing.T) {
	action, _ := registry.ParseExpression(registry.DefaultExpression)
	nested, _ := registry.ParseExpression("$request.body.msg.type")
	tests := []struct {
		e      registry.Expression
		body   string
		want   string
		wantOK bool
	}{
		{action, `{"action":"send"}`, "send", true},
		{action, "\t{ \"x\": [1, {\"action\": \"no\"}], \"action\" : \"yes\" }\n", "yes", true},
		{action, `{"action":"a","action":"b"}`, "b", true}, // last wins, as encoding/json
		{action, `{"action":"\u00e9t\u00e9"}`, "été", true},
		{action, `{"action":"quote\"d"}`, `quote"d`, true},
		{action, `{"action":"été"}`, "été", true},
		{action, `{"action":12.50}`, "12.50", true},
		{action, `{"action":-1e3}`, "-1e3", true},
		{action, `{"action":false}`, "false", true},
		{action, `{"action":null}`, "", false},
		{action, `{"action":["a"]}`, "", false},
		{action, `{"action":{}}`, "", false},
		{action, `{"Action":"send"}`, "", false}, // keys are case-sensitive
		{action, `{}`, "", false},
		{action, `"action"`, "", false},
		{action, `{"action":"send"`, "", false},
		{action, `{"action":"send"} x`, "", false},
		{action, ``, "", false},
		{action, "{\"action\":\"\xff\"}", "\ufffd", true}, // as encoding/json decodes it
		{nested, `{"msg":{"type":"join"}}`, "join", true},
		{nested, `{"msg":"type"}`, "", false},
		{nested, `{"msg":{"kind":"join"},"type":"x"}`, "", false},
		{registry.Expression{}, `{"action":"send"}`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			got, ok := tt.e.Evaluate([]byte(tt.body))
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("%s on %q = %q, %v; want %q, %v", tt.e, tt.body, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// reference evaluates an expression with encoding/json.
func reference(path []string, body []byte) (string, bool) {
	if !json.Valid(body) {
		return "", false
	}
	var v any
	d := json.NewDecoder(strings.NewReader(string(body)))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return "", false
	}
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		if v, ok = m[k]; !ok {
			return "", false
		}
	}
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return fmt.Sprint(x), true
	}
	return "", false
}

// FuzzEvaluate checks the scanner against encoding/json on arbitrary bodies.
func FuzzEvaluate(f *testing.F) {
	for _, s := range []string{`{"action":"send"}`, `{"a":{"action":1}}`, `{"action":"\u0041"}`, `[1,{"action":"x"}]`,
		`{"x":"}\"","action":true}`, `{"action":{"action":"x"}}`, `{"act\\ion":"x"}`, `{"action":"a","action":null}`} {
		f.Add([]byte(s), "action")
	}
	f.Fuzz(func(t *testing.T, body []byte, path string) {
		e, err := registry.ParseExpression("$request.body." + path)
		if err != nil {
			return
		}
		got, ok := e.Evaluate(body)
		want, wantOK := reference(strings.Split(path, "."), body)
		if got != want || ok != wantOK {
			t.Fatalf("%s on %q = %q, %v; encoding/json says %q, %v", e, body, got, ok, want, wantOK)
		}
	})
}

func TestTable(t *testing.T) {
	var tbl registry.Table[string]
	if tbl.Validate() != nil || len(tbl.Keys()) != 0 {
		t.Fatal("zero table is not empty and valid")
	}
	if _, _, ok := tbl.Route("$default", nil, registry.Expression{}); ok {
		t.Error("empty table routed an event")
	}
	for _, k := range []string{"$connect", "$default", "echo"} {
		if err := tbl.Add(k, "h"+k); err != nil {
			t.Fatal(err)
		}
	}
	if err := tbl.Add("echo", "again"); err == nil || !strings.Contains(err.Error(), `duplicate handler for route "echo"`) {
		t.Errorf("duplicate: %v", err)
	}
	if err := tbl.Add("", "x"); err == nil {
		t.Error("empty key accepted")
	}
	if err := tbl.Validate(); err != nil {
		t.Errorf("Validate = %v", err)
	}
	if got := fmt.Sprint(tbl.Keys()); got != "[$connect $default echo]" {
		t.Errorf("Keys = %s", got)
	}
	action, _ := registry.ParseExpression(registry.DefaultExpression)
	tests := []struct{ key, body, want, h string }{
		{"$connect", "", "$connect", "h$connect"},
		{"echo", "", "echo", "hecho"},
		{"$default", `{"action":"echo"}`, "echo", "hecho"},
		{"unknown", `{"action":"echo"}`, "echo", "hecho"},
		{"unknown", `{}`, "$default", "h$default"},
		{"$default", `{"action":"$connect"}`, "$default", "h$default"},
	}
	for _, tt := range tests {
		key, h, ok := tbl.Route(tt.key, []byte(tt.body), action)
		if !ok || key != tt.want || h != tt.h {
			t.Errorf("Route(%q, %q) = %q %q %v; want %q %q", tt.key, tt.body, key, h, ok, tt.want, tt.h)
		}
	}
	if key, _, ok := tbl.Route("$disconnect", nil, action); ok || key != "$disconnect" {
		t.Errorf("$disconnect without handler: %q %v", key, ok)
	}

	// $connect and $disconnect are optional; a table needs a route that
	// receives messages: $default or a custom one.
	for _, tt := range []struct {
		keys  []string
		valid bool
	}{
		{[]string{"$disconnect"}, false},
		{[]string{"$connect", "$disconnect"}, false},
		{[]string{"$default"}, true},
		{[]string{"sendmessage"}, true},
	} {
		var partial registry.Table[int]
		for _, k := range tt.keys {
			_ = partial.Add(k, 1)
		}
		err := partial.Validate()
		if tt.valid != (err == nil) {
			t.Errorf("%q: Validate = %v", tt.keys, err)
		}
		if err != nil && (!strings.Contains(err.Error(), "no route receives messages")) {
			t.Errorf("%q: Validate = %v", tt.keys, err)
		}
	}
}

// BenchmarkRoute is the routing part of a message's dispatch, with a custom
// route registered: the body of ws/testdata/message.json (no "action", so
// $default) and a body naming the custom route.
//
//	go test -run '^$' -bench Route -benchmem ./registry
func BenchmarkRoute(b *testing.B) {
	var tbl registry.Table[int]
	for i, k := range []string{registry.Connect, registry.Default, "sendmessage"} {
		if err := tbl.Add(k, i); err != nil {
			b.Fatal(err)
		}
	}
	expr, _ := registry.ParseExpression(registry.DefaultExpression)
	for _, tc := range []struct{ name, body, want string }{
		{"no-action", "{\r\n\t\"a\": 1\r\n}", registry.Default},
		{"action", `{"action":"sendmessage","text":"hello, everyone"}`, "sendmessage"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			body := []byte(tc.body)
			b.ReportAllocs()
			for b.Loop() {
				if key, _, _ := tbl.Route(registry.Default, body, expr); key != tc.want {
					b.Fatal(key)
				}
			}
		})
	}
}
