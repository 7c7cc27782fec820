package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
	"github.com/lambdaws/lambdaws/local/lambdaenv"
)

// managedRuntime matches the Lambda managed runtimes lambdaws local runs
// with an interpreter: nodejsNN.x and python3.N.
var managedRuntime = regexp.MustCompile(`^(?:nodejs(\d+)\.x|python3\.(\d+))$`)

// Oldest versions of the managed runtimes Lambda still runs.
const (
	minNode         = 18
	minPythonMinor  = 9
	lastPythonMinor = 13 // the newest python3.N tried for an older runtime
)

// language returns "node" or "python" and the runtime's version (the
// major version for Node.js, the minor of 3.N for Python), or "" when
// runtime is not a managed runtime of those languages.
func language(runtime string) (lang string, version int) {
	m := managedRuntime.FindStringSubmatch(runtime)
	switch {
	case m == nil:
		return "", 0
	case m[1] != "":
		v, _ := strconv.Atoi(m[1])
		return "node", v
	}
	v, _ := strconv.Atoi(m[2])
	return "python", v
}

// pythonProbe prints a Python's real path and version.
const pythonProbe = `import sys; print(sys.executable); print("%d.%d.%d" % sys.version_info[:3])`

// interpreter is a node or python3 executable found for a runtime.
type interpreter struct {
	path    string // its real path: what runs the function's environments
	version string // such as 20.20.2 or 3.11.7
	command string // how it was found, such as node22 or python3
	warning string // why it is not the runtime's version, or ""
}

// interpreters finds, once per runtime, the interpreter that serves it.
type interpreters struct {
	found map[string]*interpreter
	// wd is where the candidates are first tried (version managers read
	// .python-version, .nvmrc or .tool-versions there).
	wd string
}

// find returns the interpreter of runtime (a managed runtime). It prefers
// the runtime's own version (node22, python3.12 on PATH, or a pyenv
// version providing it), else node / python3 with a warning. It runs each
// candidate to learn its real path and version, so that the functions'
// processes never go through a version manager's shim, which would read the
// .python-version of their code folder.
func (is *interpreters) find(ctx context.Context, runtime string) (*interpreter, error) {
	if ip, ok := is.found[runtime]; ok {
		return ip, nil
	}
	lang, v := language(runtime)
	var cands []candidate
	var want string
	var probe string
	switch lang {
	case "node":
		want = strconv.Itoa(v)
		cands = []candidate{{name: "node" + want}, {name: "node"}, {name: "nodejs"}}
		probe = `console.log(process.execPath); console.log(process.versions.node)`
	case "python":
		minor := v
		if minor < minPythonMinor {
			minor = minPythonMinor // the oldest Python Lambda still runs
		}
		want = "3." + strconv.Itoa(v)
		for m := minor; m <= max(minor, lastPythonMinor); m++ {
			name := "python3." + strconv.Itoa(m)
			cands = append(cands, candidate{name: name})
			for _, pv := range pyenvVersions(ctx, name) {
				cands = append(cands, candidate{name: name, env: "PYENV_VERSION=" + pv})
			}
			if v >= minPythonMinor {
				break // an older runtime takes the nearest version Lambda runs
			}
		}
		cands = append(cands, candidate{name: "python3"}, candidate{name: "python"})
		probe = pythonProbe
	default:
		return nil, fmt.Errorf("runtime %s is not a Node.js or Python runtime", runtime)
	}
	var first *interpreter
	var tried []string
	for _, c := range cands {
		ip, err := c.run(ctx, is.wd, probe)
		if err != nil {
			tried = append(tried, err.Error())
			continue
		}
		if lang == "python" && !strings.HasPrefix(ip.version, "3.") {
			tried = append(tried, fmt.Sprintf("%s is Python %s", c, ip.version))
			continue
		}
		if majorMinor(ip.version, lang) == want {
			first = ip
			break
		}
		if first == nil {
			first = ip
		}
		if lang == "python" && v < minPythonMinor && pythonMinor(ip.version) >= minPythonMinor {
			break // the nearest version Lambda runs
		}
	}
	if first == nil {
		what := map[string]string{"node": "Node.js (node)", "python": "Python 3 (python3)"}[lang]
		return nil, fmt.Errorf("runtime %s needs %s, and none runs here (%s)", runtime, what, strings.Join(tried, "; "))
	}
	if got := majorMinor(first.version, lang); got != want {
		first.warning = fmt.Sprintf("no %s%s here: served with %s %s (%s)", map[string]string{"node": "Node.js ", "python": "Python "}[lang], want, first.command, first.version, first.path)
		if lang == "python" && v < minPythonMinor {
			first.warning = fmt.Sprintf("Lambda no longer runs %s: served with %s %s (%s), the nearest version found", runtime, first.command, first.version, first.path)
		}
	}
	if is.found == nil {
		is.found = map[string]*interpreter{}
	}
	is.found[runtime] = first
	return first, nil
}

