package main

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxUnzipped is Lambda's limit on a function's unzipped code (250 MB).
const maxUnzipped = 250 << 20

// unzipCode unpacks the zip package at path, as Lambda unpacks a function's
// code, into a folder of the user's cache named by the package's content
// hash, and returns that folder; a package unpacked before is not unpacked
// again. It refuses what Lambda refuses or what could write outside the
// folder: more than 250 MB unzipped (counted as written, whatever the
// headers say), entries with absolute paths or "..", and symbolic links.
func unzipCode(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("%s: no cache folder to unpack it in: %w", path, err)
	}
	dir := filepath.Join(cache, "lambdaws", "zip", hex.EncodeToString(h.Sum(nil)[:16]))
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".unzip-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // after a successful rename, nothing is left
	if err := unzipInto(path, tmp, maxUnzipped); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(dir); statErr == nil {
			return dir, nil // another lambdaws unpacked it meanwhile
		}
		return "", err
	}
	return dir, nil
}

// unzipInto writes the files of the zip package at path into dir, at most
// limit bytes in all.
func unzipInto(path, dir string, limit int64) error {
	r, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("not a zip package: %w", err)
	}
	defer r.Close()
	var total int64
	for _, e := range r.File {
		name := filepath.FromSlash(e.Name)
		if !filepath.IsLocal(name) || strings.Contains(e.Name, `\`) {
			return fmt.Errorf("entry %q would be written outside the function's folder", e.Name)
		}
		target := filepath.Join(dir, name)
		mode := e.Mode()
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			continue
		case mode&os.ModeSymlink != 0:
			return fmt.Errorf("entry %q is a symbolic link, which lambdaws local does not unpack", e.Name)
		case !mode.IsRegular():
			return fmt.Errorf("entry %q is not a regular file", e.Name)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		n, err := writeEntry(e, target, limit-total)
		total += n
		if err != nil {
			return err
		}
	}
	return nil
}

var errTooBig = errors.New("over Lambda's limit on unzipped code (250 MB)")

// writeEntry writes e to target, at most limit bytes, keeping its
// executable bits (a bootstrap must stay executable).
func writeEntry(e *zip.File, target string, limit int64) (int64, error) {
	rc, err := e.Open()
	if err != nil {
		return 0, fmt.Errorf("entry %q: %w", e.Name, err)
	}
	defer rc.Close()
	perm := os.FileMode(0o644)
	if e.Mode()&0o111 != 0 {
		perm = 0o755
	}
	w, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return 0, fmt.Errorf("entry %q: %w", e.Name, err)
	}
	n, err := io.Copy(w, io.LimitReader(rc, limit+1))
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return n, fmt.Errorf("entry %q: %w", e.Name, err)
	case n > limit:
		return n, errTooBig
	}
	return n, nil
}
