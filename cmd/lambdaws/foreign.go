package main

import (
	"bufio"
	"debug/buildinfo"
	"debug/elf"
	"debug/gosym"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// sourceFlag is --source LOGICAL_ID=DIR, repeatable: the folder of the Go
// source of a function whose binary is built for another machine.
type sourceFlag map[string]string

func (s sourceFlag) String() string { return "" }

func (s sourceFlag) Set(v string) error {
	id, dir, ok := strings.Cut(v, "=")
	if !ok || id == "" || dir == "" {
		return fmt.Errorf("%q is not LOGICAL_ID=DIR", v)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	s[id] = abs
	return nil
}

// goSourceOf returns the folder of the main package that the Go binary bin
// was built from: the folder of the file that its main.main names, when that
// exists here (a build without -trimpath, as CDK's GoFunction and sam build
// make them), else the package's folder in the module the binary names,
// found by its go.mod in near or a folder above it.
func goSourceOf(bin, near string) (string, error) {
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		return "", errors.New("it is not a Go binary, or has no build information")
	}
	if file, err := mainFile(bin); err == nil && filepath.IsAbs(file) {
		if dir := filepath.Dir(file); hasGoSource(dir) {
			return dir, nil
		}
	}
	rel, ok := strings.CutPrefix(info.Path, info.Main.Path)
	if !ok || rel != "" && rel[0] != '/' {
		return "", fmt.Errorf("its main package %s is outside its module %s", info.Path, info.Main.Path)
	}
	for dir := near; ; dir = filepath.Dir(dir) {
		if modulePath(filepath.Join(dir, "go.mod")) == info.Main.Path {
			src := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(rel, "/")))
			if hasGoSource(src) {
				return src, nil
			}
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("the source of %s (module %s) is not in a folder above %s", info.Path, info.Main.Path, near)
		}
	}
}

// mainFile returns the source file of main.main in the ELF Go binary bin,
// from its line table (kept by -ldflags "-s -w").
func mainFile(bin string) (string, error) {
	f, err := elf.Open(bin)
	if err != nil {
		return "", err
	}
	defer f.Close()
	pcln, text := f.Section(".gopclntab"), f.Section(".text")
	if pcln == nil || text == nil {
		return "", errors.New("no Go line table")
	}
	data, err := pcln.Data()
	if err != nil {
		return "", err
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
	if err != nil {
		return "", err
	}
	fn := tab.LookupFunc("main.main")
	if fn == nil {
		return "", errors.New("no main.main")
	}
	file, _, _ := tab.PCToLine(fn.Entry)
	return file, nil
}

// modulePath returns the module path that the go.mod file at path declares,
// or "".
func modulePath(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '"') {
			rest, _, _ = strings.Cut(strings.TrimSpace(rest), "//")
			rest = strings.TrimSpace(rest)
			if s, err := strconv.Unquote(rest); err == nil {
				return s
			}
			return rest
		}
	}
	return ""
}
