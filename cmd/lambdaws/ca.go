package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/big"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/lambdaws/lambdaws/cmd/lambdaws/internal/sam"
)

// The local CA: a certificate authority lambdaws local creates once per
// user, in the user's config folder, to sign the certificate it serves
// wss:// and https:// with. Its key never leaves that folder (mode 0600).
// Name constraints limit it to loopback and private addresses, localhost
// and .local names, so that even its key could not vouch for a public site.
const (
	caDirName     = "ca"       // in os.UserConfigDir()/lambdaws
	caCertFile    = "cert.pem" // the CA's certificate, for clients to trust
	caKeyFile     = "key.pem"  // its private key, mode 0600
	caLifetime    = 10 * 365 * 24 * time.Hour
	leafLife      = 90 * 24 * time.Hour // a certificate made at each start
	bundleFile    = "ca-bundle.pem"     // in os.UserCacheDir()/lambdaws: the system roots plus the CA
	awsBundleFile = "aws-ca-bundle.pem" // there too: the AWS profile's ca_bundle plus the CA
	caKeyPerm     = 0o600
	caDirPerm     = 0o700
)

// caPermittedDNS and caPermittedIPs are the CA's name constraints.
var (
	caPermittedDNS = []string{"localhost", "local"}
	caPermittedIPs = []string{
		"127.0.0.0/8", "::1/128", // loopback
		"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", // private
		"169.254.0.0/16", "fe80::/10", // link-local
		"100.64.0.0/10", // shared address space (carrier-grade NAT, VPNs such as Tailscale)
	}
)

// systemRootFiles and systemRootDirs are where Go's crypto/x509 reads the
// system roots on Linux (root_linux.go): the first file that exists, and
// every file in the folders.
var (
	systemRootFiles = []string{
		"/etc/ssl/certs/ca-certificates.crt",                // Debian/Ubuntu/Gentoo etc.
		"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora/RHEL 6
		"/etc/ssl/ca-bundle.pem",                            // OpenSUSE
		"/etc/pki/tls/cacert.pem",                           // OpenELEC
		"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS/RHEL 7
		"/etc/ssl/cert.pem",                                 // Alpine Linux
	}
	systemRootDirs = []string{"/etc/ssl/certs", "/etc/pki/tls/certs"}
)

// localCA is the local certificate authority.
type localCA struct {
	certPath string
	cert     *x509.Certificate
	key      crypto.Signer
}

// loadCA reads the CA in dir, creating it on first use. A folder without
// both files (left empty or half-written, say) is replaced, unless it holds
// other files.
func loadCA(dir string) (*localCA, error) {
	ca, err := readCA(dir)
	if !errors.Is(err, fs.ErrNotExist) {
		return ca, err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, caDirPerm); err != nil {
		return nil, err
	}
	// One lambdaws at a time creates or replaces the folder, so that none
	// replaces a CA that another has just put in place.
	unlock, err := lockDir(parent)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if ca, err := readCA(dir); !errors.Is(err, fs.ErrNotExist) {
		return ca, err
	}
	// Both files in a new folder, renamed into place at once: a lambdaws
	// reading the folder meanwhile sees none or both.
	tmp, err := os.MkdirTemp(parent, ".ca-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := createCA(tmp); err != nil {
		return nil, err
	}
	if _, err := os.Lstat(dir); err == nil {
		old, err := setAside(dir, parent)
		if err != nil {
			return nil, fmt.Errorf("the local CA in %s is incomplete, and it cannot be replaced: %w (delete the folder for a new CA)", dir, err)
		}
		defer os.RemoveAll(old)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	return readCA(dir)
}

// setAside moves the incomplete CA folder dir into a new folder in parent,
// which it returns, if dir holds nothing but a key or a certificate.
func setAside(dir, parent string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if n := e.Name(); n != caKeyFile && n != caCertFile || !e.Type().IsRegular() {
			return "", fmt.Errorf("it holds %s", n)
		}
	}
	old, err := os.MkdirTemp(parent, ".ca-old-")
	if err != nil {
		return "", err
	}
	if err := os.Rename(dir, filepath.Join(old, caDirName)); err != nil {
		os.RemoveAll(old)
		return "", err
	}
	return old, nil
}

// createCA writes a new CA's certificate and key into dir.
func createCA(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	name := "lambdaws local CA"
	if u, err := user.Current(); err == nil {
		name += " of " + u.Username
	}
	if h, err := os.Hostname(); err == nil {
		name += " on " + h
	}
	tmpl := &x509.Certificate{
		SerialNumber:                randomSerial(),
		Subject:                     pkix.Name{CommonName: name, Organization: []string{"lambdaws local"}},
		NotBefore:                   time.Now().Add(-time.Hour),
		NotAfter:                    time.Now().Add(caLifetime),
		KeyUsage:                    x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid:       true,
		IsCA:                        true,
		MaxPathLenZero:              true,
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         caPermittedDNS,
	}
	for _, s := range caPermittedIPs {
		_, n, _ := net.ParseCIDR(s)
		tmpl.PermittedIPRanges = append(tmpl.PermittedIPRanges, n)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, caKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), caKeyPerm); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, caCertFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// readCA reads the CA in dir, and refuses a key others can read.
