package grip

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Publisher publishes items to a GRIP proxy's publish API: Pushpin's HTTP
// control port or Fanout. It is safe for concurrent use.
type Publisher struct {
	// Client makes the HTTP calls; nil means http.DefaultClient.
	Client *http.Client

	endpoint string // control URI + "/publish/"
	bearer   string // a static bearer token ("key" without "iss")
	iss      string // with jwtKey: a fresh HS256 JWT per call
	jwtKey   []byte
	verify   *Key   // verify-key, or key with iss
	verifyIs string // verify-iss
}

// NewPublisher returns a Publisher for a GRIP_URL, parsed as pygripcontrol's
// parse_grip_uri does:
//
//	http://localhost:5561/                                         Pushpin, no auth
//	https://api.fanout.io/realm/R?iss=R&key=base64:K               HS256 JWT bearer (legacy Fanout Cloud)
//	https://api.fastly.com/service/S?key=TOKEN&verify-iss=fastly:S  static bearer (Fastly Fanout)
//
// The control URI is the URL without the iss, key, verify-iss and verify-key
// parameters, a fragment and a trailing slash; publishes go to
// control URI + "/publish/". verify-key (or key together with iss) and
// verify-iss configure Grip-Sig verification for a [Handler] that uses this
// URL. An empty key or verify-key (key=, key=base64:) is an error, never an
// empty secret.
func NewPublisher(gripURL string) (*Publisher, error) {
	u, err := url.Parse(gripURL)
	if err != nil {
		return nil, fmt.Errorf("grip: GRIP_URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("grip: GRIP_URL %q: want an http(s) URL such as http://localhost:5561/", redact(u))
	}
	q := u.Query()
	p := &Publisher{iss: q.Get("iss"), verifyIs: q.Get("verify-iss")}
	if q.Has("key") {
		key := q.Get("key")
		if p.iss != "" && strings.HasPrefix(key, "base64:") {
			if p.jwtKey, err = base64.StdEncoding.DecodeString(key[len("base64:"):]); err != nil {
				return nil, fmt.Errorf("grip: GRIP_URL: key: bad base64: %w", err)
			}
		} else {
			p.jwtKey = []byte(key)
		}
		// An empty key (what an unset variable gives: key=, key=base64:)
		// would sign and verify with an empty HMAC secret, which anyone
		// can do.
		if len(p.jwtKey) == 0 {
			return nil, fmt.Errorf("grip: GRIP_URL %q: empty key", redact(u))
		}
		if p.iss != "" {
			p.verify = &Key{secret: p.jwtKey}
		} else {
			p.bearer, p.jwtKey = key, nil
		}
	}
	if q.Has("verify-key") {
		if p.verify, err = ParseKey(q.Get("verify-key")); err != nil {
			return nil, fmt.Errorf("grip: GRIP_URL %q: verify-key: %w", redact(u), err)
		}
	}
	for _, k := range []string{"iss", "key", "verify-iss", "verify-key"} {
		q.Del(k)
	}
	u.RawQuery = q.Encode()
	u.Path = strings.TrimSuffix(u.Path, "/") + "/publish/"
	u.RawPath, u.Fragment, u.RawFragment = "", "", ""
	p.endpoint = u.String()
	return p, nil
}

func redact(u *url.URL) string {
	c := *u
	c.RawQuery = ""
	return c.String()
}

// URL returns the URL publishes are posted to.
func (p *Publisher) URL() string { return p.endpoint }

// Item is one published message: a channel and the formats it is delivered
// in. Set the format of each kind of subscriber the channel has.
type Item struct {
	Channel string
	// ID and PrevID order messages in a channel (optional).
	ID, PrevID string
	// Meta is the item's meta, matched by subscription filters (for example
	// "sender" by skip-self).
	Meta map[string]string

	WSMessage    *WSMessage    // to WebSocket subscribers
	HTTPStream   *HTTPStream   // to held HTTP streams (Grip-Hold: stream)
	HTTPResponse *HTTPResponse // to held long-polls (Grip-Hold: response)
}

// WSMessage is the ws-message format: a message to, or the closing of, every
// WebSocket connection subscribed to the channel.
type WSMessage struct {
	Content []byte
	Binary  bool // send Content as a binary message instead of text
	// Close closes the connections, with CloseCode when not 0, instead of
	// sending Content.
	Close     bool
	CloseCode int
}

// HTTPStream is the http-stream format: Content is written to every held
// stream; Close ends them instead.
type HTTPStream struct {
	Content []byte
	Close   bool
}

// HTTPResponse is the http-response format: the response every held
// long-poll gets. A zero Code means 200.
type HTTPResponse struct {
	Code    int
	Reason  string
	Headers map[string]string
	Body    []byte
}

func (it Item) MarshalJSON() ([]byte, error) {
	m := map[string]any{"channel": it.Channel}
	if it.ID != "" {
		m["id"] = it.ID
	}
	if it.PrevID != "" {
		m["prev-id"] = it.PrevID
	}
	if len(it.Meta) > 0 {
		m["meta"] = it.Meta
	}
	f := map[string]any{}
	if w := it.WSMessage; w != nil {
		wm := map[string]any{}
		switch {
		case w.Close:
			wm["action"] = "close"
			if w.CloseCode != 0 {
				wm["code"] = w.CloseCode
			}
		case w.Binary:
			wm["content-bin"] = base64.StdEncoding.EncodeToString(w.Content)
		default:
			wm["content"] = string(w.Content)
		}
		f["ws-message"] = wm
	}
	if s := it.HTTPStream; s != nil {
		if s.Close {
			f["http-stream"] = map[string]any{"action": "close"}
		} else {
			f["http-stream"] = map[string]any{"content-bin": base64.StdEncoding.EncodeToString(s.Content)}
		}
	}
	if r := it.HTTPResponse; r != nil {
		hr := map[string]any{"body-bin": base64.StdEncoding.EncodeToString(r.Body)}
		if r.Code != 0 {
			hr["code"] = r.Code
		}
		if r.Reason != "" {
			hr["reason"] = r.Reason
		}
		if len(r.Headers) > 0 {
			hr["headers"] = r.Headers
		}
		f["http-response"] = hr
	}
	if len(f) == 0 {
		return nil, fmt.Errorf("grip: item for channel %q has no format", it.Channel)
	}
	m["formats"] = f
	return json.Marshal(m)
}

// Publish posts items in one call. It fails when the proxy does not answer
// 2xx, with the proxy's message.
func (p *Publisher) Publish(ctx context.Context, items ...Item) error {
	if len(items) == 0 {
		return nil
	}
	body, err := json.Marshal(map[string][]Item{"items": items})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("grip: publish: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	switch {
	case p.jwtKey != nil:
		req.Header.Set("Authorization", "Bearer "+signHS256(p.jwtKey, p.iss, time.Now()))
	case p.bearer != "":
		req.Header.Set("Authorization", "Bearer "+p.bearer)
	}
	c := p.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("grip: publish: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("grip: publish to channel %q: %s: %s", items[0].Channel, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
