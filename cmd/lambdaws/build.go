package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
)

// builds holds what every function runs: a bootstrap (go1.x: the file
// Handler names) from its CodeUri, one built from the Go source in its
// CodeUri (shared by the functions with the same CodeUri, runtime and
// Handler), or for Node.js and Python functions a code folder (CodeUri, or
// what make, npm or pip built from it) and the interpreter running it.
type builds struct {
	out      io.Writer
	bins     map[string]string   // binKey → binary or code folder
	gos      []*goBuild          // in CodeURI order
	codes    []*codeBuild        // in CodeURI order
	modCache string              // GOMODCACHE, whose sources never change
	names    map[string][]string // CodeURI → function logical ids
	interps  interpreters
	// extraEnv holds, per runtime, the variables that make the packages
	// the runtime provides importable (NODE_PATH, PYTHONPATH).
	extraEnv map[string]map[string]string
	// executeAPI, when set, is where Node.js functions' requests to the
	// API's execute-api host on AWS go.
	executeAPI *executeAPI
}

// goBuild is one Go package built for the host.
type goBuild struct {
	dir   string   // CodeURI
	bin   string   // the binary, in the user's cache
	rpc   bool     // for go1.x: keeps aws-lambda-go's RPC protocol
	watch []string // files and folders whose change rebuilds it
	state string   // their fingerprint when last built
}

// goRuntimes are the Lambda runtimes lambdaws local can run.
var goRuntimes = []string{"", "provided.al2023", "provided.al2", "provided", "go1.x"}

// prepare finds or builds the binary of each function of tpl.
func prepare(ctx context.Context, tpl *sam.Template, out io.Writer) (*builds, error) {
	b := &builds{out: out, bins: map[string]string{}, names: map[string][]string{}, extraEnv: map[string]map[string]string{}}
	b.interps.wd, _ = os.Getwd()
	ids := make([]string, 0, len(tpl.Functions))
	for id := range tpl.Functions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		fn := tpl.Functions[id]
		b.names[fn.CodeURI] = append(b.names[fn.CodeURI], id)
		if _, ok := b.bins[binKey(fn)]; ok {
			continue
		}
		if lang, _ := language(fn.Runtime); lang != "" || fn.BuildMethod == "makefile" {
			path, err := b.classifyCode(ctx, fn)
			if err != nil {
				return nil, err
			}
			b.bins[binKey(fn)] = path
			continue
		}
		bin, isGo, err := classify(fn)
		if err != nil {
			return nil, err
		}
		b.bins[binKey(fn)] = bin
		if isGo {
			b.gos = append(b.gos, &goBuild{dir: fn.CodeURI, bin: bin, rpc: fn.Runtime == "go1.x"})
		}
	}
	if err := b.buildCodes(ctx); err != nil {
		return nil, err
	}
	if err := b.runtimeSDKs(ctx, tpl); err != nil {
		return nil, err
	}
	b.printRuntimes(tpl)
	if len(b.gos) == 0 {
		return b, nil
	}
	if _, err := exec.LookPath("go"); err != nil {
		return nil, errors.New("go is not on PATH: lambdaws local builds Go functions with the Go toolchain")
	}
	mc, err := exec.CommandContext(ctx, "go", "env", "GOMODCACHE").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	b.modCache = strings.TrimSpace(string(mc))
	for _, g := range b.gos {
		if err := os.MkdirAll(filepath.Dir(g.bin), 0o755); err != nil {
			return nil, err
		}
	}
	if err := b.buildAll(ctx); err != nil {
		return nil, err
	}
	pruneCache(filepath.Dir(filepath.Dir(b.gos[0].bin)), 30*24*time.Hour)
	return b, nil
}

// buildAll builds every Go function, runtime.NumCPU() at a time, and says
// which failed or that ctx stopped them.
func (b *builds) buildAll(ctx context.Context) error {
	sem := make(chan struct{}, runtime.NumCPU())
	ok := make([]bool, len(b.gos))
	var wg sync.WaitGroup
	for i, g := range b.gos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			ok[i] = b.build(ctx, g)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: stopped the build (%w)", ctx.Err())
	}
	var failed []string
	for i, g := range b.gos {
		if !ok[i] {
			failed = append(failed, b.names[g.dir]...)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("building %s failed", strings.Join(failed, ", "))
	}
	return nil
}

// pruneCache removes from the build cache the folders of functions not built
// for maxAge (each start builds the functions it serves, so these belong to
// templates not served since), and leftovers of builds that were killed.
// A function keeps its current binary only: a build replaces it by renaming,
// so that running processes keep the old file.
func pruneCache(root string, maxAge time.Duration) {
	dirs, _ := os.ReadDir(root)
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join(root, d.Name())
		files, _ := os.ReadDir(dir)
		var newest time.Time
		for _, f := range files {
			info, err := f.Info()
			if err != nil {
				continue
			}
			if strings.HasSuffix(f.Name(), ".tmp") && time.Since(info.ModTime()) > time.Hour {
				os.Remove(filepath.Join(dir, f.Name())) // of a build killed before its rename
			} else if info.ModTime().After(newest) {
				newest = info.ModTime()
			}
		}
		if time.Since(newest) > maxAge {
			os.RemoveAll(dir)
		}
	}
}

