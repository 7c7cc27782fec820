package sam_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
)

// FuzzParse checks that no template makes the reader panic or loop.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.*")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("Resources:\n  T: {Type: AWS::DynamoDB::Table, Properties: {TableName: !Ref T}}\n  A: {Type: AWS::ApiGatewayV2::Api, Properties: {ProtocolType: !Sub '${T}'}}\n"))
	// Names that refer to the next twice at every step: 2^40 resolutions
	// without memoizing, a name of 2^41 bytes without a bound.
	chain := "Resources:\n  A: {Type: AWS::ApiGatewayV2::Api, Properties: {ProtocolType: !Ref T0}}\n"
	for i := range 40 {
		chain += fmt.Sprintf("  T%d: {Type: AWS::DynamoDB::Table, Properties: {TableName: !Sub '${T%d}${T%d}'}}\n", i, i+1, i+1)
	}
	f.Add([]byte(chain + "  T40: {Type: AWS::DynamoDB::Table}\n"))
	// What the third round of hardening found: mappings that look up each
	// other, Sub variables naming the next twice, aliases without end,
	// values Lambda refuses.
	f.Add([]byte(mappingBomb(45)))
	sub := `""`
	for range 60 {
		sub = fmt.Sprintf(`!Sub ["${A}${A}", {A: %s}]`, sub)
	}
	f.Add([]byte(minimal + "Globals: {Function: {Environment: {Variables: {VAR: " + sub + "}}}}\n"))
	f.Add([]byte(aliasBomb()))
	f.Add([]byte(minimal + "Globals: {Function: {Timeout: 99999999999, MemorySize: -5, Environment: {Variables: {\"A=\\0\": x, AWS_REGION: y}}}}\n"))
	f.Add([]byte(minimal + "Metadata: {<<: {a: 1}, b: &b {c: 2}, d: {<<: [*b, *b]}}\n"))
	f.Add([]byte(minimal + "Metadata: &a {b: [x, *a]}\n"))
	// Misspelled names (found through merge keys and aliases too), Globals,
	// IgnoreGlobals, duplicate keys.
	f.Add([]byte(withFn("Enviroment: {Variable: {A: b}}, Handle: x") + "Globals: {Function: {FunctionName: f, Environment: {Varaibles: {}}}, Functions: {}}\n"))
	f.Add([]byte(minimal + "  T: {Type: AWS::DynamoDB::Table, Properties: {<<: [&a {Typo: 1}, *a, {<<: *a}]}, Propertes: {}}\n"))
	f.Add([]byte(minimal + "    IgnoreGlobals: [Timeout]\nGlobals: {Function: {Timeout: 5}}\n"))
	f.Add([]byte(minimal + "  Fn: {Type: AWS::Serverless::Function, Properties: {CodeUri: a, CodeUri: b}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tpl, err := sam.Parse(data, "/app", nil)
		if err == nil && (tpl.API == nil || len(tpl.API.Routes) == 0) {
			t.Errorf("no error and no routes: %+v", tpl.API)
		}
	})
}
