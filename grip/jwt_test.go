package grip_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/grip"
)

var now = time.Unix(1_800_000_000, 0)

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func hs256(key, header, claims string) string {
	signed := b64(header) + "." + b64(claims)
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(signed))
	return signed + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func es256(t *testing.T, priv *ecdsa.PrivateKey, header, claims string) string {
	signed := b64(header) + "." + b64(claims)
	sum := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestVerifyHS256(t *testing.T) {
	key, err := grip.ParseKey("changeme")
	if err != nil {
		t.Fatal(err)
	}
	hdr := `{"alg":"HS256","typ":"JWT"}`
	valid := `{"iss":"pushpin","exp":1800003600}`
	for _, tc := range []struct {
		name, token, iss string
		ok               bool
	}{
		{"valid", hs256("changeme", hdr, valid), "pushpin", true},
		{"valid, any issuer", hs256("changeme", hdr, valid), "", true},
		{"float exp", hs256("changeme", hdr, `{"exp":1800003600.5}`), "", true},
		{"within skew", hs256("changeme", hdr, `{"exp":1799999970}`), "", true},
		{"expired", hs256("changeme", hdr, `{"iss":"pushpin","exp":1799999000}`), "pushpin", false},
		{"no exp", hs256("changeme", hdr, `{"iss":"pushpin"}`), "pushpin", false},
		{"exp not a number", hs256("changeme", hdr, `{"exp":"soon"}`), "", false},
		{"exp a numeric string", hs256("changeme", hdr, `{"exp":"1800003600"}`), "", false},
		{"exp null", hs256("changeme", hdr, `{"exp":null}`), "", false},
		{"junk after claims", hs256("changeme", hdr, `{"exp":1800003600}junk`), "", false},
		{"second claims object", hs256("changeme", hdr, `{"exp":1800003600}{"exp":1}`), "", false},
		{"junk after header", hs256("changeme", hdr+"x", valid), "", false},
		{"trailing white space", hs256("changeme", hdr+" \n", valid+"\n"), "", true},
		{"wrong issuer", hs256("changeme", hdr, valid), "fastly:x", false},
		{"wrong key", hs256("other", hdr, valid), "", false},
		{"alg none", b64(`{"alg":"none"}`) + "." + b64(valid) + ".", "", false},
		{"alg ES256 with HS256 key", hs256("changeme", `{"alg":"ES256"}`, valid), "", false},
		{"alg HS512", hs256("changeme", `{"alg":"HS512"}`, valid), "", false},
		{"missing", "", "", false},
		{"two parts", b64(hdr) + "." + b64(valid), "", false},
		{"garbage", "a.b.c", "", false},
		{"tampered claims", func() string {
			p := strings.Split(hs256("changeme", hdr, valid), ".")
			return p[0] + "." + b64(`{"iss":"pushpin","exp":1900000000}`) + "." + p[2]
		}(), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := key.Verify(tc.token, tc.iss, now)
			if (err == nil) != tc.ok {
				t.Fatalf("Verify = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, grip.ErrBadSignature) {
				t.Fatalf("error %v does not match ErrBadSignature", err)
			}
		})
	}
}

// TestParseKeyTrimsConsistently: surrounding white space (a key read from a
// file or a secret with a trailing newline) is ignored for every kind of key,
// both to detect the kind and in the key itself.
func TestParseKeyTrimsConsistently(t *testing.T) {
	token := hs256("changeme", `{"alg":"HS256"}`, `{"exp":1800003600}`)
	binToken := hs256("\x00binary\xff", `{"alg":"HS256"}`, `{"exp":1800003600}`)
	b64Key := "base64:" + base64.StdEncoding.EncodeToString([]byte("\x00binary\xff"))
	for _, tc := range []struct{ key, token string }{
		{"changeme\n", token},
		{" changeme\r\n", token},
		{b64Key + "\n", binToken},
		{"  " + b64Key, binToken},
	} {
		key, err := grip.ParseKey(tc.key)
		if err != nil {
			t.Fatalf("ParseKey(%q): %v", tc.key, err)
		}
		if err := key.Verify(tc.token, "", now); err != nil {
			t.Errorf("ParseKey(%q): %v", tc.key, err)
		}
	}
}

// TestErrorsWrapCauses: the cause of a failure stays reachable with
// errors.As, next to ErrBadSignature.
func TestErrorsWrapCauses(t *testing.T) {
	_, err := grip.ParseKey("base64:!!!")
	var corrupt base64.CorruptInputError
	if !errors.As(err, &corrupt) {
		t.Errorf("ParseKey(bad base64) = %v, does not wrap base64.CorruptInputError", err)
	}
	key, _ := grip.ParseKey("changeme")
	err = key.Verify(hs256("changeme", `{"alg":"HS256"}`, `{"exp":"1800003600"}`), "", now)
	var typeErr *json.UnmarshalTypeError
	if !errors.Is(err, grip.ErrBadSignature) || !errors.As(err, &typeErr) {
		t.Errorf("Verify(string exp) = %v, want ErrBadSignature wrapping *json.UnmarshalTypeError", err)
	}
	err = key.Verify(b64("{")+"."+b64(`{}`)+".x", "", now)
	var syntaxErr *json.SyntaxError
	if !errors.Is(err, grip.ErrBadSignature) || !errors.As(err, &syntaxErr) {
		t.Errorf("Verify(bad header) = %v, want ErrBadSignature wrapping *json.SyntaxError", err)
	}
}

func TestVerifyBase64Key(t *testing.T) {
	key, err := grip.ParseKey("base64:" + base64.StdEncoding.EncodeToString([]byte("\x00binary\xff")))
	if err != nil {
		t.Fatal(err)
	}
	if err := key.Verify(hs256("\x00binary\xff", `{"alg":"HS256"}`, `{"exp":1800003600}`), "", now); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyES256(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	jwk, _ := json.Marshal(map[string]string{
		"kty": "EC", "crv": "P-256",
		"x": base64.RawURLEncoding.EncodeToString(priv.X.FillBytes(make([]byte, 32))),
		"y": base64.RawURLEncoding.EncodeToString(priv.Y.FillBytes(make([]byte, 32))),
	})
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	hdr := `{"alg":"ES256","typ":"JWT"}`
	claims := `{"iss":"fastly:SID","exp":1800003600}`
	for name, s := range map[string]string{"PEM": pemKey, "JWK": string(jwk)} {
		t.Run(name, func(t *testing.T) {
			key, err := grip.ParseKey(s)
			if err != nil {
				t.Fatal(err)
			}
			if err := key.Verify(es256(t, priv, hdr, claims), "fastly:SID", now); err != nil {
				t.Errorf("valid: %v", err)
			}
			for what, tok := range map[string]string{
				"other key": es256(t, other, hdr, claims),
				"expired":   es256(t, priv, hdr, `{"iss":"fastly:SID","exp":1700000000}`),
				"no exp":    es256(t, priv, hdr, `{"iss":"fastly:SID"}`),
				"HS256 alg": hs256(pemKey, `{"alg":"HS256"}`, claims), // key confusion
				"alg none":  b64(`{"alg":"none"}`) + "." + b64(claims) + ".",
				"wrong iss": es256(t, priv, hdr, `{"iss":"fastly:OTHER","exp":1800003600}`),
				"short sig": b64(hdr) + "." + b64(claims) + "." + b64("abc"),
			} {
				if err := key.Verify(tok, "fastly:SID", now); !errors.Is(err, grip.ErrBadSignature) {
					t.Errorf("%s: Verify = %v, want ErrBadSignature", what, err)
				}
			}
		})
	}
}

func TestParseKeyErrors(t *testing.T) {
	for _, s := range []string{
		"",
		"base64:!!!",
		"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n",
		`{"kty":"RSA"}`,
		`{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}`,
		`{"kty":"EC","crv":"P-256","x":"` + base64.RawURLEncoding.EncodeToString(make([]byte, 32)) + `","y":"` + base64.RawURLEncoding.EncodeToString(big.NewInt(7).FillBytes(make([]byte, 32))) + `"}`,
		`{not json`,
	} {
		if _, err := grip.ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q): no error", s)
		}
	}
}

