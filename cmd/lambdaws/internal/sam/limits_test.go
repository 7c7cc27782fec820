package sam_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
)

// minimal is a template with one route, to which a test appends.
const minimal = `Resources:
  Api:
    Type: AWS::Serverless::WebSocketApi
    Properties: {Routes: {$default: {FunctionArn: !GetAtt Fn.Arn}}}
  Fn: {Type: AWS::Serverless::Function, Properties: {CodeUri: fn}}
`

// withFn is minimal with more properties of function Fn.
func withFn(props string) string {
	return minimal[:strings.Index(minimal, "  Fn:")] + "  Fn: {Type: AWS::Serverless::Function, Properties: {CodeUri: fn, " + props + "}}\n"
}

// mappingBomb is a template whose mapping at each level refers to the next
// level twice: 2^levels lookups when expanded.
func mappingBomb(levels int) string {
	var b strings.Builder
	b.WriteString(minimal + "Mappings:\n")
	for i := range levels {
		fmt.Fprintf(&b, "  M%d: {k: {v: [!FindInMap [M%d, k, v], !FindInMap [M%d, k, v]]}}\n", i, i+1, i+1)
	}
	fmt.Fprintf(&b, "  M%d: {k: {v: x}}\n", levels)
	b.WriteString("Globals: {Function: {Environment: {Variables: {VAR: !Join [',', !FindInMap [M0, k, v]]}}}}\n")
	return b.String()
}

// TestMappingsIntrinsic: CloudFormation refuses intrinsic functions in
// Mappings; a mapping that looked up other mappings expanded exponentially
// (45 levels: out of memory).
func TestMappingsIntrinsic(t *testing.T) {
	tpl := mappingBomb(45)
	if len(tpl) > 4096 {
		t.Fatalf("the template has %d bytes", len(tpl))
	}
	_, err := sam.Parse([]byte(tpl), "/app", nil)
	if err == nil || !strings.Contains(err.Error(), "mapping M0:") || !strings.Contains(err.Error(), "Fn::FindInMap") {
		t.Fatalf("error %v, want one naming mapping M0 and Fn::FindInMap", err)
	}
	// Literal mappings still work.
	ok, err := sam.Parse([]byte(minimal+`Mappings: {M: {k: {v: [a, b]}}}
Globals: {Function: {Environment: {Variables: {VAR: !Join ['+', !FindInMap [M, k, v]]}}}}
`), "/app", nil)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "VAR", ok.Functions["Fn"].Environment["VAR"], "a+b")
}

// TestSubVariablesOnce: the variables of Fn::Sub are resolved once per Sub,
// however often the string names them (each level naming the next twice
// was 2^levels resolutions).
func TestSubVariablesOnce(t *testing.T) {
	v := `""`
	for range 60 {
		v = fmt.Sprintf(`!Sub ["${A}${A}", {A: %s}]`, v)
	}
	done := make(chan error, 1)
	go func() {
		_, err := sam.Parse([]byte(minimal+"Globals: {Function: {Environment: {Variables: {VAR: "+v+"}}}}\n"), "/app", nil)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute): // 2^60 resolutions never end
		t.Fatal("Parse did not end")
	}
}

// bigMapping is a template of about size bytes with one mapping of many
// keys (a 1 MB one has 130,000).
func bigMapping(size int) []byte {
	var b strings.Builder
	b.WriteString(minimal + "Metadata:\n  Big: {")
	for i := 0; b.Len() < size-16; i++ {
		fmt.Fprintf(&b, "%s: 1, ", strconv.FormatInt(int64(i), 36))
	}
	b.WriteString("end_: 1}\n")
	return []byte(b.String())
}

// TestTemplateSize: templates over CloudFormation's 1 MB limit are refused;
// one just under it loads (it took 40 s: the YAML decoder compared every
// pair of keys of a mapping).
func TestTemplateSize(t *testing.T) {
	_, err := sam.Parse(bigMapping(1<<20+100), "/app", nil)
	if err == nil || !strings.Contains(err.Error(), "1,048,576 bytes") {
		t.Fatalf("error %v, want one about the 1 MB limit", err)
	}
	data := bigMapping(1 << 20)
	if len(data) > 1<<20 {
		t.Fatalf("%d bytes", len(data))
	}
	start := time.Now()
	if _, err := sam.Parse(data, "/app", nil); err != nil {
		t.Fatal(err)
	}
	// About 0.3 s of CPU (BenchmarkParseBigMapping; BENCHMARKS.md). The
	// bound only catches the quadratic decoder (40 s without -race on an idle
	// machine, minutes with it); it leaves room for -race on a loaded machine,
	// where this took 44 s.
	if d := time.Since(start); d > 3*time.Minute {
		t.Errorf("loading %d bytes took %s", len(data), d)
	}
}

