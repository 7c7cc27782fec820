package sender_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// mgmtAPI is an httptest server speaking the API Gateway management API as
// AWS does: /{stage}/@connections/{id} (the id percent-encoded, @ or %40),
// POST 200 empty, GET 200 JSON, DELETE 204, errors as X-Amzn-ErrorType plus
// a {"__type":…} body. Connection ids choose the behaviour:
//
//	gone*        410 GoneException (header and body)
//	gone-empty*  410 with the header only and an empty body
//	bare-gone*   410 with neither header nor body
//	throttled*   429 LimitExceededException
//	forbidden*   403 ForbiddenException
//	tiny*        413 PayloadTooLargeException with a message
//	broken*      500
//	noroute*     404 NotFoundException, as for a path that is no route
//
// anything else is a live connection.
type mgmtAPI struct {
	*httptest.Server
	stage   string
	latency time.Duration
	quiet   bool // record nothing (benchmarks: keep the server's memory flat)

	mu       sync.Mutex
	requests map[string]int    // method+" "+id → count
	received map[string][]byte // id → last POST body
	rawPaths []string
	authz    []string
	tokens   []string // X-Amz-Security-Token of each request
	ctypes   []string
	badSigs  []string // signed requests whose signature does not verify
}

func newMgmtAPI(t testing.TB, stage string, latency time.Duration) *mgmtAPI {
	m := &mgmtAPI{stage: stage, latency: latency, requests: map[string]int{}, received: map[string][]byte{}}
	m.Server = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.Close)
	return m
}

// newMgmtAPITLS is newMgmtAPI over HTTPS, trusted by the SDK through
// AWS_CA_BUNDLE. Over HTTPS the endpoint is not taken for the emulator, so
// requests are signed.
func newMgmtAPITLS(t testing.TB, stage string, latency time.Duration) *mgmtAPI {
	m := &mgmtAPI{stage: stage, latency: latency, requests: map[string]int{}, received: map[string][]byte{}}
	m.Server = httptest.NewTLSServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.Close)
	trustServer(t, m.Server)
	return m
}

// trustServer makes the AWS configuration loaded from now on in t trust
// srv's certificate (AWS_CA_BUNDLE).
func trustServer(t testing.TB, srv *httptest.Server) {
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(bundle, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CA_BUNDLE", bundle)
}

func (m *mgmtAPI) endpoint() string { return m.URL + "/" + m.stage }

func (m *mgmtAPI) count(method, id string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.requests[method+" "+id]
}

func writeErr(w http.ResponseWriter, status int, typ, msg string, body bool) {
	w.Header().Set("X-Amzn-ErrorType", typ)
	if !body {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b := map[string]string{"__type": typ}
	if msg != "" {
		b["message"] = msg
	}
	json.NewEncoder(w).Encode(b)
}

func (m *mgmtAPI) serve(w http.ResponseWriter, r *http.Request) {
	if m.latency > 0 {
		time.Sleep(m.latency)
	}
	raw := r.URL.EscapedPath()
	var rest string
	for _, p := range []string{"/" + m.stage + "/@connections/", "/" + m.stage + "/%40connections/"} {
		if after, ok := strings.CutPrefix(raw, p); ok {
			rest = after
		}
	}
	id, err := url.PathUnescape(rest)
	if rest == "" || strings.Contains(rest, "/") || err != nil {
		writeErr(w, http.StatusNotFound, "NotFoundException", "No method found matching route "+raw, true)
		return
	}
	body, _ := io.ReadAll(r.Body)
	if m.quiet {
		w.WriteHeader(http.StatusOK)
		return
	}
	m.mu.Lock()
	m.requests[r.Method+" "+id]++
	m.rawPaths = append(m.rawPaths, raw)
	m.authz = append(m.authz, r.Header.Get("Authorization"))
	m.tokens = append(m.tokens, r.Header.Get("X-Amz-Security-Token"))
	if r.Header.Get("Authorization") != "" {
		if err := verifySigV4(r, body); err != nil {
			m.badSigs = append(m.badSigs, err.Error())
		}
	}
	if r.Method == http.MethodPost {
		m.ctypes = append(m.ctypes, r.Header.Get("Content-Type"))
	}
	m.mu.Unlock()

	switch {
	case strings.HasPrefix(id, "bare-gone"):
		w.WriteHeader(http.StatusGone)
		return
	case strings.HasPrefix(id, "gone-empty"):
		writeErr(w, http.StatusGone, "GoneException", "", false)
		return
	case strings.HasPrefix(id, "gone"):
		writeErr(w, http.StatusGone, "GoneException", "", true)
		return
	case strings.HasPrefix(id, "throttled"):
		writeErr(w, http.StatusTooManyRequests, "LimitExceededException", "", true)
		return
	case strings.HasPrefix(id, "forbidden"):
		writeErr(w, http.StatusForbidden, "ForbiddenException", "", true)
		return
	case strings.HasPrefix(id, "noroute"):
		writeErr(w, http.StatusNotFound, "NotFoundException", "No method found matching route "+raw, true)
		return
	case strings.HasPrefix(id, "broken"):
		w.WriteHeader(http.StatusInternalServerError)
		return
	case strings.HasPrefix(id, "tiny") && r.Method == http.MethodPost:
		writeErr(w, http.StatusRequestEntityTooLarge, "PayloadTooLargeException", "Request Too Long", true)
		return
	}
	switch r.Method {
	case http.MethodPost:
		if len(body) > 131072 {
			writeErr(w, http.StatusRequestEntityTooLarge, "PayloadTooLargeException", "Request Too Long", true)
			return
		}
		m.mu.Lock()
		m.received[id] = body
		m.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"connectedAt":"2026-01-02T03:04:05Z","identity":{"sourceIp":"203.0.113.7","userAgent":"Mozilla/5.0 (test)"},"lastActiveAt":"2026-01-02T03:09:00Z"}`)
	case http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	default:
		writeErr(w, http.StatusMethodNotAllowed, "MethodNotAllowedException", "", true)
	}
}

func (m *mgmtAPI) got(id string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.received[id]
	return bytes.Clone(b), ok
}

// verifySigV4 signs a copy of r (its signed headers only, at its
// X-Amz-Date) with the SDK's signer and the test credentials, and compares
// the signatures.
func verifySigV4(r *http.Request, body []byte) error {
	authz := r.Header.Get("Authorization")
	_, signed, ok := strings.Cut(authz, "SignedHeaders=")
	if !ok {
		return fmt.Errorf("no SignedHeaders in %q", authz)
	}
	signed, _, _ = strings.Cut(signed, ",")
	date, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return err
	}
	u := *r.URL
	u.Scheme, u.Host = "https", r.Host
	c, _ := http.NewRequest(r.Method, u.String(), nil)
	c.URL.RawPath = r.URL.RawPath
	for _, h := range strings.Split(signed, ";") {
		if h != "host" {
			c.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	c.ContentLength = r.ContentLength
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, c, hex.EncodeToString(sum[:]), "execute-api", "eu-west-1", date); err != nil {
		return err
	}
	if got := c.Header.Get("Authorization"); got != authz {
		return fmt.Errorf("signature mismatch:\n got  %s\n want %s", authz, got)
	}
	return nil
}

// testCredentials points the real SDK at static test credentials and away
// from any config on the machine.
func testCredentials(t testing.TB) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_MAX_ATTEMPTS", "")
}
