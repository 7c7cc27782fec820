//go:build unix

package integration

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/lambdaws/lambdaws/internal/testenv"
)

// runLambdaws runs the lambdaws command in dir to its end and returns its
// output; it must fail when fail is set, else succeed.
func runLambdaws(t *testing.T, dir string, env []string, fail bool, args ...string) string {
	t.Helper()
	buildLambdaws(t)
	cmd := exec.Command(lambdawsBin, args...)
	cmd.Dir = dir
	cmd.Env = append(append(baseEnv(), lambdawsEnv...), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if fail && !errors.As(err, &exit) || !fail && err != nil {
		t.Fatalf("lambdaws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// echoTemplate writes the echo example's template into a temporary
// folder, with CodeUri codeURI ("": the example's folder) and edited by
// edits, pairs of old and new text.
func echoTemplate(t *testing.T, codeURI string, edits ...string) string {
	t.Helper()
	data, err := os.ReadFile(repoPath(t, "examples/echo/template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if codeURI == "" {
		codeURI = repoPath(t, "examples/echo")
	}
	tpl := strings.Replace(string(data), "CodeUri: ./", "CodeUri: "+codeURI, 1)
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(tpl, edits[i]) {
			t.Fatalf("the echo template has no %q", edits[i])
		}
		tpl = strings.Replace(tpl, edits[i], edits[i+1], 1)
	}
	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(path, []byte(tpl), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLocalVersion: lambdaws version and --version print the build's
// module version and Go version.
func TestLocalVersion(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	out := runLambdaws(t, t.TempDir(), nil, false, "version")
	if !strings.HasPrefix(out, "lambdaws ") || !strings.HasSuffix(out, ", "+runtime.Version()+"\n") {
		t.Errorf("version: %q", out)
	}
	if flag := runLambdaws(t, t.TempDir(), nil, false, "--version"); flag != out {
		t.Errorf("--version %q, version %q", flag, out)
	}
}

// TestLocalNoTemplate: run where there is no template, lambdaws local says
// where it looked and how to name one.
func TestLocalNoTemplate(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	dir := t.TempDir()
	out := runLambdaws(t, dir, nil, true, "local", "--addr", "127.0.0.1:0")
	want := "lambdaws: local: no template in " + dir + " (looked for .aws-sam/build/template.yaml, template.yaml, template.yml): run lambdaws local in the folder of your template.yaml, or name it with --template FILE\n"
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
}

// TestLocalMisspelledProperty: a misspelled property is refused before
// anything is built, with its line and the name meant.
func TestLocalMisspelledProperty(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	path := echoTemplate(t, "", "      Timeout: 10\n", "      Timeout: 10\n      Enviroment: {Variables: {TABLE: t}}\n")
	out := runLambdaws(t, t.TempDir(), nil, true, "local", "--template", path, "--addr", "127.0.0.1:0")
	want := "lambdaws: " + path + ": line 54: resource Function (AWS::Serverless::Function) has no property Enviroment: did you mean Environment?\n"
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
}

// TestLocalDuplicateKey: a key defined twice is served as SAM CLI reads it,
// the last one, with a warning naming both lines.
func TestLocalDuplicateKey(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	path := echoTemplate(t, "", "      Timeout: 10\n", "      Timeout: 10\n      Timeout: 12\n")
	p := startLocal(t, nil, "--template", path)
	if _, err := p.waitLog(regexp.MustCompile(`(?m)^warning: line 54: Timeout is defined again \(first at line 53\); the last one is used, as SAM CLI does$`), 1, 10*time.Second); err != nil {
		t.Error(err)
	}
	ctx := testContext(t, time.Minute)
	c := dial(t, ctx, "client", p.URL, nil)
	c.send(ctx, `{"action":"ping"}`)
	if got := c.next(); got != `{"type":"pong"}` {
		t.Errorf("ping: %s", got)
	}
}

// TestLocalNoTableBeforeRefusal: with --create-tables, a template refused
// (here: a function without code) leaves the DynamoDB endpoint as it was.
func TestLocalNoTableBeforeRefusal(t *testing.T) {
	testenv.Integration(t, "the lambdaws command and dynalite")
	endpoint := testenv.Dynalite(t)
	empty := t.TempDir()
	path := echoTemplate(t, empty, "\nOutputs:", `
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: Refused
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      BillingMode: PAY_PER_REQUEST

Outputs:`)
	out := runLambdaws(t, t.TempDir(), append([]string{"AWS_ENDPOINT_URL_DYNAMODB=" + endpoint}, awsEnv...), true,
		"local", "--template", path, "--addr", "127.0.0.1:0", "--create-tables")
	want := "lambdaws: function Function: CodeUri " + empty + " holds no Go main package (no .go file), nor a bootstrap: point CodeUri at the folder of the function's package main, which lambdaws local builds (BuildMethod go1.x needs no sam build)\n"
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	db := dynamodb.New(dynamodb.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	tables, err := db.ListTables(testContext(t, time.Minute), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tables.TableNames) != 0 {
		t.Errorf("tables created for a refused template: %v", tables.TableNames)
	}
}
