package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// nodeSDKVersion is the version of the AWS SDK for JavaScript v3 that
// lambdaws installs for Node.js functions, which import it without
// declaring it because Lambda's nodejs18.x and later runtimes include it.
// Each imported @aws-sdk package is installed at the newest version not
// above it: the clients are all released at one version, and a package
// released less often (@aws-sdk/types) gets its version of that time.
const nodeSDKVersion = "3.1178.0"

// sdkSpecifier matches an @aws-sdk package named in a string literal: an
// import, export, require or import() of it or of one of its subpaths.
var sdkSpecifier = regexp.MustCompile("[\"'`](@aws-sdk/[a-z0-9][a-z0-9._-]*)(?:/[^\"'`\\s]*)?[\"'`]")

// skipDirs are folders never read as a function's sources nor copied into
// a build: installed packages, caches and version control.
var skipDirs = map[string]bool{"node_modules": true, ".git": true, ".aws-sam": true, "__pycache__": true, ".venv": true, ".hg": true}

// maxSourceFiles bounds the files read in a code folder.
const maxSourceFiles = 20000

// walkSources calls fn for each regular file under dir with one of exts
// (every file when exts is empty), skipping skipDirs, at most
// maxSourceFiles files.
func walkSources(dir string, exts []string, fn func(path string, info fs.FileInfo)) {
	n := 0
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if path != dir && skipDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || (len(exts) > 0 && !slices.Contains(exts, filepath.Ext(path))) {
			return nil
		}
		if n++; n > maxSourceFiles {
			return filepath.SkipAll
		}
		if info, err := d.Info(); err == nil {
			fn(path, info)
		}
		return nil
	})
}

var nodeExts = []string{".js", ".mjs", ".cjs"}

// sdkImports returns the @aws-sdk packages that the JavaScript files under
// dir name and that dir's own node_modules (or a parent's) do not hold.
func sdkImports(dir string) []string {
	var pkgs []string
	walkSources(dir, nodeExts, func(path string, info fs.FileInfo) {
		if info.Size() > 10<<20 {
			return
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return
		}
		for _, m := range sdkSpecifier.FindAllSubmatch(src, -1) {
			pkgs = append(pkgs, string(m[1]))
		}
	})
	slices.Sort(pkgs)
	pkgs = slices.Compact(pkgs)
	return slices.DeleteFunc(pkgs, func(pkg string) bool { return installed(dir, pkg) })
}

// installed reports whether pkg resolves from dir's node_modules or those
// of its parents.
func installed(dir, pkg string) bool {
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "node_modules", pkg, "package.json")); err == nil {
			return true
		}
		parent := filepath.Dir(d)
		if parent == d {
			return false
		}
		d = parent
	}
}

// nodeSDK returns the node_modules folder holding pkgs (@aws-sdk packages)
// at nodeSDKVersion, installing them with npm once into lambdaws's cache
// (one folder per set of packages); later starts use it offline.
func nodeSDK(ctx context.Context, pkgs []string, out io.Writer) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache folder for the AWS SDK: %w", err)
	}
	sum := sha256.Sum256([]byte(strings.Join(pkgs, "\n")))
	root := filepath.Join(cache, "lambdaws", "sdk", "node")
	dir := filepath.Join(root, nodeSDKVersion+"-"+hex.EncodeToString(sum[:6]))
	modules := filepath.Join(dir, "node_modules")
	what := fmt.Sprintf("the AWS SDK for JavaScript v3 that Lambda's Node.js runtimes include (%s, %s)", strings.Join(pkgs, ", "), nodeSDKVersion)
	if _, err := os.Stat(filepath.Join(dir, "package-lock.json")); err == nil {
		fmt.Fprintf(out, "using %s from %s\n", what, modules)
		return modules, nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return "", fmt.Errorf("the functions import %s, which Lambda's runtime includes; lambdaws installs it with npm, which is not on PATH: install npm, or add the packages to the functions' package.json and run npm install", strings.Join(pkgs, ", "))
	}
	fmt.Fprintf(out, "installing %s into %s with npm (once)…\n", what, dir)
	start := time.Now()
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	// Installed in a temporary folder renamed at the end, so that a killed
	// install leaves nothing used, and two lambdaws installing at once both
	// end with a complete folder.
	tmp, err := os.MkdirTemp(root, ".tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	deps := map[string]string{}
	for _, p := range pkgs {
		deps[p] = "<=" + nodeSDKVersion
	}
	manifest, _ := json.MarshalIndent(map[string]any{
		"name": "lambdaws-aws-sdk", "private": true, "description": "The AWS SDK for JavaScript v3 packages that Lambda's Node.js runtimes provide, installed by lambdaws local", "dependencies": deps,
	}, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, "package.json"), manifest, 0o644); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "npm", "install", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = tmp
	cmd.WaitDelay = time.Second
	if msg, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("interrupted: stopped installing the AWS SDK (%w)", ctx.Err())
		}
		return "", fmt.Errorf("npm install of %s failed: %v\n%s", what, err, msg)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, "package-lock.json")); statErr != nil {
			return "", fmt.Errorf("installing the AWS SDK: %w", err)
		} // another lambdaws installed it meanwhile
	}
	fmt.Fprintf(out, "installed the AWS SDK packages in %s\n", time.Since(start).Round(100*time.Millisecond))
	return modules, nil
}

// debianDistPackages is where Debian's python3-boto3 installs boto3.
const debianDistPackages = "/usr/lib/python3/dist-packages"

// pythonImportsBoto reports whether the Python files under dir import boto3
// or botocore.
func pythonImportsBoto(dir string) bool {
	re := regexp.MustCompile(`(?m)^\s*(?:import|from)\s+(?:boto3|botocore)\b`)
	found := false
	walkSources(dir, []string{".py"}, func(path string, info fs.FileInfo) {
		if found || info.Size() > 10<<20 {
			return
		}
		src, err := os.ReadFile(path)
		found = err == nil && re.Match(src)
	})
	return found
}

// pythonSDK returns the PYTHONPATH that makes boto3 (which Lambda's Python
// runtimes include) importable by ip: "" when ip imports it already (from
// its own site-packages), Debian's dist-packages folder when python3-boto3
// is installed there for ip's Python version, else an error saying how to
// get it.
func pythonSDK(ctx context.Context, ip *interpreter) (string, error) {
	if pythonRuns(ctx, ip.path, "", "import boto3") {
		return "", nil
	}
	if _, err := os.Stat(filepath.Join(debianDistPackages, "boto3", "__init__.py")); err == nil &&
		pythonRuns(ctx, ip.path, debianDistPackages, "import boto3") &&
		pythonRuns(ctx, "/usr/bin/python3", "", fmt.Sprintf("import sys; sys.exit(sys.version_info[:2] != (%d, %d))", 3, pythonMinor(ip.version))) {
		return debianDistPackages, nil
	}
	hint := ""
	if _, err := os.Stat("/etc/debian_version"); err == nil {
		hint = ", or with Debian's Python: apt-get install python3-boto3"
	}
	return "", fmt.Errorf("boto3, which Lambda's Python runtimes include, is not importable by %s (Python %s): install it for that Python: %s -m pip install boto3%s", ip.path, ip.version, ip.path, hint)
}

// pythonRuns reports whether python runs script successfully with
// PYTHONPATH set to path, outside any code folder.
func pythonRuns(ctx context.Context, python, path, script string) bool {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", script)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "PYTHONPATH="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	return cmd.Run() == nil
}
