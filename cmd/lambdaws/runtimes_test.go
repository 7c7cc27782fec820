package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
)

func TestLanguage(t *testing.T) {
	for _, tc := range []struct {
		runtime string
		lang    string
		version int
	}{
		{"nodejs20.x", "node", 20}, {"nodejs24.x", "node", 24}, {"nodejs16.x", "node", 16},
		{"python3.12", "python", 12}, {"python3.7", "python", 7},
		{"provided.al2023", "", 0}, {"go1.x", "", 0}, {"java21", "", 0}, {"nodejs", "", 0}, {"python3.12x", "", 0},
	} {
		if lang, v := language(tc.runtime); lang != tc.lang || v != tc.version {
			t.Errorf("language(%q) = %q, %d, want %q, %d", tc.runtime, lang, v, tc.lang, tc.version)
		}
	}
}

func TestRequirements(t *testing.T) {
	for text, want := range map[string]string{
		"":                                      "[] false provided",
		"# nothing\n\n":                         "[] false provided",
		"boto3>=1.20  # runtime\nBotocore==1.3": "[boto3 botocore] false provided",
		"requests\nboto3":                       "[requests boto3] false",
		"-r other.txt\n":                        "[] true",
		"git+https://example.com/x.git":         "[] true",
		"Typing_Extensions ; python_version<'3.12'": "[typing-extensions] false",
	} {
		dir := t.TempDir()
		if text != "" {
			os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte(text), 0o644)
		}
		names, other, err := requirements(dir)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join([]string{"[" + strings.Join(names, " ") + "]", map[bool]string{true: "true", false: "false"}[other]}, " ")
		if !other && onlyRuntimeProvided(names) {
			got += " provided"
		}
		if got != want {
			t.Errorf("%q: %s, want %s", text, got, want)
		}
	}
}

// TestSDKImports finds the @aws-sdk packages that JavaScript sources name,
// in every import form, skipping node_modules and packages the code folder
// (or a parent) already has.
func TestSDKImports(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "fn")
	files := map[string]string{
		"fn/a.mjs":                   `import { S3Client } from "@aws-sdk/client-s3"; import x from '@aws-sdk/lib-dynamodb/dist-cjs/x.js'`,
		"fn/lib/b.js":                "const { SQS } = require('@aws-sdk/client-sqs'); const m = await import(`@aws-sdk/client-sns`)",
		"fn/c.cjs":                   `require("@aws-sdk/client-dynamodb"); require("@aws-sdk/")`,
		"fn/readme.md":               `"@aws-sdk/client-kinesis"`,
		"fn/node_modules/z/index.js": `require("@aws-sdk/client-iam")`,
		"node_modules/@aws-sdk/client-dynamodb/package.json": `{}`,
	}
	for name, text := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"@aws-sdk/client-s3", "@aws-sdk/client-sns", "@aws-sdk/client-sqs", "@aws-sdk/lib-dynamodb"}
	if got := sdkImports(dir); !slices.Equal(got, want) {
		t.Errorf("sdkImports = %q, want %q", got, want)
	}
}