// BenchmarkParseBigMapping measures loading a 1 MB template with one
// mapping of 130,000 keys.
func BenchmarkParseBigMapping(b *testing.B) {
	data := bigMapping(1 << 20)
	for b.Loop() {
		if _, err := sam.Parse(data, "/app", nil); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDuplicateKeys: a key defined twice is the last one, with a warning
// naming both lines, as SAM CLI's reader (PyYAML) keeps it.
func TestDuplicateKeys(t *testing.T) {
	tpl, err := sam.Parse([]byte(minimal+`  Fn:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: fn, Timeout: 5, Timeout: 7}
Mappings: {M: {a: {v: x}, b: {v: y}, a: {v: z}}}
`), "/app", nil)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "timeout", tpl.Functions["Fn"].Timeout, 7*time.Second)
	equal(t, "warnings", tpl.Warnings, []string{
		"line 6: Fn is defined again (first at line 5); the last one is used, as SAM CLI does",
		"line 8: Timeout is defined again (first at line 8); the last one is used, as SAM CLI does",
		"line 9: a is defined again (first at line 9); the last one is used, as SAM CLI does",
	})

	// Many: ten warnings and a count.
	var b strings.Builder
	b.WriteString(minimal + "Metadata:\n")
	for range 30 {
		b.WriteString("  k: v\n")
	}
	tpl, err = sam.Parse([]byte(b.String()), "/app", nil)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "warnings", len(tpl.Warnings), 11)
	equal(t, "last warning", tpl.Warnings[10], "19 more keys are defined twice")
}

