package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
)

// TestLocalCA checks that the CA is created once with a private key, and
// that the certificates it makes verify for loopback names only.
func TestLocalCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lambdaws", caDirName)
	// Several lambdaws starting at once end with one CA.
	cas := make([]*localCA, 4)
	var wg sync.WaitGroup
	for i := range cas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if cas[i], err = loadCA(dir); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, ca := range cas[1:] {
		if !ca.cert.Equal(cas[0].cert) {
			t.Fatal("concurrent starts made different CAs")
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("%d entries next to the CA's folder, want it alone", len(entries))
	}
	st, err := os.Stat(filepath.Join(dir, caKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Errorf("key mode %v, want 0600", perm)
	}
	ca, err := loadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.cert.Equal(cas[0].cert) {
		t.Error("a second start made a new CA")
	}

	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	cert, refused, err := ca.leaf([]string{"127.0.0.1", "::1", "localhost", "192.168.1.20", "box.local", "example.com", "8.8.8.8", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(refused, " ") != "example.com 8.8.8.8" {
		t.Errorf("refused %v, want the public names", refused)
	}
	for _, name := range []string{"127.0.0.1", "::1", "localhost", "192.168.1.20", "box.local"} {
		if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Even a certificate the CA's key signs for a public name is refused.
	ca.cert.PermittedDNSDomains = nil // permits() no longer filters; the certificate keeps its constraints
	ca.cert.PermittedIPRanges = nil
	public, _, err := ca.leaf([]string{"example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := public.Leaf.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: pool}); err == nil {
		t.Error("the CA vouches for example.com")
	}

	// A key others can read is refused.
	if err := os.Chmod(filepath.Join(dir, caKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadCA(dir); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Errorf("a key of mode 0644: %v", err)
	}
}

// TestLocalCANameCase: names the CA may sign for are permitted in any
// case, as its name constraints permit them to verifiers.
func TestLocalCANameCase(t *testing.T) {
	ca := mustLoadCA(t, filepath.Join(t.TempDir(), "lambdaws", caDirName))
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	names := []string{"LOCALHOST", "foo.LOCAL", "Box.Local"}
	cert, refused, err := ca.leaf(append(names, "EXAMPLE.com", "notlocal"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(refused, " ") != "EXAMPLE.com notlocal" {
		t.Errorf("refused %v, want the names outside localhost and .local", refused)
	}
	for _, name := range names {
		if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestLocalCAIncomplete: a CA folder left empty, or with its key or its
// certificate missing, is replaced by a new CA (by one of several lambdaws
// starting at once); one holding other files is left alone, with an error
// that says what to delete.
func TestLocalCAIncomplete(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, dir string)
		err     string // "" if replaced
	}{
		{"empty folder", func(t *testing.T, dir string) {
			if err := os.MkdirAll(dir, caDirPerm); err != nil {
				t.Fatal(err)
			}
		}, ""},
		{"missing cert.pem", func(t *testing.T, dir string) {
			mustLoadCA(t, dir)
			os.Remove(filepath.Join(dir, caCertFile))
		}, ""},
		{"missing key.pem", func(t *testing.T, dir string) {
			mustLoadCA(t, dir)
			os.Remove(filepath.Join(dir, caKeyFile))
		}, ""},
		{"other files", func(t *testing.T, dir string) {
			mustLoadCA(t, dir)
			os.Remove(filepath.Join(dir, caKeyFile))
			os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600)
		}, "holds notes.txt (delete the folder for a new CA)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "lambdaws", caDirName)
			tc.prepare(t, dir)
			cas := make([]*localCA, 4)
			errs := make([]error, len(cas))
			var wg sync.WaitGroup
			for i := range cas {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cas[i], errs[i] = loadCA(dir)
				}()
			}
			wg.Wait()
			for _, err := range errs {
				switch {
				case tc.err == "" && err != nil:
					t.Fatalf("not replaced: %v", err)
				case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), dir)):
					t.Fatalf("error %v, want one naming %s and saying %q", err, dir, tc.err)
				}
			}
			if tc.err != "" {
				if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
					t.Errorf("the folder was not left alone: %v", err)
				}
				return
			}
			for _, ca := range cas[1:] {
				if !ca.cert.Equal(cas[0].cert) {
					t.Fatal("concurrent starts made different CAs")
				}
			}
			if again := mustLoadCA(t, dir); !again.cert.Equal(cas[0].cert) {
				t.Error("the next start made another CA")
			}
			if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 1 {
				t.Errorf("%d entries next to the CA's folder, want it alone", len(entries))
			}
		})
	}
}

func mustLoadCA(t *testing.T, dir string) *localCA {
	t.Helper()
	ca, err := loadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// TestSystemRoots checks that the bundle holds every root of the system
// file Go reads, so that a function trusts no less with it.
func TestSystemRoots(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("system root files are read on Linux")
	}
	var file []byte
	for _, f := range systemRootFiles {
		if data, err := os.ReadFile(f); err == nil {
			file = data
			break
		}
	}
	if file == nil {
		t.Skip("no system root file")
	}
	bundle := systemRoots()
	n := 0
	for {
		var b *pem.Block
		b, file = pem.Decode(file)
		if b == nil {
			break
		}
		n++
		if !bytes.Contains(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b.Bytes})) {
			t.Fatalf("the bundle lacks a system root")
		}
	}
	if n == 0 {
		t.Fatal("no certificate in the system file")
	}
	if got := bytes.Count(bundle, []byte("-----BEGIN CERTIFICATE-----")); got < n {
		t.Errorf("%d certificates in the bundle, %d in the system file", got, n)
	}
}

