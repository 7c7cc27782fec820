//go:build unix

package integration

import (
	"crypto/tls"
	"crypto/x509"
	"github.com/lambdaws/lambdaws/internal/testenv"
	"net/http"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/coder/websocket"
)

var tlsLine = regexp.MustCompile(`also wss://(\S+)/ and https://(\S+)/@connections, certified by the local CA (\S+)`)

// TestLocalHTTPS serves functions that answer through the management API
// at https://{domainName}/{stage}, as most deployed apps do: with
// aws-sdk-go-v2, with Go's default HTTP client, and with aws-sdk-go v1
// (which adds https:// to a bare host). They trust the gateway through the
// local CA lambdaws local gives them, and so does a wss:// client.
func TestLocalHTTPS(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	p := startLocal(t, awsEnv, "--template", repoPath(t, "integration/testdata/https.yaml"))
	m, err := p.waitLog(tlsLine, 1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m[0][1] != p.Addr || m[0][2] != p.Addr+"/test" {
		t.Errorf("TLS line %q for the API at %s", m[0][0], p.Addr)
	}
	caPEM, err := os.ReadFile(m[0][3])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("no certificate in %s", m[0][3])
	}
	// The template has a table and AWS_ENDPOINT_URL_DYNAMODB is unset.
	if _, err := p.waitLog(regexp.MustCompile(`(?m)^local DynamoDB \(dynalite`), 1, 10*time.Second); err != nil {
		t.Error(err)
	}

	ctx := testContext(t, time.Minute)
	wss := &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	for url, opts := range map[string]*websocket.DialOptions{"wss://" + p.Addr + "/": wss, p.URL: nil} {
		c := dial(t, ctx, url, url, opts)
		for _, fn := range []string{"sdkv2", "nethttp", "sdkv1"} {
			msg := `{"action":"` + fn + `"}`
			c.send(ctx, msg)
			want := map[string]string{"sdkv2": "httpsv2", "nethttp": "httpsnet", "sdkv1": "sdkv1"}[fn] + ": " + msg
			if got := c.next(); got != want {
				t.Errorf("%s: %s answered %q, want %q\n%s", url, fn, got, want, p.out.String())
			}
		}
	}

	// A client that does not trust the CA is refused, as by any server.
	if _, _, err := websocket.Dial(ctx, "wss://"+p.Addr+"/", nil); err == nil {
		t.Error("a wss:// client without the CA connected")
	}
}

// TestLocalSDKv1Warning checks that lambdaws local warns that a function
// built with aws-sdk-go v1 ignores AWS_ENDPOINT_URL_*, and says nothing of
// the account's DynamoDB when AWS_ENDPOINT_URL_DYNAMODB is set.
func TestLocalSDKv1Warning(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	p := startLocal(t, append([]string{"AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:1"}, awsEnv...),
		"--template", repoPath(t, "integration/testdata/https.yaml"))
	if _, err := p.waitLog(regexp.MustCompile(`(?m)^warning: function SDKv1Function is built with aws-sdk-go v1 .*AWS_ENDPOINT_URL`), 1, 10*time.Second); err != nil {
		t.Errorf("%v\n%s", err, p.out.String())
	}
	if regexp.MustCompile(`SDKv2Function is built with|NetHTTPFunction is built with|account's DynamoDB`).MatchString(p.out.String()) {
		t.Errorf("warnings about other functions, or the account's DynamoDB:\n%s", p.out.String())
	}
}