// TestLambdaRules: values Lambda refuses are refused at load, naming the
// function, the property and the rule.
func TestLambdaRules(t *testing.T) {
	fn := withFn
	env := func(name, value string) string {
		return fn(fmt.Sprintf("Environment: {Variables: {%q: %q}}", name, value))
	}
	for _, tc := range []struct {
		name, template string
		want           []string
	}{
		{"name with =", env("A=B", "x"), []string{"function Fn, property Environment.Variables", `"A=B"`, "a letter, then letters, digits or _"}},
		{"name with NUL", env("A\x00B", "x"), []string{"function Fn, property Environment.Variables", `"A\x00B"`}},
		{"one letter", env("A", "x"), []string{`"A"`, "at least 2"}},
		{"leading digit", env("1A", "x"), []string{`"1A"`}},
		{"value with NUL", env("AB", "x\x00y"), []string{"AB", "NUL"}},
		{"AWS_REGION", env("AWS_REGION", "eu-west-1"), []string{"function Fn, property Environment.Variables", "AWS_REGION is reserved"}},
		{"_HANDLER", env("_HANDLER", "x"), []string{"_HANDLER is reserved"}},
		{"AWS_LAMBDA_FUNCTION_NAME", env("AWS_LAMBDA_FUNCTION_NAME", "x"), []string{"AWS_LAMBDA_FUNCTION_NAME is reserved"}},
		{"AWS_LAMBDA_RUNTIME_API", env("AWS_LAMBDA_RUNTIME_API", "x"), []string{"AWS_LAMBDA_RUNTIME_API is reserved"}},
		{"in globals", minimal + "Globals: {Function: {Environment: {Variables: {TZ: Europe/Paris}}}}\n", []string{"function Fn", "TZ is reserved"}},
		{"huge timeout", fn("Timeout: 99999999999"), []string{"function Fn, property Timeout", `"99999999999"`, "from 1 to 900"}},
		{"zero timeout", fn("Timeout: 0"), []string{"function Fn, property Timeout", "from 1 to 900"}},
		{"timeout 901", fn("Timeout: 901"), []string{"property Timeout"}},
		{"negative memory", fn("MemorySize: -5"), []string{"function Fn, property MemorySize", `"-5"`, "from 128 to 10240"}},
		{"memory 127", fn("MemorySize: 127"), []string{"property MemorySize"}},
		{"memory 10241", fn("MemorySize: 10241"), []string{"property MemorySize"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sam.Parse([]byte(tc.template), "/app", nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	// The bounds themselves, and names Lambda allows.
	tpl, err := sam.Parse([]byte(fn(`Timeout: 900, MemorySize: 10240, Environment: {Variables: {a_1: x, AWS_LAMBDA_EXEC_WRAPPER: /w, PATH: /bin}}`)), "/app", nil)
	if err != nil {
		t.Fatal(err)
	}
	if f := tpl.Functions["Fn"]; f.Timeout != 900*time.Second || f.MemorySize != 10240 || len(f.Environment) != 3 {
		t.Errorf("%+v", f)
	}
	if _, err := sam.Parse([]byte(fn(`Timeout: 1, MemorySize: 128`)), "/app", nil); err != nil {
		t.Error(err)
	}
}

// aliasBomb is a template whose YAML aliases expand to 10^9 values.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString(minimal + "Metadata:\n  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "  l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	return b.String()
}

// TestYAMLAliases: aliases and merge keys read as YAML says, and a
// template whose aliases expand without end is refused.
func TestYAMLAliases(t *testing.T) {
	_, err := sam.Parse([]byte(aliasBomb()), "/app", nil)
	if err == nil || !strings.Contains(err.Error(), "values") {
		t.Errorf("error %v, want one about too many values", err)
	}
	// An alias inside its own anchor (the fuzzer's find: a recursion a
	// million deep before the bound on values stopped it, 30 s).
	_, err = sam.Parse([]byte(minimal+"Metadata: &a {b: [x, *a]}\n"), "/app", nil)
	if err == nil || !strings.Contains(err.Error(), "alias *a is inside its own anchor") {
		t.Errorf("error %v, want one about a recursive alias", err)
	}
	_, err = sam.Parse([]byte(minimal+"Metadata: &a {<<: *a}\n"), "/app", nil)
	if err == nil || !strings.Contains(err.Error(), "alias *a is inside its own anchor") {
		t.Errorf("error %v, want one about a recursive alias", err)
	}
	tpl, err := sam.Parse([]byte("Globals: {Function: {Environment: {Variables: &vars {ONE: \"1\", TWO: \"2\"}}}}\n"+
		withFn(`Environment: {Variables: {<<: [{TWO: "merged first", THREE: "3"}, *vars], ONE: own}}`)), "/app", nil)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "environment", tpl.Functions["Fn"].Environment, map[string]string{"ONE": "own", "TWO": "merged first", "THREE": "3"})
}

// TestLoggingConfig: LoggingConfig, on the function or in Globals, reaches
// the process as the variables Lambda sets.
func TestLoggingConfig(t *testing.T) {
	tpl, err := sam.Parse([]byte(`
Globals:
  Function:
    LoggingConfig: {LogFormat: JSON, SystemLogLevel: WARN}
Resources:
  Api:
    Type: AWS::Serverless::WebSocketApi
    Properties:
      Routes:
        $connect: {FunctionArn: !GetAtt Default.Arn}
        $default: {FunctionArn: !GetAtt Debug.Arn}
        text: {FunctionArn: !GetAtt Text.Arn}
        raw: {FunctionArn: !GetAtt Raw.Arn}
  Default: {Type: AWS::Serverless::Function, Properties: {CodeUri: fn}}
  Debug:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: fn, LoggingConfig: {ApplicationLogLevel: DEBUG}}
  Text:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: fn, LoggingConfig: {LogFormat: Text, SystemLogLevel: !Ref AWS::NoValue}}
  Raw:
    Type: AWS::Lambda::Function
    Properties: {Code: fn, LoggingConfig: {LogFormat: JSON, ApplicationLogLevel: ERROR}}
`), "/app", nil)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]map[string]string{
		"Default": {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"},
		"Debug":   {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "DEBUG"},
		"Text":    {"AWS_LAMBDA_LOG_FORMAT": "Text"},
		"Raw":     {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "ERROR"},
	} {
		equal(t, id+" environment", tpl.Functions[id].Environment, want)
	}
	equal(t, "Debug logging", tpl.Functions["Debug"].Logging, sam.LoggingConfig{LogFormat: "JSON", ApplicationLogLevel: "DEBUG", SystemLogLevel: "WARN"})
	equal(t, "warnings", tpl.Warnings, []string(nil))

	for _, bad := range []string{"{LogFormat: json}", "{LogFormat: JSON, ApplicationLogLevel: VERBOSE}", "{SystemLogLevel: ERROR}"} {
		_, err := sam.Parse([]byte(minimal+"Globals: {Function: {LoggingConfig: "+bad+"}}\n"), "/app", nil)
		if err == nil || !strings.Contains(err.Error(), "function Fn, property LoggingConfig.") {
			t.Errorf("%s: error %v", bad, err)
		}
	}
	tpl, err = sam.Parse([]byte(minimal+"Globals: {Function: {LoggingConfig: {ApplicationLogLevel: WARN}}}\n"), "/app", nil)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "levels without JSON", tpl.Functions["Fn"].Environment, map[string]string{})
	equal(t, "warnings", tpl.Warnings, []string{"function Fn, property LoggingConfig: log levels apply only with LogFormat JSON; they are ignored"})
}
