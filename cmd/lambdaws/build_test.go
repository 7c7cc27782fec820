package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
	"github.com/lambdaws/lambdaws/local"
)

// fakeGo puts a stand-in for go on PATH whose "go build" runs script (in
// CodeUri, with $out the output file) and a build cache in a temporary
// folder. It returns the cache's build folder.
func fakeGo(t *testing.T, script string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in for go is a shell script")
	}
	bin := t.TempDir()
	goScript := `#!/bin/sh
case "$1" in
build)
	while [ $# -gt 0 ]; do [ "$1" = "-o" ] && out="$2"; shift; done
	` + script + `
	printf bin > "$out";;
list)
	pwd;;
env)
	echo /nonexistent/modcache;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte(goScript), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	return filepath.Join(cache, "lambdaws", "build")
}

// goFunctions returns a template of functions with Go source in folders
// named by ids.
func goFunctions(t *testing.T, ids ...string) *sam.Template {
	t.Helper()
	tpl := &sam.Template{Functions: map[string]*sam.Function{}}
	for _, id := range ids {
		dir := filepath.Join(t.TempDir(), id)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		tpl.Functions[id] = &sam.Function{LogicalID: id, CodeURI: dir, Runtime: "provided.al2023"}
	}
	return tpl
}

// TestParallelBuilds: functions build at once. Each stand-in build waits
// for the other to start, so builds one after the other never end.
func TestParallelBuilds(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("one core: builds run one at a time")
	}
	marks := t.TempDir()
	fakeGo(t, fmt.Sprintf(`me=$(basename "$PWD"); touch %[1]s/$me
	other=A; [ "$me" = A ] && other=B
	while [ ! -e %[1]s/$other ]; do sleep 0.05; done`, marks))
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := prepare(t.Context(), goFunctions(t, "A", "B"), &syncWriter{w: &out})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the builds did not end: one waits for the other")
	}
	for _, want := range []string{"building A (", "building B (", "built A (", "built B ("} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestInterruptedBuild: a build stopped by ctx (Ctrl-C) says so.
func TestInterruptedBuild(t *testing.T) {
	marks := t.TempDir()
	fakeGo(t, "touch "+marks+"/started; exec sleep 600")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		for {
			if _, err := os.Stat(filepath.Join(marks, "started")); err == nil {
				cancel()
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	var out bytes.Buffer
	_, err := prepare(ctx, goFunctions(t, "Fn"), &syncWriter{w: &out})
	if err == nil || !strings.Contains(err.Error(), "stopped the build") || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	if !strings.Contains(out.String(), "building Fn (") || !strings.Contains(out.String(), "stopped the build of Fn (") {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestFlagsBeforeBuild: a bad --addr is refused before anything is built.
func TestFlagsBeforeBuild(t *testing.T) {
	marks := t.TempDir()
	fakeGo(t, "touch "+marks+"/built")
	dir := t.TempDir()
	tpl := filepath.Join(dir, "template.yaml")
	os.Mkdir(filepath.Join(dir, "fn"), 0o755)
	os.WriteFile(filepath.Join(dir, "fn", "main.go"), []byte("package main\n"), 0o644)
	os.WriteFile(tpl, []byte(`
Resources:
  Api: {Type: AWS::Serverless::WebSocketApi, Properties: {Routes: {$default: {FunctionArn: !GetAtt Fn.Arn}}}}
  Fn: {Type: AWS::Serverless::Function, Properties: {CodeUri: fn, Runtime: provided.al2023}}
`), 0o644)
	err := run(t.Context(), nil, []string{"local", "--template", tpl, "--addr", "127.0.0.1:99999"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--addr") {
		t.Errorf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(marks, "built")); err == nil {
		t.Error("a function was built before --addr was checked")
	}
}

func TestCheckAddr(t *testing.T) {
	for _, ok := range []string{":0", "127.0.0.1:0", "localhost:0"} {
		if err := checkAddr(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"8080", "localhost", ":99999", ":http", "a b:80", "evil/x:80", "[::1:80"} {
		if err := checkAddr(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	// A port in use.
	ln, err := local.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := checkAddr(ln.Addr().String()); err == nil || !strings.Contains(err.Error(), "--addr") {
		t.Errorf("a port in use: %v", err)
	}
}

// TestTemplateArgument: a template given as an argument, as to sam
// deploy, gets a hint to use --template.
func TestTemplateArgument(t *testing.T) {
	_, err := parseLocalFlags([]string{"my.yaml"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--template my.yaml") {
		t.Errorf("err = %v", err)
	}
}

// TestDefaultTemplateYml: without --template, template.yml serves when
// there is no template.yaml, as in SAM CLI.
func TestDefaultTemplateYml(t *testing.T) {
	t.Chdir(t.TempDir())
	os.WriteFile("template.yml", nil, 0o644)
	if got, _ := defaultTemplate(); got != "template.yml" {
		t.Errorf("with template.yml: %s", got)
	}
	os.WriteFile("template.yaml", nil, 0o644)
	if got, _ := defaultTemplate(); got != "template.yaml" {
		t.Errorf("with both: %s", got)
	}
}

// TestPruneCache: folders of functions not built for long, and leftovers
// of killed builds, are removed; what is recent stays.
func TestPruneCache(t *testing.T) {
	root := t.TempDir()
	old := time.Now().Add(-40 * 24 * time.Hour)
	mk := func(path string, mtime time.Time) {
		p := filepath.Join(root, path)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("bin"), 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mtime, mtime)
	}
	mk("recent/bootstrap", time.Now())
	mk("recent/bootstrap.123.tmp", time.Now().Add(-2*time.Hour))
	mk("recent/bootstrap.456.tmp", time.Now()) // a build under way
	mk("stale/bootstrap", old)
	pruneCache(root, 30*24*time.Hour)
	for path, want := range map[string]bool{
		"recent/bootstrap": true, "recent/bootstrap.123.tmp": false, "recent/bootstrap.456.tmp": true, "stale": false,
	} {
		_, err := os.Stat(filepath.Join(root, path))
		if (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", path, err == nil, want)
		}
	}
}

// TestChangeDuringBuild: a source saved while go build runs (after the
// compiler read it) makes the watcher build again, so the binary does not
// stay behind the sources. A stand-in for go saves the file during its build.
func TestChangeDuringBuild(t *testing.T) {
	fakeGo(t, `echo "// saved during the build" >> main.go`)
	dir := goFunctions(t, "Fn").Functions["Fn"].CodeURI
	b := &builds{out: io.Discard, names: map[string][]string{dir: {"Fn"}}}
	g := &goBuild{dir: dir, bin: filepath.Join(t.TempDir(), "bootstrap")}
	if !b.build(t.Context(), g) {
		t.Fatal("the build failed")
	}
	if fingerprint(g.watch) == g.state {
		t.Error("main.go, saved during the build, is taken as built: no rebuild would follow")
	}
}
