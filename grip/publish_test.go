package grip_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/grip"
)

func TestNewPublisher(t *testing.T) {
	for _, tc := range []struct{ in, url string }{
		{"http://localhost:5561/", "http://localhost:5561/publish/"},
		{"http://localhost:5561", "http://localhost:5561/publish/"},
		{"https://api.fanout.io/realm/R?iss=R&key=base64:a2V5", "https://api.fanout.io/realm/R/publish/"},
		{"https://api.fastly.com/service/S?key=TOKEN&verify-iss=fastly:S", "https://api.fastly.com/service/S/publish/"},
		{"http://h:1/p/?x=1&key=k", "http://h:1/p/publish/?x=1"},
	} {
		p, err := grip.NewPublisher(tc.in)
		if err != nil {
			t.Errorf("NewPublisher(%q): %v", tc.in, err)
			continue
		}
		if p.URL() != tc.url {
			t.Errorf("NewPublisher(%q).URL() = %q, want %q", tc.in, p.URL(), tc.url)
		}
	}
	for _, bad := range []string{"", "localhost:5561", "ftp://x/", "http://h/?iss=r&key=base64:!!",
		// Empty keys, as an unset variable gives them: never an empty secret.
		"http://h/?iss=R&key=base64:", "http://h/?iss=R&key=", "http://h/?key=", "http://h/?verify-key=", "http://h/?verify-key=base64:",
	} {
		if _, err := grip.NewPublisher(bad); err == nil {
			t.Errorf("NewPublisher(%q): no error", bad)
		}
	}
}

func TestPublishAuth(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
		if r.URL.Query().Get("fail") != "" {
			http.Error(w, "Invalid format: nope", 400)
		}
	}))
	defer srv.Close()
	item := grip.Item{Channel: "c", WSMessage: &grip.WSMessage{Content: []byte("x")}}
	ctx := context.Background()

	for _, tc := range []struct{ url, check string }{
		{srv.URL + "/", ""},
		{srv.URL + "/?key=TOKEN", "Bearer TOKEN"},
		{srv.URL + "/?iss=realm&key=base64:" + base64.StdEncoding.EncodeToString([]byte("secret")), "jwt"},
	} {
		got = nil
		p, err := grip.NewPublisher(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Publish(ctx, item); err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		switch tc.check {
		case "jwt":
			tok, ok := strings.CutPrefix(got[0], "Bearer ")
			if !ok || grip.HS256([]byte("secret")).Verify(tok, "realm", time.Now()) != nil {
				t.Errorf("%s: Authorization %q is not an HS256 JWT for realm", tc.url, got[0])
			}
		default:
			if got[0] != tc.check {
				t.Errorf("%s: Authorization %q, want %q", tc.url, got[0], tc.check)
			}
		}
	}
	p, _ := grip.NewPublisher(srv.URL + "/?fail=1")
	if err := p.Publish(ctx, item); err == nil || !strings.Contains(err.Error(), "Invalid format: nope") {
		t.Errorf("failed publish: %v", err)
	}
	if err := p.Publish(ctx, grip.Item{Channel: "c"}); err == nil {
		t.Error("item without a format: no error")
	}
}

func TestItemJSON(t *testing.T) {
	for _, tc := range []struct {
		it   grip.Item
		want string
	}{
		{grip.Item{Channel: "c", ID: "2", PrevID: "1", WSMessage: &grip.WSMessage{Content: []byte{0, 1}, Binary: true}},
			`{"channel":"c","formats":{"ws-message":{"content-bin":"AAE="}},"id":"2","prev-id":"1"}`},
		{grip.Item{Channel: "c", HTTPStream: &grip.HTTPStream{Content: []byte("hi\n")}},
			`{"channel":"c","formats":{"http-stream":{"content-bin":"aGkK"}}}`},
		{grip.Item{Channel: "c", HTTPStream: &grip.HTTPStream{Close: true}},
			`{"channel":"c","formats":{"http-stream":{"action":"close"}}}`},
		{grip.Item{Channel: "c", HTTPResponse: &grip.HTTPResponse{Code: 202, Headers: map[string]string{"A": "b"}, Body: []byte("x")}},
			`{"channel":"c","formats":{"http-response":{"body-bin":"eA==","code":202,"headers":{"A":"b"}}}}`},
	} {
		b, err := tc.it.MarshalJSON()
		if err != nil || string(b) != tc.want {
			t.Errorf("got %s %v\nwant %s", b, err, tc.want)
		}
	}
}

func TestHold(t *testing.T) {
	h := http.Header{}
	grip.Hold(h, grip.HoldStream, []string{"a", "b"}, &grip.HoldOptions{KeepAlive: []byte("\n"), KeepAliveTimeout: 20 * time.Second})
	if h.Get("Grip-Hold") != "stream" || strings.Join(h.Values("Grip-Channel"), ",") != "a,b" || h.Get("Grip-Keep-Alive") != `\n; format=cstring; timeout=20` {
		t.Errorf("stream hold headers %v", h)
	}
	h = http.Header{}
	grip.Hold(h, grip.HoldResponse, []string{"p"}, &grip.HoldOptions{Timeout: 30 * time.Second, KeepAlive: []byte("ping")})
	if h.Get("Grip-Hold") != "response" || h.Get("Grip-Timeout") != "30" || h.Get("Grip-Keep-Alive") != "ping; format=raw" {
		t.Errorf("response hold headers %v", h)
	}
}

// FuzzNewPublisher: any GRIP_URL gives an error or a Publisher whose publish
// URL parses, and never one that signs or verifies with an empty secret.
func FuzzNewPublisher(f *testing.F) {
	for _, s := range []string{
		"http://localhost:5561/", "https://api.fanout.io/realm/R?iss=R&key=base64:a2V5",
		"https://api.fastly.com/service/S?key=TOKEN&verify-iss=fastly:S", "http://h/?iss=R&key=base64:",
		"http://h/?iss=R&key=base64:%3D%3D", "http://h/?verify-key=%20", "http://h/?key=&key=x", "http://h/p%2F?x=1#f",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := grip.NewPublisher(s)
		if err != nil {
			return
		}
		if p.EmptySecret() {
			t.Fatalf("NewPublisher(%q): a Publisher with an empty secret", s)
		}
		u, err := url.Parse(p.URL())
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !strings.HasSuffix(u.Path, "/publish/") {
			t.Fatalf("NewPublisher(%q).URL() = %q: %v", s, p.URL(), err)
		}
	})
}
