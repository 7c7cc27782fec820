package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
)

// TestDynaliteVersion: the embedded package.json pins the dynalite of
// tools/package.json, and the lock file locks that version.
func TestDynaliteVersion(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "tools", "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tools struct{ Dependencies map[string]string }
	if err := json.Unmarshal(b, &tools); err != nil {
		t.Fatal(err)
	}
	if v := dynaliteVersion(); v == "" || v != tools.Dependencies["dynalite"] {
		t.Errorf("embedded dynalite %q, tools/package.json %q", v, tools.Dependencies["dynalite"])
	}
	lock, _ := dynaliteFiles.ReadFile("dynalite/package-lock.json")
	var l struct {
		Packages map[string]struct{ Version string }
	}
	if err := json.Unmarshal(lock, &l); err != nil {
		t.Fatal(err)
	}
	if got := l.Packages["node_modules/dynalite"].Version; got != dynaliteVersion() {
		t.Errorf("the lock file has dynalite %q, package.json %q", got, dynaliteVersion())
	}
}

// TestDynamoDBChoice checks the choices that start nothing: --dynamodb aws,
// a URL, the shell's endpoint, a template without tables, and the
// mistakes.
func TestDynamoDBChoice(t *testing.T) {
	tables := []*sam.Table{{LogicalID: "T", Name: "things"}}
	for _, tc := range []struct {
		name   string
		f      localFlags
		env    map[string]string
		tables []*sam.Table
		want   dynamoDB // stop not compared
		out    string
		err    string
	}{
		{"aws", localFlags{dynamodb: "aws"}, map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://x"}, tables,
			dynamoDB{env: map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": ""}}, "--dynamodb aws: the functions use the account's DynamoDB (tables things)", ""},
		{"aws create", localFlags{dynamodb: "aws", createTables: true}, nil, tables, dynamoDB{}, "", "does not create tables in the account"},
		{"url", localFlags{dynamodb: "http://127.0.0.1:8000"}, map[string]string{"AWS_ACCESS_KEY_ID": "k"}, tables,
			dynamoDB{endpoint: "http://127.0.0.1:8000", create: true, env: map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}}, "", ""},
		{"bad url", localFlags{dynamodb: "127.0.0.1:8000"}, nil, tables, dynamoDB{}, "", "want aws, local, or an endpoint URL"},
		{"shell", localFlags{}, map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://y"}, tables,
			dynamoDB{endpoint: "http://y"}, "", ""},
		{"shell create", localFlags{createTables: true}, map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://y"}, tables,
			dynamoDB{endpoint: "http://y", create: true}, "", ""},
		{"shell generic create", localFlags{createTables: true}, map[string]string{"AWS_ENDPOINT_URL": "http://y"}, tables,
			dynamoDB{}, "", "set AWS_ENDPOINT_URL_DYNAMODB"},
		{"no tables", localFlags{}, nil, nil, dynamoDB{}, "", ""},
		{"dir with url", localFlags{dynamodb: "http://x", dynamoDir: "d"}, nil, tables, dynamoDB{}, "", "--dynamodb-dir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			db, err := startDynamoDB(context.Background(), &tc.f, tc.env, tc.tables, &out)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			db.stop = nil
			if db.endpoint != tc.want.endpoint || db.create != tc.want.create || db.started || !equalMaps(db.env, tc.want.env) {
				t.Errorf("got %+v, want %+v", *db, tc.want)
			}
			if tc.out != "" && !strings.Contains(out.String(), tc.out) || tc.out == "" && out.Len() > 0 {
				t.Errorf("printed %q, want %q", out.String(), tc.out)
			}
		})
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestJSONLines: with --log-format json, the command's lines become JSON
// objects ("warning: " ones at WARN) and JSON lines pass through.
func TestJSONLines(t *testing.T) {
	var buf bytes.Buffer
	now := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	j := &jsonLines{w: &buf, now: now}
	j.Write([]byte("API Api: ws://x/\n  route $default → Fn (two-way)\n"))
	j.Write([]byte("warning: careful\nerror: wrong\n"))
	j.Write([]byte(`{"level":"INFO","message":"already"}` + "\n"))
	want := `{"timestamp":"2026-01-02T03:04:05Z","level":"INFO","message":"API Api: ws://x/"}
{"timestamp":"2026-01-02T03:04:05Z","level":"INFO","message":"  route $default → Fn (two-way)"}
{"timestamp":"2026-01-02T03:04:05Z","level":"WARN","message":"careful"}
{"timestamp":"2026-01-02T03:04:05Z","level":"ERROR","message":"wrong"}
{"level":"INFO","message":"already"}
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

// TestFunctionOutput: a function's lines, wrapped in JSON, or in text with
// a logged stack unfolded.
func TestFunctionOutput(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	var js bytes.Buffer
	f := &functionOutput{name: "Fn", format: "json", out: &js, now: now}
	f.Write([]byte("Fn: plain \"quoted\"\n"))
	f.Write([]byte(`Fn: {"level":"ERROR","message":"x"}` + "\n"))
	want := `{"timestamp":"2026-01-02T03:04:05Z","level":"INFO","function":"Fn","message":"plain \"quoted\""}
{"level":"ERROR","message":"x"}
`
	if js.String() != want {
		t.Errorf("json: got\n%s\nwant\n%s", js.String(), want)
	}

	var text bytes.Buffer
	f = &functionOutput{name: "Fn", format: "text", out: &text, now: now}
	f.Write([]byte("Fn: 2026/01/02 03:04:05 ERROR ws: handler failed route=$default stack=\"goroutine 7 [running]:\\nmain.f()\\n\\t/x/main.go:9\" error=boom\n"))
	f.Write([]byte("Fn: stack=\"one line\"\n"))
	want = "Fn: 2026/01/02 03:04:05 ERROR ws: handler failed route=$default error=boom\n" +
		"Fn:     goroutine 7 [running]:\nFn:     main.f()\nFn:     \t/x/main.go:9\n" +
		"Fn: stack=\"one line\"\n"
	if text.String() != want {
		t.Errorf("text: got\n%s\nwant\n%s", text.String(), want)
	}
}

// TestMilliseconds: durations are logged as milliseconds in both formats.
func TestMilliseconds(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		newLogger(format, &buf).Info("m", "duration", 1500*time.Microsecond, "n", 3)
		want := map[string]string{"text": " durationMs=1.5 n=3", "json": `"durationMs":1.5,"n":3`}[format]
		if !strings.Contains(buf.String(), want) {
			t.Errorf("%s: %q, want %q", format, buf.String(), want)
		}
	}
	var buf bytes.Buffer
	newLogger("json", &buf).Info("m")
	var v map[string]any
	if err := json.Unmarshal(buf.Bytes(), &v); err != nil || v["message"] != "m" || v["timestamp"] == nil {
		t.Errorf("json line %q: %v", buf.String(), err)
	}
}

// TestDynamoDBWithoutNode: without node, a template's tables stay the
// account's, with a warning saying how to get a local DynamoDB; asked for
// explicitly, it is an error.
func TestDynamoDBWithoutNode(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	tables := []*sam.Table{{LogicalID: "T", Name: "things"}}
	var out bytes.Buffer
	db, err := startDynamoDB(context.Background(), &localFlags{}, nil, tables, &out)
	if err != nil || db.endpoint != "" || db.env != nil {
		t.Fatalf("%+v, %v", db, err)
	}
	for _, want := range []string{"warning: the template has DynamoDB tables (things)", "node and npm", "install Node.js", "--dynamodb http://127.0.0.1:8000"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("printed %q, want %q", out.String(), want)
		}
	}
	if _, err := startDynamoDB(context.Background(), &localFlags{dynamodb: "local"}, nil, tables, &out); err == nil || !strings.Contains(err.Error(), "node and npm") {
		t.Errorf("--dynamodb local without node: %v", err)
	}
}

// TestThrottled: a function with ReservedConcurrentExecutions 0 fails every
// invocation as Lambda's throttle, and the start says so.
func TestThrottled(t *testing.T) {
	var out bytes.Buffer
	s := &session{f: &localFlags{logFormat: "text"}, out: &out, logger: newLogger("text", &out), trust: &localTLS{}, db: &dynamoDB{}}
	zero := 0
	f, err := s.newFunction(nil, &sam.Function{LogicalID: "Fn", ReservedConcurrency: &zero}, "/nonexistent")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Invoke(context.Background(), []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "TooManyRequestsException: Rate Exceeded.") {
		t.Errorf("invoke: %v, want a TooManyRequestsException", err)
	}
	if !strings.Contains(out.String(), "note: function Fn has ReservedConcurrentExecutions 0") {
		t.Errorf("printed %q", out.String())
	}

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	f, err = s.newFunction(nil, &sam.Function{LogicalID: "Warm", ProvisionedConcurrency: 2, MemorySize: 128, Timeout: time.Second}, self)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if !strings.Contains(out.String(), "note: function Warm: provisioned concurrency (2) is not emulated") {
		t.Errorf("printed %q", out.String())
	}
}