// classify returns the binary a function runs and whether it is built from
// Go source, or why it cannot run here.
func classify(fn *sam.Function) (bin string, isGo bool, err error) {
	if !slices.Contains(goRuntimes, fn.Runtime) {
		return "", false, unsupported(fn)
	}
	if st, err := os.Stat(fn.CodeURI); err != nil || !st.IsDir() {
		return "", false, fmt.Errorf("function %s: CodeUri %s is not a folder", fn.LogicalID, fn.CodeURI)
	}
	// go1.x ran the executable Handler names, over aws-lambda-go's RPC
	// protocol; the other runtimes run a bootstrap.
	name, what := "bootstrap", "a bootstrap"
	if fn.Runtime == "go1.x" {
		if !filepath.IsLocal(fn.Handler) {
			return "", false, fmt.Errorf("function %s: Runtime go1.x runs the executable Handler names in CodeUri, and Handler %q is not a file name there", fn.LogicalID, fn.Handler)
		}
		name, what = fn.Handler, "the executable "+fn.Handler
	}
	bootstrap := filepath.Join(fn.CodeURI, name)
	_, statErr := os.Stat(bootstrap)
	hasBootstrap := statErr == nil
	// Go source is built when the template asks for it, or when there is
	// nothing else to run; after sam build, CodeUri holds only a bootstrap.
	if hasGoSource(fn.CodeURI) && (fn.BuildMethod == "go1.x" || !hasBootstrap) {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", false, fmt.Errorf("function %s: no cache folder for its binary: %w", fn.LogicalID, err)
		}
		sum := sha256.Sum256([]byte(binKey(fn)))
		return filepath.Join(cache, "lambdaws", "build", hex.EncodeToString(sum[:8]), filepath.Base(name)), true, nil
	}
	if !hasBootstrap {
		if fn.BuildMethod == "go1.x" {
			return "", false, fmt.Errorf("function %s: CodeUri %s holds no Go main package (no .go file), nor %s: point CodeUri at the folder of the function's package main, which lambdaws local builds (BuildMethod go1.x needs no sam build)", fn.LogicalID, fn.CodeURI, what)
		}
		if fn.BuildMethod != "" {
			return "", false, fmt.Errorf("function %s: CodeUri %s holds neither %s nor Go source, and BuildMethod %s is sam build's: run sam build first (lambdaws local then serves .aws-sam/build/template.yaml), or point CodeUri at the folder of a Go package main", fn.LogicalID, fn.CodeURI, what, fn.BuildMethod)
		}
		return "", false, fmt.Errorf("function %s: CodeUri %s holds neither %s nor Go source", fn.LogicalID, fn.CodeURI, what)
	}
	if err := runnable(bootstrap); err != nil {
		return "", false, fmt.Errorf("function %s: %s %w", fn.LogicalID, bootstrap, err)
	}
	return bootstrap, false, nil
}

// hasGoSource reports whether dir holds a .go file. (Not filepath.Glob: a
// folder named like fn[1] is not a pattern.)
func hasGoSource(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".go") {
			return true
		}
	}
	return false
}

// runnable checks that an ELF binary is for this machine (a deployment
// build is usually linux/arm64).
func runnable(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return nil // not ELF: a script, or a binary the OS will judge
	}
	defer f.Close()
	const hint = "; serve the source template instead, so that lambdaws local builds the function for this machine"
	if runtime.GOOS != "linux" {
		return fmt.Errorf("is a Linux binary and this machine runs %s%s", runtime.GOOS, hint)
	}
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[runtime.GOARCH]
	if want != 0 && f.Machine != want {
		return fmt.Errorf("is built for %s and this machine is %s%s", f.Machine, runtime.GOARCH, hint)
	}
	return nil
}

func (b *builds) binary(fn *sam.Function) string { return b.bins[binKey(fn)] }

// binKey is the same for functions that run the same binary or code folder.
func binKey(fn *sam.Function) string {
	switch lang, _ := language(fn.Runtime); {
	case fn.BuildMethod == "makefile": // make builds each function apart
		return fn.CodeURI + "\x00makefile\x00" + fn.LogicalID
	case fn.Runtime == "go1.x":
		return fn.CodeURI + "\x00go1.x\x00" + fn.Handler
	case lang != "":
		return fn.CodeURI + "\x00" + lang
	}
	return fn.CodeURI
}