// candidate is a command that may be the interpreter, with a variable
// (PYENV_VERSION) that selects it.
type candidate struct{ name, env string }

func (c candidate) String() string {
	if c.env != "" {
		return c.env + " " + c.name
	}
	return c.name
}

// run runs the candidate with a script printing its real path and version,
// first in wd, then (when a version manager fails there) in the temporary
// folder.
func (c candidate) run(ctx context.Context, wd, script string) (*interpreter, error) {
	path, err := exec.LookPath(c.name)
	if err != nil {
		return nil, fmt.Errorf("no %s on PATH", c.name)
	}
	var flag string
	if strings.HasPrefix(c.name, "node") {
		flag = "-e"
	} else {
		flag = "-c"
	}
	for _, dir := range []string{wd, os.TempDir()} {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		cmd := exec.CommandContext(ctx, path, flag, script)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PYTHONPATH=", "NODE_OPTIONS=")
		if c.env != "" {
			cmd.Env = append(cmd.Env, c.env)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		cancel()
		lines := strings.Fields(string(out))
		// pyenv may name a missing version on stderr and run another.
		if err != nil || len(lines) != 2 || strings.Contains(stderr.String(), "is not installed") {
			err = fmt.Errorf("%s: %v %s", c, err, firstLine(stderr.String()))
			if dir == os.TempDir() {
				return nil, err
			}
			continue
		}
		// Not resolved further: a virtual environment's python is a
		// symbolic link whose name selects its site-packages.
		return &interpreter{path: lines[0], version: lines[1], command: c.String()}, nil
	}
	return nil, errors.New("unreachable")
}

// pyenvVersions returns the pyenv versions providing command, newest first,
// when pyenv is on PATH.
func pyenvVersions(ctx context.Context, command string) []string {
	if _, err := exec.LookPath("pyenv"); err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "pyenv", "whence", command)
	cmd.Dir = os.TempDir()
	out, err := cmd.Output()
	if err != nil {
		return nil
	}
	vs := strings.Fields(string(out))
	for i, j := 0, len(vs)-1; i < j; i, j = i+1, j-1 {
		vs[i], vs[j] = vs[j], vs[i]
	}
	return vs
}

// majorMinor returns the part of version a runtime names: "20" of 20.20.2,
// "3.11" of 3.11.7.
func majorMinor(version, lang string) string {
	parts := strings.SplitN(version, ".", 3)
	if lang == "node" || len(parts) < 2 {
		return parts[0]
	}
	return parts[0] + "." + parts[1]
}

