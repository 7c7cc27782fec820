package main

import (
	"context"
	"debug/elf"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
)

func TestParseParameterOverrides(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
		err  string
	}{
		{"", map[string]string{}, ""},
		{"Stage=dev  Table=t", map[string]string{"Stage": "dev", "Table": "t"}, ""},
		{`Tokens="a=ann,b=bob" Name='my app'`, map[string]string{"Tokens": "a=ann,b=bob", "Name": "my app"}, ""},
		{"ParameterKey=Stage,ParameterValue=dev ParameterKey=Empty,ParameterValue=", map[string]string{"Stage": "dev", "Empty": ""}, ""},
		{"Stage", nil, `"Stage" is not Key=Value`},
		{"=x", nil, `"=x" is not Key=Value`},
		{"ParameterKey=Stage", nil, "is not ParameterKey=K,ParameterValue=V"},
	} {
		got, err := parseParameterOverrides(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestReadEnvVars(t *testing.T) {
	dir := t.TempDir()
	write := func(content string) string {
		path := filepath.Join(dir, "env.json")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	got, err := readEnvVars(write(`{"Fn": {"A": "x", "N": 3, "BIG": 1000000, "F": 0.25, "B": true}, "Parameters": {"C": "y"}}`))
	want := map[string]map[string]string{"Fn": {"A": "x", "N": "3", "BIG": "1000000", "F": "0.25", "B": "true"}, "Parameters": {"C": "y"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("%v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{`{"Fn": "x"}`, `{"Fn": {"A": {"nested": 1}}}`, `[`, `{"Fn": {}} x`} {
		if _, err := readEnvVars(write(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestClassify(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, files ...string) string {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(d, f), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	goSrc, boot, both, empty := mk("go", "main.go"), mk("boot", "bootstrap"), mk("both", "bootstrap", "main.go"), mk("empty")
	bracket := mk("fn[1]", "main.go") // not a glob pattern
	fn := func(code, runtime, build string) *sam.Function {
		return &sam.Function{LogicalID: "F", CodeURI: code, Runtime: runtime, BuildMethod: build, Timeout: time.Second}
	}
	hello := mk("hello", "hello")
	go1x := func(code, handler string) *sam.Function {
		return &sam.Function{LogicalID: "F", CodeURI: code, Handler: handler, Runtime: "go1.x", Timeout: time.Second}
	}
	for _, tc := range []struct {
		name string
		fn   *sam.Function
		bin  string // "" for a built binary
		isGo bool
		err  string
	}{
		{"go source", fn(goSrc, "provided.al2023", ""), "", true, ""},
		{"go source in fn[1]", fn(bracket, "provided.al2023", ""), "", true, ""},
		{"go build method", fn(both, "provided.al2", "go1.x"), "", true, ""},
		{"bootstrap", fn(boot, "provided.al2023", ""), filepath.Join(boot, "bootstrap"), false, ""},
		{"bootstrap beside go source", fn(both, "provided.al2023", ""), filepath.Join(both, "bootstrap"), false, ""},
		{"built by sam build", fn(boot, "provided.al2023", "go1.x"), filepath.Join(boot, "bootstrap"), false, ""},
		{"go1.x executable", go1x(hello, "hello"), filepath.Join(hello, "hello"), false, ""},
		{"go1.x source", go1x(goSrc, "hello"), "", true, ""},
		{"go1.x without its executable", go1x(boot, "hello"), "", false, "holds neither the executable hello nor Go source"},
		{"go1.x handler outside CodeUri", go1x(hello, "../hello/hello"), "", false, `Handler "../hello/hello" is not a file name there`},
		{"go1.x without handler", go1x(hello, ""), "", false, `Handler "" is not a file name there`},
		{"java", fn(boot, "java21", ""), "", false, "function F: runtime java21 is not supported"},
		{"empty", fn(empty, "provided.al2023", ""), "", false, "holds neither a bootstrap nor Go source"},
		{"other build method", fn(empty, "provided.al2023", "rust-cargolambda"), "", false, "holds neither a bootstrap nor Go source, and BuildMethod rust-cargolambda is sam build's: run sam build first"},
		{"go build method without source", fn(empty, "provided.al2023", "go1.x"), "", false, "CodeUri " + empty + " holds no Go main package (no .go file), nor a bootstrap: point CodeUri at the folder of the function's package main"},
		{"missing", fn(filepath.Join(dir, "nope"), "provided.al2023", ""), "", false, "is not a folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin, isGo, err := classify(tc.fn)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || isGo != tc.isGo || (tc.bin != "" && bin != tc.bin) {
				t.Fatalf("%q, %v, %v", bin, isGo, err)
			}
			if isGo && (!strings.Contains(bin, filepath.Join("lambdaws", "build")) || strings.HasPrefix(bin, tc.fn.CodeURI)) {
				t.Errorf("built binary %s is not in the user's cache", bin)
			}
			if isGo && tc.fn.Runtime == "go1.x" && filepath.Base(bin) != tc.fn.Handler {
				t.Errorf("built binary %s is not named by Handler %s", bin, tc.fn.Handler)
			}
		})
	}
}

// A binary for another machine (as sam build makes for Lambda) is refused
// with a hint.
func TestRunnable(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := runnable(exe); err != nil {
		t.Errorf("this test binary: %v", err)
	}
	script := filepath.Join(t.TempDir(), "bootstrap")
	os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755)
	if err := runnable(script); err != nil {
		t.Errorf("a script: %v", err)
	}

	// The 64-byte header of a Linux executable for another machine.
	other := elf.EM_AARCH64
	if runtime.GOARCH == "arm64" {
		other = elf.EM_X86_64
	}
	header := make([]byte, 64)
	copy(header, "\x7fELF\x02\x01\x01")
	binary.LittleEndian.PutUint16(header[16:], uint16(elf.ET_EXEC))
	binary.LittleEndian.PutUint16(header[18:], uint16(other))
	binary.LittleEndian.PutUint32(header[20:], 1)
	binary.LittleEndian.PutUint16(header[52:], 64)
	foreign := filepath.Join(t.TempDir(), "bootstrap")
	os.WriteFile(foreign, header, 0o755)
	err = runnable(foreign)
	if err == nil || !strings.Contains(err.Error(), "serve the source template instead") {
		t.Errorf("a binary for %v: %v", other, err)
	}
}

func TestFingerprint(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.go", "package main")
	write("go.mod", "module x")
	paths := []string{dir, filepath.Join(dir, "go.mod"), filepath.Join(dir, "go.sum")}
	before := fingerprint(paths)
	write("main_test.go", "package main")
	write("notes.txt", "x")
	if fingerprint(paths) != before {
		t.Error("a test file or a non-Go file changed the fingerprint")
	}
	for _, change := range []func(){
		func() { write("main.go", "package main // changed") },
		func() { write("other.go", "package main") },
		func() { write("go.sum", "") },
		func() { write("go.mod", "module y") },
		func() { os.Remove(filepath.Join(dir, "other.go")) },
	} {
		before := fingerprint(paths)
		change()
		if fingerprint(paths) == before {
			t.Error("a change to the sources kept the fingerprint")
		}
	}
}

// Without --template, the template of sam build is preferred, as SAM CLI
// does.
func TestDefaultTemplate(t *testing.T) {
	t.Chdir(t.TempDir())
	if _, err := parseLocalFlags([]string{"--addr", "127.0.0.1:0"}, io.Discard); err == nil || !strings.Contains(err.Error(), "--template") {
		t.Fatalf("without a template: %v", err)
	}
	os.WriteFile("template.yaml", nil, 0o644)
	f, err := parseLocalFlags([]string{"--addr", "127.0.0.1:0"}, io.Discard) // not a port another test may hold
	if err != nil || f.template != "template.yaml" {
		t.Fatalf("%+v, %v", f, err)
	}
	built := filepath.Join(".aws-sam", "build", "template.yaml")
	os.MkdirAll(filepath.Dir(built), 0o755)
	os.WriteFile(built, nil, 0o644)
	if f, _ := parseLocalFlags(nil, io.Discard); f.template != built {
		t.Errorf("after sam build: %s", f.template)
	}
	if f, _ := parseLocalFlags([]string{"--template", "other.yaml"}, io.Discard); f.template != "other.yaml" {
		t.Errorf("--template: %s", f.template)
	}
	if f, err := parseLocalFlags([]string{"--log-format", "JSON"}, io.Discard); err != nil || f.logFormat != "json" {
		t.Errorf("--log-format JSON: %v, %v", f, err)
	}
	if _, err := parseLocalFlags([]string{"--log-format", "xml"}, io.Discard); err == nil {
		t.Error("--log-format xml accepted")
	}
	if _, err := parseLocalFlags([]string{"extra"}, io.Discard); err == nil {
		t.Error("an argument was accepted")
	}
}

// TestTableSchema: numbers and booleans given as strings, as CloudFormation
// accepts them (a Number parameter's value is a string), are read.
func TestTableSchema(t *testing.T) {
	tpl, err := sam.Parse([]byte(`
Parameters:
  Capacity: {Type: Number, Default: 5}
  Expire: {Type: String, Default: "true"}
Resources:
  Api:
    Type: AWS::Serverless::WebSocketApi
    Properties: {Routes: {$default: {FunctionArn: !GetAtt Fn.Arn}}}
  Fn: {Type: AWS::Serverless::Function, Properties: {CodeUri: fn}}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      ProvisionedThroughput: {ReadCapacityUnits: !Ref Capacity, WriteCapacityUnits: "2"}
      GlobalSecondaryIndexes:
        - IndexName: byName
          KeySchema: [{AttributeName: pk, KeyType: HASH}]
          Projection: {ProjectionType: ALL}
          ProvisionedThroughput: {ReadCapacityUnits: !Ref Capacity, WriteCapacityUnits: 1}
      TimeToLiveSpecification: {AttributeName: ttl, Enabled: !Ref Expire}
`), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := schemaOf(tpl.Tables[0])
	if err != nil {
		t.Fatal(err)
	}
	if p := s.ProvisionedThroughput; p == nil || *p.ReadCapacityUnits != 5 || *p.WriteCapacityUnits != 2 {
		t.Errorf("ProvisionedThroughput = %+v", p)
	}
	if g := s.GlobalSecondaryIndexes; len(g) != 1 || *g[0].ProvisionedThroughput.ReadCapacityUnits != 5 {
		t.Errorf("GlobalSecondaryIndexes = %+v", g)
	}
	if ttl := s.TimeToLiveSpecification; ttl == nil || !*ttl.Enabled || *ttl.AttributeName != "ttl" {
		t.Errorf("TimeToLiveSpecification = %+v", ttl)
	}
}

// TestReservedVariable: a template whose function sets a variable that the
// Lambda reserves or refuses (or an empty name) is refused with an error that
// names the function and the variable, not a panic.
func TestReservedVariable(t *testing.T) {
	for _, name := range []string{"AWS_LAMBDA_RUNTIME_API", "_LAMBDA_SERVER_PORT", `""`, "AWS_REGION", `"A=B"`} {
		template := bootstrapTemplate(t, `{CodeUri: fn, Environment: {Variables: {`+name+`: "1"}}}`)
		ctx, cancel := context.WithCancel(t.Context())
		cancel() // serve nothing
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s: panic: %v", name, p)
				}
			}()
			err = run(ctx, nil, []string{"local", "--template", template, "--addr", "127.0.0.1:0"}, io.Discard, io.Discard)
		}()
		if err == nil || !strings.Contains(err.Error(), "function Fn") {
			t.Errorf("%s: err = %v, want an error naming function Fn", name, err)
		}
	}
}

// bootstrapTemplate writes a template whose WebSocket API's $default route
// invokes function Fn, with properties fnProps (YAML), and a CodeUri folder
// fn holding a shell bootstrap; it returns the template's path.
func bootstrapTemplate(t *testing.T, fnProps string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "fn"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fn", "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	template := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(template, []byte(`
Resources:
  Api: {Type: AWS::Serverless::WebSocketApi, Properties: {Routes: {$default: {FunctionArn: !GetAtt Fn.Arn}}}}
  Fn:
    Type: AWS::Serverless::Function
    Properties: `+fnProps+`
`), 0o644); err != nil {
		t.Fatal(err)
	}
	return template
}
