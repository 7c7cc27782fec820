package main

import (
	"archive/zip"
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeZip writes a zip package of entries (name → content; a name ending
// in "*" is executable, without the star) and returns its path.
func writeZip(t *testing.T, entries map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, name := range slices.Sorted(maps.Keys(entries)) { // the same bytes for the same entries
		content := entries[name]
		h := &zip.FileHeader{Name: strings.TrimSuffix(name, "*"), Method: zip.Deflate}
		h.SetMode(0o644)
		if strings.HasSuffix(name, "*") {
			h.SetMode(0o755)
		}
		f, err := w.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(content))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "code.zip")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUnzipCode(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir, err := unzipCode(writeZip(t, map[string]string{"bootstrap*": "#!/bin/sh\n", "lib/data.txt": "x"}))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "bootstrap")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("bootstrap: %v, %v; want an executable file", fi, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "lib", "data.txt")); err != nil || string(b) != "x" {
		t.Errorf("lib/data.txt: %q, %v", b, err)
	}
	// The same content again: the same folder, not unpacked twice.
	again, err := unzipCode(writeZip(t, map[string]string{"bootstrap*": "#!/bin/sh\n", "lib/data.txt": "x"}))
	if err != nil || again != dir {
		t.Errorf("same package again: %q, %v; want %q", again, err, dir)
	}

	for name, entries := range map[string]map[string]string{
		"parent":   {"../evil": "x"},
		"absolute": {"/etc/evil": "x"},
		"nested":   {"a/../../evil": "x"},
	} {
		if _, err := unzipCode(writeZip(t, entries)); err == nil || !strings.Contains(err.Error(), "outside the function's folder") {
			t.Errorf("%s: %v, want an error naming the escape", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "..", "evil")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an escaping entry was written: %v", err)
	}
	if _, err := unzipCode(filepath.Join(t.TempDir(), "missing.zip")); err == nil {
		t.Error("missing package: no error")
	}
	notZip := filepath.Join(t.TempDir(), "x.zip")
	os.WriteFile(notZip, []byte("not a zip"), 0o644)
	if _, err := unzipCode(notZip); err == nil || !strings.Contains(err.Error(), "not a zip package") {
		t.Errorf("not a zip: %v", err)
	}
}

// TestUnzipLimit: a package that unzips past the limit fails while writing,
// counting what is written across entries, whatever the headers claim.
func TestUnzipLimit(t *testing.T) {
	const limit = 1 << 20
	path := writeZip(t, map[string]string{"a": strings.Repeat("x", limit/2), "b": strings.Repeat("y", limit/2+1)})
	if err := unzipInto(path, t.TempDir(), limit); !errors.Is(err, errTooBig) {
		t.Fatalf("1 MiB + 1 byte unzipped with a limit of 1 MiB: %v, want %v", err, errTooBig)
	}
	if err := unzipInto(path, t.TempDir(), limit+1); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
}
