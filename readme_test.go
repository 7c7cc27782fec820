package lambdaws_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lambdaws/lambdaws/internal/testenv"
)

// TestREADMESnippetsCompile builds every complete program (a ```go block
// starting with "package main") in README.md, as if it were a command of
// this module, so the README cannot drift from the API.
func TestREADMESnippetsCompile(t *testing.T) {
	testenv.Integration(t, "go build of the README's programs")
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	root, _ := filepath.Abs(".")
	tmp := t.TempDir()
	overlay := map[string]string{}
	var pkgs []string
	for i, b := range blocks {
		if !strings.HasPrefix(b[1], "package main") {
			continue
		}
		name := fmt.Sprintf("snippet%d", i)
		src := filepath.Join(tmp, name+".go")
		if err := os.WriteFile(src, []byte(b[1]), 0o644); err != nil {
			t.Fatal(err)
		}
		overlay[filepath.Join(root, "internal", "readme", name, "main.go")] = src
		pkgs = append(pkgs, "./internal/readme/"+name)
	}
	if len(pkgs) < 2 {
		t.Fatalf("found %d complete programs in README.md, want the two quick-start styles", len(pkgs))
	}
	ov, _ := json.Marshal(map[string]any{"Replace": overlay})
	ovFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ovFile, ov, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", append([]string{"build", "-overlay", ovFile, "-o", os.DevNull}, pkgs...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("README snippets do not compile:\n%s", out)
	}
}