func readCA(dir string) (*localCA, error) {
	keyPath := filepath.Join(dir, caKeyFile)
	st, err := os.Stat(keyPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("the local CA: %w (delete %s for a new CA)", err, dir)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("the local CA's key %s is readable by others (mode %v): chmod 600 it, or delete %s for a new CA", keyPath, st.Mode().Perm(), dir)
	}
	ca := &localCA{certPath: filepath.Join(dir, caCertFile)}
	certPEM, err := os.ReadFile(ca.certPath)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM) // checks that they match
	if err != nil {
		return nil, fmt.Errorf("the local CA in %s: %w (delete the folder for a new CA)", dir, err)
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok || !pair.Leaf.IsCA {
		return nil, fmt.Errorf("the local CA in %s is not a CA (delete the folder for a new CA)", dir)
	}
	if time.Now().Add(leafLife).After(pair.Leaf.NotAfter) {
		return nil, fmt.Errorf("the local CA in %s expires on %s: delete the folder for a new CA", dir, pair.Leaf.NotAfter.Format(time.DateOnly))
	}
	ca.cert, ca.key = pair.Leaf, signer
	return ca, nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return n
}

// leaf returns a server certificate for hosts (IP addresses or names),
// signed by the CA. Hosts outside the CA's name constraints are left out
// and returned, since a certificate naming one would be refused whole.
func (ca *localCA) leaf(hosts []string) (cert tls.Certificate, refused []string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "lambdaws local", Organization: []string{"lambdaws local"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(leafLife),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		ip := net.ParseIP(h)
		switch {
		case !ca.permits(h, ip):
			if !slices.Contains(refused, h) {
				refused = append(refused, h)
			}
		case ip != nil:
			if !slices.ContainsFunc(tmpl.IPAddresses, ip.Equal) {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		default:
			if !slices.Contains(tmpl.DNSNames, h) {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key, Leaf: parsed}, refused, nil
}

// permits reports whether the CA's name constraints allow host (ip is
// host parsed, or nil for a name). Names compare without regard to case,
// as in name constraints (RFC 5280 section 4.2.1.10).
func (ca *localCA) permits(host string, ip net.IP) bool {
	if ip != nil {
		return slices.ContainsFunc(ca.cert.PermittedIPRanges, func(n *net.IPNet) bool { return n.Contains(ip) })
	}
	host = strings.ToLower(host)
	for _, d := range ca.cert.PermittedDNSDomains {
		d = strings.ToLower(d)
		if host == d || len(host) > len(d) && host[len(host)-len(d)-1:] == "."+d {
			return true
		}
	}
	return false
}

// listenHosts are the names of a listener on addr: loopback's, plus its
// host, or every address of the machine's interfaces for an unspecified
// host (0.0.0.0, ::).
func listenHosts(addr string) []string {
	hosts := []string{"127.0.0.1", "::1", "localhost"}
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return hosts
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
		return append(hosts, host)
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			hosts = append(hosts, n.IP.String())
		}
	}
	return hosts
}

// systemRoots returns the system's root certificates as Go's crypto/x509
// reads them on Linux without SSL_CERT_FILE and SSL_CERT_DIR, each once,
// in PEM: what a function trusts when lambdaws sets nothing.
func systemRoots() []byte {
	var files []string
	for _, f := range systemRootFiles {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
			break
		}
	}
	for _, d := range systemRootDirs {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			files = append(files, filepath.Join(d, e.Name()))
		}
	}
	var out bytes.Buffer
	seen := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for {
			var b *pem.Block
			b, data = pem.Decode(data)
			if b == nil {
				break
			}
			if b.Type != "CERTIFICATE" || len(b.Headers) != 0 || seen[string(b.Bytes)] {
				continue
			}
			if _, err := x509.ParseCertificate(b.Bytes); err != nil {
				continue // as x509.CertPool.AppendCertsFromPEM skips it
			}
			seen[string(b.Bytes)] = true
			pem.Encode(&out, b)
		}
	}
	return out.Bytes()
}

// writeFileAtomic writes data to path through a temporary file renamed into
// place, so that a process reading path never sees half of it.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// localTLS is what lambdaws local serves TLS with and how its functions
// trust it.
type localTLS struct {
	config *tls.Config
	caPath string
	env    map[string]string // for every function, unless its template sets them
}