// tempHome gives the test a home, config and cache folder of its own, and
// no AWS config file or profile.
func tempHome(t *testing.T) string {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "cache"))
	t.Setenv("AWS_CONFIG_FILE", "")
	t.Setenv("AWS_PROFILE", "")
	return home
}

// TestSetupTLS checks the functions' environment.
func TestSetupTLS(t *testing.T) {
	home := tempHome(t)
	var out bytes.Buffer
	tl, err := setupTLS("127.0.0.1:0", &out)
	if err != nil {
		t.Fatal(err)
	}
	_, env := tl.functionEnv(&sam.Function{})
	// The template's variables are its own (lambdaenv lets them override
	// the extra ones); the trust of the CA is extra, not counted.
	own, extra := tl.functionEnv(&sam.Function{Environment: map[string]string{"SSL_CERT_FILE": "mine", "A": "b"}})
	if len(own) != 2 || own["SSL_CERT_FILE"] != "mine" || own["A"] != "b" || extra["NODE_EXTRA_CA_CERTS"] == "" {
		t.Errorf("a template's variables: env %v, extra %v", own, extra)
	}
	ca := filepath.Join(home, "config", "lambdaws", caDirName, caCertFile)
	if env["NODE_EXTRA_CA_CERTS"] != ca || tl.caPath != ca {
		t.Errorf("NODE_EXTRA_CA_CERTS %q, CA %q, want %q", env["NODE_EXTRA_CA_CERTS"], tl.caPath, ca)
	}
	if len(systemRoots()) == 0 {
		if _, ok := env["SSL_CERT_FILE"]; ok || !strings.Contains(out.String(), "only Node.js functions") {
			t.Errorf("without system roots: env %v, output %q", env, out.String())
		}
		return
	}
	bundle := filepath.Join(home, "cache", "lambdaws", bundleFile)
	if env["SSL_CERT_FILE"] != bundle || env["AWS_CA_BUNDLE"] != bundle {
		t.Errorf("env %v, want SSL_CERT_FILE and AWS_CA_BUNDLE %s", env, bundle)
	}
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(ca)
	if !bytes.HasPrefix(data, systemRoots()) || !bytes.HasSuffix(data, caPEM) {
		t.Error("the bundle is not the system roots followed by the CA")
	}
}