// fakeInterpreter writes an executable script name in bin that prints a
// path and version; it fails, as pyenv's shim does, in a folder holding a
// .python-version.
func fakeInterpreter(t *testing.T, bin, name, version string) {
	t.Helper()
	script := "#!/bin/sh\n[ -f .python-version ] && { echo \"pyenv: version \\`9.9' is not installed\" >&2; exit 1; }\necho " + filepath.Join(bin, name) + "\necho " + version + "\n"
	if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestInterpreters picks the runtime's version when installed, else the
// plain command with a warning, and never fails because of a
// .python-version in the working folder.
func TestInterpreters(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the stand-ins are shell scripts")
	}
	bin := t.TempDir()
	t.Setenv("PATH", bin)
	fakeInterpreter(t, bin, "node", "20.1.0")
	fakeInterpreter(t, bin, "node22", "22.3.0")
	fakeInterpreter(t, bin, "python3", "3.11.7")
	fakeInterpreter(t, bin, "python3.12", "3.12.1")
	// python3.10 is a virtual environment's: a symbolic link to the base
	// interpreter, which must be run by the link's name.
	base := t.TempDir()
	fakeInterpreter(t, base, "python3.10", "3.10.2")
	script, _ := os.ReadFile(filepath.Join(base, "python3.10"))
	os.WriteFile(filepath.Join(base, "python3.10"), []byte(strings.Replace(string(script), filepath.Join(base, "python3.10"), filepath.Join(bin, "python3.10"), 1)), 0o755)
	if err := os.Symlink(filepath.Join(base, "python3.10"), filepath.Join(bin, "python3.10")); err != nil {
		t.Fatal(err)
	}
	wd := t.TempDir()
	if err := os.WriteFile(filepath.Join(wd, ".python-version"), []byte("9.9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	is := &interpreters{wd: wd}
	ctx := context.Background()
	for rt, want := range map[string]string{
		"nodejs22.x": "node22 22.3.0 ",
		"nodejs20.x": "node 20.1.0 ",
		"nodejs24.x": "node 20.1.0 no Node.js 24 here",
		"python3.12": "python3.12 3.12.1 ",
		"python3.11": "python3 3.11.7 ",
		"python3.13": "python3 3.11.7 no Python 3.13 here",
		"python3.7":  "python3.10 3.10.2 Lambda no longer runs python3.7",
	} {
		ip, err := is.find(ctx, rt)
		if err != nil {
			t.Errorf("%s: %v", rt, err)
			continue
		}
		if got := ip.command + " " + ip.version + " " + ip.warning; !strings.HasPrefix(got, want) || filepath.Dir(ip.path) != bin {
			t.Errorf("%s: %q (%s), want %q… in %s", rt, got, ip.path, want, bin)
		}
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := (&interpreters{}).find(ctx, "python3.12"); err == nil || !strings.Contains(err.Error(), "needs Python 3 (python3), and none runs here") {
		t.Errorf("no python: %v", err)
	}
}

// TestRefusedRuntimes checks the errors for runtimes lambdaws local does not
// run.
func TestRefusedRuntimes(t *testing.T) {
	for rt, want := range map[string]string{
		"nodejs16.x": "runtime nodejs16.x is not supported: Lambda no longer runs it",
		"java21":     "runtime java21 is not supported: lambdaws local runs Go, Node.js (nodejs18.x and later) and Python",
	} {
		tpl := &sam.Template{Functions: map[string]*sam.Function{"F": {LogicalID: "F", CodeURI: t.TempDir(), Handler: "a.b", Runtime: rt}}}
		_, err := prepare(context.Background(), tpl, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", rt, err, want)
		}
	}
}

// TestMakefileBuild runs make build-<LogicalId> in CodeUri with
// ARTIFACTS_DIR in the cache, as sam build does, for a Python function, and
// says which target left no bootstrap for a custom runtime.
func TestMakefileBuild(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("make")
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	mk := "build-Py:\n\techo 'def handler(e, c): return 1' > $(ARTIFACTS_DIR)/app.py\nbuild-Custom:\n\ttouch $(ARTIFACTS_DIR)/other\n"
	if err := os.WriteFile(filepath.Join(dir, "Makefile"), []byte(mk), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fn := &sam.Function{LogicalID: "Py", CodeURI: dir, Handler: "app.handler", Runtime: "python3.11", BuildMethod: "makefile"}
	var out bytes.Buffer
	b, err := prepare(ctx, &sam.Template{Functions: map[string]*sam.Function{"Py": fn}}, &out)
	if err != nil {
		t.Skipf("no python3 here: %v", err)
	}
	code := b.binary(fn)
	if _, err := os.Stat(filepath.Join(code, "app.py")); err != nil || strings.HasPrefix(code, dir) {
		t.Errorf("code folder %s: %v\n%s", code, err, out.String())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("CodeUri changed by the build: %v", entries)
	}
	custom := &sam.Function{LogicalID: "Custom", CodeURI: dir, Handler: "bootstrap", Runtime: "provided.al2023", BuildMethod: "makefile"}
	_, err = prepare(ctx, &sam.Template{Functions: map[string]*sam.Function{"Custom": custom}}, &out)
	if err == nil || !strings.Contains(out.String(), "make build-Custom left no bootstrap in ARTIFACTS_DIR") {
		t.Errorf("no bootstrap: %v\n%s", err, out.String())
	}
}