// functionEnv returns a function's variables as lambdaenv.Options takes
// them: env, those its template sets, which count against Lambda's 4 KB,
// and extra, those that Lambda or lambdaws sets beside them and env
// overrides: the ones that make it trust the local CA and the ones of its
// LoggingConfig.
func (t *localTLS) functionEnv(fn *sam.Function) (env, extra map[string]string) {
	logging := fn.LoggingEnv()
	extra = maps.Clone(t.env)
	if extra == nil {
		extra = map[string]string{}
	}
	maps.Copy(extra, logging)
	env = maps.Clone(fn.Environment)
	for k := range logging {
		delete(env, k)
	}
	return env, extra
}

// setupTLS loads or creates the local CA, makes a certificate for a
// listener on addr, and writes the bundle the functions trust: the system
// roots and the CA. Functions get SSL_CERT_FILE (Go, OpenSSL) and
// AWS_CA_BUNDLE (the AWS SDKs, which trust that bundle alone) pointing at
// it, and NODE_EXTRA_CA_CERTS (which adds to Node's own roots) at the CA.
// When the AWS profile has a ca_bundle, which the SDKs trust alone,
// AWS_CA_BUNDLE is that bundle plus the CA.
// Without system roots to copy (outside Linux, say), a bundle would make
// them trust less, so only NODE_EXTRA_CA_CERTS is set. It writes what a
// user must know to out; on error, lambdaws serves plain HTTP only.
func setupTLS(addr string, out io.Writer) (*localTLS, error) {
	config, err := os.UserConfigDir()
	if err != nil {
		return nil, err
	}
	ca, err := loadCA(filepath.Join(config, "lambdaws", caDirName))
	if err != nil {
		return nil, err
	}
	cert, refused, err := ca.leaf(listenHosts(addr))
	if err != nil {
		return nil, err
	}
	if len(refused) > 0 {
		fmt.Fprintf(out, "warning: the local CA signs only for loopback and private addresses, localhost and .local names: wss:// and https:// clients must use another name than %v\n", refused)
	}
	t := &localTLS{config: &tls.Config{Certificates: []tls.Certificate{cert}}, caPath: ca.certPath}
	t.env = map[string]string{"NODE_EXTRA_CA_CERTS": ca.certPath}
	cache, err := os.UserCacheDir()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(cache, "lambdaws"), 0o755); err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(ca.certPath)
	if err != nil {
		return nil, err
	}
	// The AWS SDKs trust the ca_bundle of the profile alone when it has one.
	if path := sharedCABundle(os.Getenv); path != "" {
		own, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(out, "warning: the AWS profile's ca_bundle: %v; AWS SDKs in functions do not trust the local CA\n", err)
		} else {
			bundle := filepath.Join(cache, "lambdaws", awsBundleFile)
			if err := writeFileAtomic(bundle, append(append(own, '\n'), caPEM...)); err != nil {
				return nil, err
			}
			t.env["AWS_CA_BUNDLE"] = bundle
		}
	}
	var roots []byte
	if runtime.GOOS == "linux" {
		roots = systemRoots()
	}
	if len(roots) == 0 {
		fmt.Fprintf(out, "warning: no system root certificates to add the local CA to on %s: only Node.js functions trust it; the others' https:// calls to this gateway fail (http:// works)\n", runtime.GOOS)
		return t, nil
	}
	bundle := filepath.Join(cache, "lambdaws", bundleFile)
	if err := writeFileAtomic(bundle, append(roots, caPEM...)); err != nil {
		return nil, err
	}
	t.env["SSL_CERT_FILE"] = bundle
	if _, ok := t.env["AWS_CA_BUNDLE"]; !ok {
		t.env["AWS_CA_BUNDLE"] = bundle
	}
	return t, nil
}

// sharedCABundle returns the ca_bundle setting of the AWS profile functions
// use (AWS_PROFILE, else default) in the shared config file
// (AWS_CONFIG_FILE, else ~/.aws/config), or "".
func sharedCABundle(getenv func(string) string) string {
	path := getenv("AWS_CONFIG_FILE")
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		path = filepath.Join(home, ".aws", "config")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	profile := getenv("AWS_PROFILE")
	if profile == "" {
		profile = "default"
	}
	in := false
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if section, ok := strings.CutPrefix(line, "["); ok {
			section, _, _ = strings.Cut(section, "]")
			f := strings.Fields(section)
			in = len(f) == 2 && f[0] == "profile" && f[1] == profile || len(f) == 1 && profile == "default" && f[0] == "default"
			continue
		}
		if k, v, ok := strings.Cut(line, "="); in && ok && strings.TrimSpace(k) == "ca_bundle" {
			v = strings.TrimSpace(v)
			if rest, ok := strings.CutPrefix(v, "~/"); ok {
				if home, err := os.UserHomeDir(); err == nil {
					v = filepath.Join(home, rest)
				}
			}
			return v
		}
	}
	return ""
}

// print says where TLS is served, and the CA clients must trust.
func (t *localTLS) print(out io.Writer, addr, stage string) {
	if t.config == nil {
		return
	}
	fmt.Fprintf(out, "  also wss://%s/ and https://%s/%s/@connections, certified by the local CA %s\n", addr, addr, stage, t.caPath)
}