// TestSharedCABundle reads the ca_bundle of the profile functions use.
func TestSharedCABundle(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	if err := os.WriteFile(config, []byte(`[default]
region = us-east-1
ca_bundle = /corp/default.pem
[profile  work ]
ca_bundle=/corp/work.pem
[profile other]
region = eu-west-1
[sso-session x]
ca_bundle = /not/a/profile.pem
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for profile, want := range map[string]string{"": "/corp/default.pem", "work": "/corp/work.pem", "other": "", "x": ""} {
		env := map[string]string{"AWS_CONFIG_FILE": config, "AWS_PROFILE": profile}
		if got := sharedCABundle(func(k string) string { return env[k] }); got != want {
			t.Errorf("profile %q: %q, want %q", profile, got, want)
		}
	}
	env := map[string]string{"AWS_CONFIG_FILE": filepath.Join(dir, "missing")}
	if got := sharedCABundle(func(k string) string { return env[k] }); got != "" {
		t.Errorf("no config file: %q", got)
	}
}

// TestSetupTLSProfileBundle checks that with a profile's ca_bundle,
// AWS_CA_BUNDLE is that bundle plus the CA, not the system roots.
func TestSetupTLSProfileBundle(t *testing.T) {
	home := tempHome(t)
	corp := filepath.Join(home, "corp.pem")
	corpPEM := []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----")
	if err := os.WriteFile(corp, corpPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(home, "aws-config")
	if err := os.WriteFile(config, []byte("[default]\nca_bundle = "+corp+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", config)
	tl, err := setupTLS("127.0.0.1:0", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	_, extra := tl.functionEnv(&sam.Function{})
	bundle := extra["AWS_CA_BUNDLE"]
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(tl.caPath)
	if !bytes.HasPrefix(data, corpPEM) || !bytes.HasSuffix(data, caPEM) || bytes.Count(data, []byte("BEGIN CERTIFICATE")) != 2 {
		t.Errorf("AWS_CA_BUNDLE %s:\n%s\nwant the profile's bundle then the CA", bundle, data)
	}
	if ssl := extra["SSL_CERT_FILE"]; ssl == bundle {
		t.Error("SSL_CERT_FILE is the AWS bundle")
	}
}

// TestLocalEnvLimit: lambdaws local counts against Lambda's 4 KB only the
// variables a template sets, not the trust of the local CA nor those of
// LoggingConfig, as Lambda counts them: a function whose own variables
// take 3,993 bytes, or 4,090, with LoggingConfig JSON is served; one over
// 4 KB is refused.
func TestLocalEnvLimit(t *testing.T) {
	tempHome(t)
	for _, tc := range []struct {
		size int // bytes of the variable's name and value
		err  string
	}{
		{3993, ""},
		{4090, ""},
		{4097, "environment variables of 4097 bytes"},
	} {
		t.Run(fmt.Sprint(tc.size), func(t *testing.T) {
			template := bootstrapTemplate(t, `{CodeUri: fn, Runtime: provided.al2023,
      LoggingConfig: {LogFormat: JSON, ApplicationLogLevel: DEBUG},
      Environment: {Variables: {BIG: `+strings.Repeat("x", tc.size-len("BIG"))+`}}}`)
			ctx, cancel := context.WithCancel(t.Context())
			cancel() // serve nothing
			var out bytes.Buffer
			err := run(ctx, nil, []string{"local", "--template", template, "--addr", "127.0.0.1:0"}, &out, &out)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("not served: %v\n%s", err, &out)
			case tc.err == "" && !strings.Contains(out.String(), "also wss://"):
				t.Errorf("served without TLS:\n%s", &out)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("err = %v, want %q", err, tc.err)
			}
		})
	}
}