// pythonMinor returns N of 3.N.x.
func pythonMinor(version string) int {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(parts[1])
	return n
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// unsupported is the error for a function whose runtime lambdaws local
// cannot run.
func unsupported(fn *sam.Function) error {
	if lang, v := language(fn.Runtime); lang == "node" && v < minNode {
		return fmt.Errorf("function %s: runtime %s is not supported: Lambda no longer runs it; lambdaws local runs nodejs%d.x and later", fn.LogicalID, fn.Runtime, minNode)
	}
	return fmt.Errorf("function %s: runtime %s is not supported: lambdaws local runs Go, Node.js (nodejs%d.x and later) and Python (python3.x) functions, and custom runtimes (provided.al2023, provided.al2) whose CodeUri holds a bootstrap or builds one with BuildMethod makefile", fn.LogicalID, fn.Runtime, minNode)
}

// classifyCode checks a Node.js or Python function, or one built with
// BuildMethod makefile, notes its build, finds its interpreter, and returns
// the code folder (or binary) it will run.
func (b *builds) classifyCode(ctx context.Context, fn *sam.Function) (string, error) {
	lang, v := language(fn.Runtime)
	if (lang == "" && !slices.Contains(goRuntimes, fn.Runtime)) || (lang == "node" && v < minNode) {
		return "", unsupported(fn)
	}
	if !slices.Contains(buildMethods, fn.BuildMethod) || (lang != "" && fn.BuildMethod == "go1.x") {
		return "", fmt.Errorf("function %s: BuildMethod %s is not one lambdaws local builds (makefile, and go1.x for Go): run sam build first, then lambdaws local (it reads .aws-sam/build/template.yaml)", fn.LogicalID, fn.BuildMethod)
	}
	if st, err := os.Stat(fn.CodeURI); err != nil || !st.IsDir() {
		return "", fmt.Errorf("function %s: CodeUri %s is not a folder", fn.LogicalID, fn.CodeURI)
	}
	if lang != "" && fn.Handler == "" {
		return "", fmt.Errorf("function %s: runtime %s needs a Handler (%s)", fn.LogicalID, fn.Runtime, map[string]string{"node": "file.export, such as app.handler", "python": "module.function, such as app.lambda_handler"}[lang])
	}
	var ip *interpreter
	if lang != "" {
		var err error
		if ip, err = b.interps.find(ctx, fn.Runtime); err != nil {
			return "", fmt.Errorf("function %s: %w", fn.LogicalID, err)
		}
	}
	c := &codeBuild{dir: fn.CodeURI, out: fn.CodeURI}
	switch {
	case fn.BuildMethod == "makefile":
		if _, err := exec.LookPath("make"); err != nil {
			return "", fmt.Errorf("function %s: BuildMethod makefile: make is not on PATH", fn.LogicalID)
		}
		if _, err := os.Stat(filepath.Join(fn.CodeURI, "Makefile")); err != nil {
			return "", fmt.Errorf("function %s: BuildMethod makefile: no Makefile in CodeUri %s", fn.LogicalID, fn.CodeURI)
		}
		c.kind, c.id = "make", fn.LogicalID
	case lang == "node":
		deps, err := npmDependencies(fn.CodeURI)
		if err != nil {
			return "", fmt.Errorf("function %s: %w", fn.LogicalID, err)
		}
		if deps {
			if _, err := exec.LookPath("npm"); err != nil {
				return "", fmt.Errorf("function %s: its package.json has dependencies, which lambdaws installs with npm (as sam build does), and npm is not on PATH", fn.LogicalID)
			}
			c.kind = "npm"
		}
	case lang == "python":
		names, other, err := requirements(fn.CodeURI)
		if err != nil {
			return "", fmt.Errorf("function %s: %w", fn.LogicalID, err)
		}
		if other || !onlyRuntimeProvided(names) {
			c.kind, c.python = "pip", ip.path
		}
	}
	if c.kind != "" {
		var err error
		if c.out, err = codeDir(binKey(fn)); err != nil {
			return "", fmt.Errorf("function %s: %w", fn.LogicalID, err)
		}
		if err := os.MkdirAll(filepath.Dir(c.out), 0o755); err != nil {
			return "", err
		}
	}
	b.codes = append(b.codes, c)
	switch { // the file or folder the function runs
	case lang != "":
		return c.out, nil
	case fn.Runtime == "go1.x":
		if !filepath.IsLocal(fn.Handler) {
			return "", fmt.Errorf("function %s: Runtime go1.x runs the executable Handler names, and Handler %q is not a file name", fn.LogicalID, fn.Handler)
		}
		c.want = fn.Handler
		return filepath.Join(c.out, fn.Handler), nil
	}
	c.want = "bootstrap"
	return filepath.Join(c.out, "bootstrap"), nil
}

// buildCodes builds every function that make, npm or pip builds, one at a
// time, and checks that each left what its function runs.
func (b *builds) buildCodes(ctx context.Context) error {
	var failed []string
	for _, c := range b.codes {
		if !b.buildCode(ctx, c) {
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted: stopped the build (%w)", ctx.Err())
			}
			failed = append(failed, b.codeLabel(c))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("building %s failed", strings.Join(failed, ", "))
	}
	return nil
}

// runtimeSDKs makes the AWS SDK that Lambda's runtimes include importable
// by the Node.js and Python functions of tpl that import it.
func (b *builds) runtimeSDKs(ctx context.Context, tpl *sam.Template) error {
	var pkgs []string
	var nodeRuntimes []string
	pythons := map[string][]string{} // runtime → functions that import boto3
	for _, id := range slices.Sorted(maps.Keys(tpl.Functions)) {
		fn := tpl.Functions[id]
		switch lang, _ := language(fn.Runtime); lang {
		case "node":
			out := b.bins[binKey(fn)]
			for _, p := range sdkImports(fn.CodeURI) {
				if !installed(out, p) {
					pkgs = append(pkgs, p)
				}
			}
			nodeRuntimes = append(nodeRuntimes, fn.Runtime)
		case "python":
			out := b.bins[binKey(fn)]
			if _, err := os.Stat(filepath.Join(out, "boto3")); err != nil && pythonImportsBoto(fn.CodeURI) {
				pythons[fn.Runtime] = append(pythons[fn.Runtime], id)
			}
		}
	}
	if slices.Sort(pkgs); len(pkgs) > 0 {
		modules, err := nodeSDK(ctx, slices.Compact(pkgs), b.out)
		if err != nil {
			return err
		}
		for _, rt := range nodeRuntimes {
			// The SDK's warning that its next versions need a newer Node.js
			// is about the pinned version lambdaws chose, not the app.
			b.extraEnv[rt] = map[string]string{"NODE_PATH": modules, "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED": "true"}
		}
	}
	for _, rt := range slices.Sorted(maps.Keys(pythons)) {
		ip, err := b.interps.find(ctx, rt)
		if err != nil {
			return err
		}
		path, err := pythonSDK(ctx, ip)
		if err != nil {
			// The runtime's version without boto3: python3 with it serves
			// better than an error (with a warning).
			alt, altErr := candidate{name: "python3"}.run(ctx, b.interps.wd, pythonProbe)
			if altErr != nil || alt.path == ip.path || pythonMinor(alt.version) < minPythonMinor {
				return fmt.Errorf("function %s: %w", strings.Join(pythons[rt], ", "), err)
			}
			if path, altErr = pythonSDK(ctx, alt); altErr != nil {
				return fmt.Errorf("function %s: %w", strings.Join(pythons[rt], ", "), err)
			}
			alt.warning = fmt.Sprintf("%s %s (%s) has no boto3, which the runtime provides: served with %s %s (%s), which has it", ip.command, ip.version, ip.path, alt.command, alt.version, alt.path)
			b.interps.found[rt] = alt
		}
		if path != "" {
			fmt.Fprintf(b.out, "boto3 for %s: Debian's python3-boto3 (%s)\n", rt, path)
			b.extraEnv[rt] = map[string]string{"PYTHONPATH": path}
		}
	}
	for rt := range b.interps.found {
		if lang, _ := language(rt); lang == "python" {
			if b.extraEnv[rt] == nil {
				b.extraEnv[rt] = map[string]string{}
			}
			// Code run in place stays as it is: no __pycache__ in CodeUri
			// (Lambda's /var/task is read-only too).
			b.extraEnv[rt]["PYTHONDONTWRITEBYTECODE"] = "1"
		}
	}
	return nil
}

// printRuntimes says which interpreter serves which Node.js and Python
// functions, with a warning when its version is not the runtime's.
func (b *builds) printRuntimes(tpl *sam.Template) {
	warned := map[string]bool{}
	for _, id := range slices.Sorted(maps.Keys(tpl.Functions)) {
		fn := tpl.Functions[id]
		ip := b.interps.found[fn.Runtime]
		if ip == nil {
			continue
		}
		how := "reloaded when its files change"
		for _, c := range b.codes {
			if c.dir == fn.CodeURI && c.kind != "" && (c.kind != "make" || c.id == id) {
				how = "built by " + c.kind + ", rebuilt when its files change"
			}
		}
		fmt.Fprintf(b.out, "function %s (%s, %s): %s %s (%s), %s\n", id, relPath(fn.CodeURI), fn.Runtime, ip.command, ip.version, ip.path, how)
		if ip.warning != "" && !warned[fn.Runtime] {
			warned[fn.Runtime] = true
			fmt.Fprintf(b.out, "warning: runtime %s: %s\n", fn.Runtime, ip.warning)
		}
	}
}

// newFunction makes the lambdaenv.Function of fn from what prepare found,
// with opts (Handler, Interpreter and ExtraEnv are set here).
func (b *builds) newFunction(fn *sam.Function, opts *lambdaenv.Options) (*lambdaenv.Function, error) {
	if fn.Handler != "" {
		opts.Handler = fn.Handler
	}
	ip := b.interps.found[fn.Runtime]
	if lang, _ := language(fn.Runtime); lang == "" || ip == nil {
		return lambdaenv.NewBinary(b.binary(fn), opts)
	}
	opts.Interpreter = ip.path
	extra := maps.Clone(opts.ExtraEnv)
	if extra == nil {
		extra = map[string]string{}
	}
	maps.Copy(extra, b.extraEnv[fn.Runtime])
	if lang, _ := language(fn.Runtime); lang == "node" && b.executeAPI != nil {
		path, err := preloadOnce()
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", fn.LogicalID, err)
		}
		extra["NODE_OPTIONS"] = `--require "` + path + `"`
		extra["LAMBDAWS_API_ID"] = b.executeAPI.apiID
		extra["LAMBDAWS_GATEWAY"] = b.executeAPI.addr
	}
	opts.ExtraEnv = extra
	return lambdaenv.NewRuntime(b.binary(fn), opts)
}

// executeAPI is the local gateway serving the API whose host on AWS is
// {apiID}.execute-api.{region}.amazonaws.com.
type executeAPI struct{ addr, apiID string }

// preload is the script that sends Node.js functions' HTTPS requests to
// the API's execute-api host to the local gateway.
//
//go:embed preload/executeapi.cjs
var preload []byte

var preloadOnce = sync.OnceValues(writePreload)

// writePreload writes preload into the cache folder, named by its hash, and
// returns its path.
func writePreload() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache folder for lambdaws's Node.js preload: %w", err)
	}
	sum := sha256.Sum256(preload)
	path := filepath.Join(cache, "lambdaws", "preload-"+hex.EncodeToString(sum[:6])+".cjs")
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, preload) {
		return path, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".preload-")
	if err != nil {
		return "", err
	}
	_, err = tmp.Write(preload)
	if err = errors.Join(err, tmp.Close()); err == nil {
		err = os.Rename(tmp.Name(), path) // atomic: another lambdaws may write it too
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("writing lambdaws's Node.js preload: %w", err)
	}
	return path, nil
}
