package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// codeBuild is the code of functions not built with go build, as sam build
// makes it: "make" runs make build-<LogicalId> in CodeUri with
// ARTIFACTS_DIR set (Metadata BuildMethod makefile, any runtime); "npm"
// copies CodeUri and installs its package.json's production dependencies
// in the copy; "pip" copies it and installs its requirements.txt there;
// "" runs CodeUri in place. Builds go to the user's cache, never to
// CodeUri, and are redone when a file of CodeUri changes.
type codeBuild struct {
	kind   string
	dir    string // CodeURI
	id     string // make: the function whose target runs
	python string // pip: the interpreter
	out    string // the folder made (kind ""; CodeURI itself)
	want   string // make: the file the function runs, which ARTIFACTS_DIR must hold
	state  string // fingerprint of CodeURI's files when last built
}

// buildMethods are the Metadata BuildMethod values lambdaws local builds.
var buildMethods = []string{"", "go1.x", "makefile"}

// codeDir returns the folder, in the user's cache, of what is built for key.
func codeDir(key string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache folder for the build: %w", err)
	}
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(cache, "lambdaws", "build", hex.EncodeToString(sum[:8]), "code"), nil
}

// npmDependencies reports whether the package.json in dir declares
// production dependencies.
func npmDependencies(dir string) (bool, error) {
	data, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var pkg struct {
		Dependencies map[string]any `json:"dependencies"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		return false, fmt.Errorf("%s: %w", filepath.Join(dir, "package.json"), err)
	}
	return len(pkg.Dependencies) > 0, nil
}

var requirementName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*`)

// requirements returns the names of the packages the requirements.txt in
// dir lists (lowercase, "_" as "-"), and whether it holds lines other than
// plain requirements (options, paths, URLs) that need pip anyway.
func requirements(dir string) (names []string, other bool, err error) {
	data, err := os.ReadFile(filepath.Join(dir, "requirements.txt"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name := requirementName.FindString(line)
		if name == "" || strings.ContainsAny(line, "/@") && !strings.Contains(line, ";") {
			other = true
			continue
		}
		names = append(names, strings.ReplaceAll(strings.ToLower(name), "_", "-"))
	}
	return names, other, nil
}

// onlyRuntimeProvided reports whether requirements are all packages Lambda's
// Python runtimes include.
func onlyRuntimeProvided(names []string) bool {
	for _, n := range names {
		if n != "boto3" && n != "botocore" {
			return false
		}
	}
	return true
}

// buildCode makes c.out (kinds make, npm and pip): into a temporary folder
// beside it, which then replaces it, so that a failed build leaves the last
// good one. It prints the outcome and reports success.
func (b *builds) buildCode(ctx context.Context, c *codeBuild) bool {
	if c.kind == "" {
		c.state = treeFingerprint(c.dir)
		return true
	}
	label := b.codeLabel(c)
	start := time.Now()
	how := map[string]string{"make": "make build-" + c.id, "npm": "npm", "pip": "pip"}[c.kind]
	fmt.Fprintf(b.out, "building %s with %s…\n", label, how)
	c.state = treeFingerprint(c.dir)
	tmp := c.out + ".tmp"
	err := os.RemoveAll(tmp)
	if err == nil {
		err = os.MkdirAll(tmp, 0o755)
	}
	var out []byte
	if err == nil {
		out, err = c.make(ctx, tmp)
	}
	if err == nil {
		old := c.out + ".old"
		os.RemoveAll(old)
		os.Rename(c.out, old)
		err = os.Rename(tmp, c.out)
		os.RemoveAll(old)
	}
	if c.kind == "make" { // what make wrote in CodeURI is no change
		c.state = treeFingerprint(c.dir)
	}
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		os.RemoveAll(tmp)
		if ctx.Err() != nil {
			fmt.Fprintf(b.out, "stopped the build of %s after %s\n", label, took)
			return false
		}
		fmt.Fprintf(b.out, "build of %s failed after %s: %v\n%s", label, took, err, out)
		return false
	}
	fmt.Fprintf(b.out, "built %s in %s\n", label, took)
	return true
}

// make builds c into the empty folder tmp and returns the tools' output.
func (c *codeBuild) make(ctx context.Context, tmp string) ([]byte, error) {
	var cmd *exec.Cmd
	switch c.kind {
	case "make":
		cmd = exec.CommandContext(ctx, "make", "build-"+c.id)
		cmd.Dir = c.dir
		cmd.Env = append(os.Environ(), "ARTIFACTS_DIR="+tmp)
	case "npm":
		if err := copyTree(c.dir, tmp); err != nil {
			return nil, err
		}
		if reuse(c.out, tmp, "package.json", "package-lock.json", "npm-shrinkwrap.json") {
			return nil, nil
		}
		cmd = exec.CommandContext(ctx, "npm", "install", "--omit=dev", "--no-audit", "--no-fund")
		for _, lock := range []string{"package-lock.json", "npm-shrinkwrap.json"} {
			if _, err := os.Stat(filepath.Join(tmp, lock)); err == nil {
				cmd = exec.CommandContext(ctx, "npm", "ci", "--omit=dev", "--no-audit", "--no-fund")
			}
		}
		cmd.Dir = tmp
	case "pip":
		if err := copyTree(c.dir, tmp); err != nil {
			return nil, err
		}
		if reuse(c.out, tmp, "requirements.txt") {
			return nil, nil
		}
		cmd = exec.CommandContext(ctx, c.python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-r", "requirements.txt", "-t", ".")
		cmd.Dir = tmp
	}
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err == nil && c.want != "" {
		if _, statErr := os.Stat(filepath.Join(tmp, c.want)); statErr != nil {
			err = fmt.Errorf("make build-%s left no %s in ARTIFACTS_DIR", c.id, c.want)
		}
	}
	if err != nil && c.kind == "pip" {
		err = fmt.Errorf("%w (pip needs PyPI, or a configured index, for requirements.txt; requirements that are only boto3 and botocore need nothing: the runtime provides them)", err)
	}
	return out, err
}

// reuse moves into tmp, a fresh copy of the sources, what the last build in
// old installed (the entries of old that tmp lacks: node_modules, pip's
// packages) when the manifests are unchanged, and reports whether it did.
func reuse(old, tmp string, manifests ...string) bool {
	if _, err := os.Stat(old); err != nil {
		return false
	}
	for _, m := range manifests {
		a, errA := os.ReadFile(filepath.Join(old, m))
		b, errB := os.ReadFile(filepath.Join(tmp, m))
		if !bytes.Equal(a, b) || (errA == nil) != (errB == nil) {
			return false
		}
	}
	entries, err := os.ReadDir(old)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if _, err := os.Lstat(filepath.Join(tmp, e.Name())); err == nil {
			continue
		}
		if err := os.Rename(filepath.Join(old, e.Name()), filepath.Join(tmp, e.Name())); err != nil {
			return false
		}
	}
	return true
}

// copyTree copies the files, folders and symbolic links under src to dst,
// an existing folder, skipping skipDirs.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		switch {
		case path == src:
			return nil
		case d.IsDir():
			if skipDirs[d.Name()] {
				return filepath.SkipDir
			}
			return os.Mkdir(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case !d.Type().IsRegular():
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, info.Mode().Perm())
		if err != nil {
			return err
		}
		_, err = io.Copy(out, in)
		return errors.Join(err, out.Close())
	})
}

// treeFingerprint sums the names, sizes and modification times of the files
// under dir (skipDirs excepted).
func treeFingerprint(dir string) string {
	h := sha256.New()
	walkSources(dir, nil, func(path string, info fs.FileInfo) {
		fmt.Fprintf(h, "%s %d %d\n", path, info.Size(), info.ModTime().UnixNano())
	})
	return hex.EncodeToString(h.Sum(nil))
}

func (b *builds) codeLabel(c *codeBuild) string {
	ids := b.names[c.dir]
	if c.kind == "make" {
		ids = []string{c.id}
	}
	return fmt.Sprintf("%s (%s)", strings.Join(ids, ", "), relPath(c.dir))
}

// relPath is path relative to the working folder when it is inside it.
func relPath(path string) string {
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
	}
	return path
}