// FuzzVerify: no Grip-Sig makes Verify panic, every failure matches
// ErrBadSignature, and a token verifies only when it is HS256-signed with the
// key and carries one claims object with a numeric exp in the future.
func FuzzVerify(f *testing.F) {
	hdr := `{"alg":"HS256","typ":"JWT"}`
	f.Add(hs256("changeme", hdr, `{"iss":"pushpin","exp":1800003600}`))
	f.Add(hs256("changeme", hdr, `{"exp":"1800003600"}`))
	f.Add(hs256("changeme", hdr, `{"exp":1800003600} x`))
	f.Add(hs256("other", hdr, `{"exp":1800003600}`))
	f.Add(b64(`{"alg":"none"}`) + "." + b64(`{"exp":1800003600}`) + ".")
	f.Add("a.b.c")
	key, err := grip.ParseKey("changeme")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		err := key.Verify(token, "", now)
		if err != nil {
			if !errors.Is(err, grip.ErrBadSignature) {
				t.Fatalf("Verify(%q) = %v, not ErrBadSignature", token, err)
			}
			return
		}
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("Verify(%q) accepted a token without three parts", token)
		}
		m := hmac.New(sha256.New, []byte("changeme"))
		m.Write([]byte(parts[0] + "." + parts[1]))
		if parts[2] != base64.RawURLEncoding.EncodeToString(m.Sum(nil)) {
			t.Fatalf("Verify(%q) accepted a wrong signature", token)
		}
		raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var claims struct{ Exp float64 }
		if json.Unmarshal(raw, &claims) != nil || claims.Exp <= float64(now.Add(-time.Minute).Unix()) {
			t.Fatalf("Verify(%q) accepted claims %q", token, raw)
		}
	})
}
