package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/lambdaws/lambdaws/internal/testenv"
)

// TestGoSourceOf: the source of a linux binary built for the other
// architecture is found from its line table, also when stripped (-s -w, as
// CDK builds with goBuildFlags), and from its module with -trimpath.
func TestGoSourceOf(t *testing.T) {
	testenv.Integration(t, "go build")
	root := testenv.RepoRoot(t)
	want := filepath.Join(root, "integration", "testdata", "callback")
	arch := map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
	if arch == "" {
		t.Skipf("no other architecture to build for on %s", runtime.GOARCH)
	}
	for _, flags := range [][]string{{"-ldflags", "-s -w"}, {"-trimpath"}} {
		t.Run(strings.Join(flags, " "), func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "bootstrap")
			cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", bin, "./integration/testdata/callback")...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, b)
			}
			if runtime.GOOS == "linux" && runnable(bin) == nil {
				t.Fatalf("a linux/%s binary is runnable on %s", arch, runtime.GOARCH)
			}
			got, err := goSourceOf(bin, filepath.Join(root, "integration", "testdata"))
			if err != nil || got != want {
				t.Errorf("goSourceOf = %q, %v; want %q", got, err, want)
			}
			// From a folder outside the module, only an absolute path in the
			// binary finds it.
			got, err = goSourceOf(bin, t.TempDir())
			if flags[0] == "-trimpath" {
				if err == nil {
					t.Errorf("trimmed binary, template outside the module: found %q", got)
				}
			} else if got != want {
				t.Errorf("from outside the module: %q, %v", got, err)
			}
		})
	}
	if _, err := goSourceOf(filepath.Join(root, "go.mod"), root); err == nil {
		t.Error("go.mod taken for a Go binary")
	}
}

func TestModulePath(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]string{
		"module example.com/a\n\ngo 1.24\n":     "example.com/a",
		"// c\nmodule \"example.com/q\" // x\n": "example.com/q",
		"go 1.24\n":                             "",
	} {
		p := filepath.Join(dir, "go.mod")
		os.WriteFile(p, []byte(content), 0o644)
		if got := modulePath(p); got != want {
			t.Errorf("modulePath(%q) = %q, want %q", content, got, want)
		}
	}
}