func (b *builds) label(g *goBuild) string {
	return fmt.Sprintf("%s (%s)", strings.Join(b.names[g.dir], ", "), relPath(g.dir))
}

// build runs go build for the host into a temporary file and renames it over
// the binary, so that running processes keep the old one. It prints the
// outcome and reports success; on failure the old binary stays.
func (b *builds) build(ctx context.Context, g *goBuild) bool {
	start := time.Now()
	fmt.Fprintf(b.out, "building %s…\n", b.label(g))
	// What the build reads is noted before it starts, so that a file
	// saved during the build changes the fingerprint and builds again.
	b.listSources(ctx, g)
	tmp := fmt.Sprintf("%s.%d.tmp", g.bin, os.Getpid())
	args := []string{"build", "-o", tmp}
	if !g.rpc { // only go1.x speaks aws-lambda-go's RPC protocol
		args = append(args, "-tags", "lambda.norpc")
	}
	cmd := exec.CommandContext(ctx, "go", append(args, ".")...)
	cmd.Dir = g.dir
	// For this machine whatever GOOS and GOARCH say; cgo as the user's
	// builds have it, so that the build cache they filled serves.
	cmd.Env = append(os.Environ(), "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	// Stopped, go build is killed; its compilers may outlive it a moment
	// holding the output open.
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err == nil {
		err = os.Rename(tmp, g.bin)
	}
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		os.Remove(tmp)
		if ctx.Err() != nil {
			fmt.Fprintf(b.out, "stopped the build of %s after %s\n", b.label(g), took)
			return false
		}
		fmt.Fprintf(b.out, "build of %s failed after %s: %v\n%s", b.label(g), took, err, out)
		return false
	}
	fmt.Fprintf(b.out, "built %s in %s\n", b.label(g), took)
	return true
}

// listSources sets what g watches: the folders of the packages it is built
// from that are outside the module cache (its module, and local replace
// targets), their modules' go.mod and go.sum, and CodeUri itself.
func (b *builds) listSources(ctx context.Context, g *goBuild) {
	watch := []string{g.dir}
	cmd := exec.CommandContext(ctx, "go", "list", "-e", "-deps",
		"-f", "{{if not .Standard}}{{.Dir}}\n{{with .Module}}{{.GoMod}}{{end}}{{end}}", ".")
	cmd.Dir = g.dir
	if out, err := cmd.Output(); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			p := sc.Text()
			if p == "" || (b.modCache != "" && strings.HasPrefix(p, b.modCache)) {
				continue
			}
			if strings.HasSuffix(p, "go.mod") {
				watch = append(watch, p, strings.TrimSuffix(p, "go.mod")+"go.sum")
			} else {
				watch = append(watch, p)
			}
		}
	}
	slices.Sort(watch)
	watch = slices.Compact(watch)
	// After a failed build keep watching what the last good one used too,
	// so that fixing any of it rebuilds.
	g.watch = slices.Compact(slices.Sorted(slices.Values(append(watch, g.watch...))))
	g.state = fingerprint(g.watch)
}

// fingerprint sums the names, sizes and modification times of the watched
// files: *.go files (tests excluded) in watched folders, and watched files.
func fingerprint(paths []string) string {
	h := sha256.New()
	add := func(path string, info os.FileInfo) {
		fmt.Fprintf(h, "%s %d %d\n", path, info.Size(), info.ModTime().UnixNano())
	}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			fmt.Fprintf(h, "%s missing\n", p)
			continue
		}
		if !info.IsDir() {
			add(p, info)
			continue
		}
		entries, _ := os.ReadDir(p)
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			if info, err := e.Info(); err == nil {
				add(filepath.Join(p, name), info)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// watch polls the sources of the functions until ctx is done, rebuilds
// one whose sources changed, and calls rebuilt with its CodeURI after a
// successful build (for code run in place, after any change).
func (b *builds) watch(ctx context.Context, rebuilt func(codeURI string)) {
	if len(b.gos) == 0 && len(b.codes) == 0 {
		return
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, g := range b.gos {
			if fingerprint(g.watch) == g.state {
				continue
			}
			fmt.Fprintf(b.out, "sources of %s changed\n", b.label(g))
			if b.build(ctx, g) {
				rebuilt(g.dir)
			}
		}
		for _, c := range b.codes {
			if treeFingerprint(c.dir) == c.state {
				continue
			}
			if c.kind == "" {
				c.state = treeFingerprint(c.dir)
				fmt.Fprintf(b.out, "files of %s changed: new environments load them\n", b.codeLabel(c))
				rebuilt(c.dir)
				continue
			}
			fmt.Fprintf(b.out, "files of %s changed\n", b.codeLabel(c))
			if b.buildCode(ctx, c) {
				rebuilt(c.dir)
			}
		}
	}
}
