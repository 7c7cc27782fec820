package lambdaenv

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"
)

// NewRuntime runs a function of a Lambda managed runtime from its code
// folder, codeDir, as Lambda runs it: Options.Runtime "nodejs18.x",
// "nodejs20.x", "nodejs22.x" or a later "nodejsNN.x", or "python3.N" (any N,
// older ones such as python3.7 included), and Options.Handler, the function's
// Handler ("path/to/file.export" for Node.js, "package.module.function" for
// Python). Each environment is a process of Options.Interpreter (node or
// python3) running lambdaws's own runtime interface client for the language,
// which the binary embeds: it loads the handler with LAMBDA_TASK_ROOT set to
// codeDir, then loops on the Runtime API's /next, so environments stay warm.
// Everything else (the Runtime API, variables, timeouts, exits, output) is as
// for NewBinary. codeDir is not modified; the clients are written once to
// lambdaws's folder in the user's cache directory.
//
// The clients load the handler and report errors as Lambda's runtimes do
// (Runtime.ImportModuleError, Runtime.HandlerNotFound,
// Runtime.UserCodeSyntaxError through /init/error; a handler's error with
// its errorType, errorMessage and stack trace: "trace" from Node.js,
// "stackTrace" from Python, as Lambda's runtimes post them), and print logs in Lambda's
// text or, with AWS_LAMBDA_LOG_FORMAT=JSON, JSON format, filtered by
// AWS_LAMBDA_LOG_LEVEL. Packages that a runtime provides (the AWS SDK) are
// found through NODE_PATH and PYTHONPATH in Options.ExtraEnv: the Node.js
// client resolves bare specifiers of ES modules from NODE_PATH's folders
// too (Node.js 18.19 or 20.6 and later, which have module.register), when the code's own node_modules lack them.
//
// NewRuntime returns an error if Options.Runtime is not a managed runtime,
// Options.Handler is empty, codeDir cannot be made absolute or opts are
// otherwise invalid (see Options). A missing interpreter is an invocation
// error (Runtime.InvalidEntrypoint).
func NewRuntime(codeDir string, opts *Options) (*Function, error) {
	o, err := options(opts)
	if err != nil {
		return nil, err
	}
	lang := language(o.Runtime)
	if lang == "" {
		return nil, fmt.Errorf("lambdaenv: function %s: Runtime %q is not a Node.js or Python runtime", o.Name, o.Runtime)
	}
	if o.Handler == "" {
		return nil, fmt.Errorf("lambdaenv: function %s: empty Handler", o.Name)
	}
	dir, err := filepath.Abs(codeDir)
	if err != nil {
		return nil, fmt.Errorf("lambdaenv: function %s: code folder %s: %w", o.Name, codeDir, err)
	}
	ric, err := ricDir()
	if err != nil {
		return nil, fmt.Errorf("lambdaenv: function %s: %w", o.Name, err)
	}
	interp := o.Interpreter
	if interp == "" {
		interp = map[string]string{"node": "node", "python": "python3"}[lang]
	}
	f := newFunction(o)
	b := &program{path: interp, dir: dir, out: &output{w: o.Output, prefix: f.name + ": "}}
	switch lang {
	case "node":
		b.args = []string{filepath.Join(ric, "node", "index.mjs")}
	case "python":
		// -u: output unbuffered, as Lambda's Python runtime writes it.
		b.args = []string{"-u", filepath.Join(ric, "python", "bootstrap.py")}
	}
	b.env = lambdaEnv(dir, filepath.Join(ric, lang), o.Handler, f.name, o.Runtime, o.MemorySize)
	if lang == "python" {
		// No __pycache__ folders written into the code, whose folder
		// Lambda mounts read-only; the compiled modules that installed
		// packages (boto3) ship are still read. (PYTHONPYCACHEPREFIX
		// would ignore those and compile botocore at the first init,
		// past the 10 s init limit on a slow machine.)
		b.env = append(b.env, "PYTHONDONTWRITEBYTECODE=1")
	}
	b.addEnv(o)
	f.start = func() (environment, error) { return startProcess(f, b) }
	return f, nil
}

// managedRuntime matches the managed runtimes NewRuntime runs.
var managedRuntime = regexp.MustCompile(`^(?:nodejs(\d+)\.x|python3\.\d+)$`)

// language returns "node" or "python" for a managed runtime NewRuntime
// runs (nodejs18.x and later, python3.N), else "".
func language(runtime string) string {
	m := managedRuntime.FindStringSubmatch(runtime)
	switch {
	case m == nil:
		return ""
	case m[1] == "":
		return "python"
	case len(m[1]) > 2 || len(m[1]) == 2 && m[1] >= "18":
		return "node"
	}
	return ""
}

// The runtime interface clients, in ric/node and ric/python.
//
//go:embed ric
var rics embed.FS

var ricOnce = sync.OnceValues(writeRICs)

// ricDir returns the folder holding the runtime interface clients, written
// there on first use.
func ricDir() (string, error) { return ricOnce() }

// writeRICs writes the embedded clients to a folder named by their hash
// under the user's cache directory, unless they are there already, or to a
// fresh temporary folder if that fails, and returns it.
func writeRICs() (string, error) {
	h := sha256.New()
	fs.WalkDir(rics, "ric", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := rics.ReadFile(path)
			fmt.Fprintf(h, "%s %d\n", path, len(b))
			h.Write(b)
		}
		return nil
	})
	base, err := os.UserCacheDir()
	if err == nil {
		dir := filepath.Join(base, "lambdaws", "ric-"+hex.EncodeToString(h.Sum(nil)[:8]))
		if err = copyRICs(dir); err == nil {
			return dir, nil
		}
	}
	dir, err2 := os.MkdirTemp("", "lambdaws-ric-")
	if err2 == nil {
		if err2 = copyRICs(dir); err2 == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("writing the runtime interface clients: %w", errors.Join(err, err2))
}

// copyRICs writes the embedded clients under dir, each file unless it is
// there already with the same content.
func copyRICs(dir string) error {
	return fs.WalkDir(rics, "ric", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("ric", filepath.FromSlash(path))
		dst := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, _ := rics.ReadFile(path)
		if old, err := os.ReadFile(dst); err == nil && string(old) == string(b) {
			return nil
		}
		// Another lambdaws may write the same file: rename is atomic.
		tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-")
		if err != nil {
			return err
		}
		_, err = tmp.Write(b)
		err = errors.Join(err, tmp.Close())
		if err == nil {
			err = os.Rename(tmp.Name(), dst)
		}
		if err != nil {
			os.Remove(tmp.Name())
		}
		return err
	})
}
