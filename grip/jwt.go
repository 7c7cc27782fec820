package grip

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// errBadSignature is matched (errors.Is) by every Grip-Sig verification
// failure: missing, malformed, wrongly signed, of another algorithm, expired or
// from another issuer.
var errBadSignature = errors.New("grip: bad Grip-Sig")

// Key verifies Grip-Sig tokens: an HS256 shared secret (Pushpin's sig_key,
// legacy Fanout Cloud's realm key) or an ES256 public key (Fastly Fanout).
// The algorithm is pinned by the key: a token of any other algorithm,
// including "none", is refused.
type Key struct {
	secret []byte
	pub    *ecdsa.PublicKey
}

// ParseKey parses a verification key as GRIP configuration writes it:
//   - a PEM "PUBLIC KEY" block or a JWK ({"kty":"EC","crv":"P-256",…}): ES256;
//   - "base64:<standard base64>": an HS256 secret given as binary;
//   - anything else: an HS256 secret, as is (Pushpin's default is "changeme").
//
// White space around s is ignored in every case, so a key read from a file
// with a trailing newline is the same key; give a secret that begins or ends
// with white space as base64.
func ParseKey(s string) (*Key, error) {
	t := strings.TrimSpace(s)
	switch {
	case t == "":
		return nil, errors.New("grip: empty key")
	case strings.HasPrefix(t, "-----BEGIN"):
		block, _ := pem.Decode([]byte(t))
		if block == nil {
			return nil, errors.New("grip: key: bad PEM")
		}
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("grip: key: %w", err)
		}
		pub, ok := k.(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() {
			return nil, fmt.Errorf("grip: key: %T is not a P-256 public key (ES256)", k)
		}
		return &Key{pub: pub}, nil
	case strings.HasPrefix(t, "{"):
		var jwk struct{ Kty, Crv, X, Y string }
		if err := json.Unmarshal([]byte(t), &jwk); err != nil {
			return nil, fmt.Errorf("grip: key: bad JWK: %w", err)
		}
		if jwk.Kty != "EC" || jwk.Crv != "P-256" {
			return nil, fmt.Errorf("grip: key: JWK kty %q crv %q, want EC P-256", jwk.Kty, jwk.Crv)
		}
		x, err1 := base64.RawURLEncoding.DecodeString(strings.TrimRight(jwk.X, "="))
		y, err2 := base64.RawURLEncoding.DecodeString(strings.TrimRight(jwk.Y, "="))
		if err := errors.Join(err1, err2); err != nil || len(x) != 32 || len(y) != 32 {
			return nil, errors.New("grip: key: JWK x/y are not 32-byte base64url values")
		}
		raw := append(append([]byte{4}, x...), y...)
		pub, err := ecdsaPublicKey(raw)
		if err != nil {
			return nil, err
		}
		return &Key{pub: pub}, nil
	case strings.HasPrefix(t, "base64:"):
		b, err := base64.StdEncoding.DecodeString(t[len("base64:"):])
		if err != nil {
			return nil, fmt.Errorf("grip: key: bad base64: %w", err)
		}
		if len(b) == 0 {
			return nil, errors.New("grip: key: empty base64 secret")
		}
		return &Key{secret: b}, nil
	}
	return &Key{secret: []byte(t)}, nil
}

func ecdsaPublicKey(uncompressed []byte) (*ecdsa.PublicKey, error) {
	x, y := new(big.Int).SetBytes(uncompressed[1:33]), new(big.Int).SetBytes(uncompressed[33:])
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
	// ECDH checks that the point is on the curve.
	if _, err := pub.ECDH(); err != nil {
		return nil, fmt.Errorf("grip: key: JWK point not on P-256: %w", err)
	}
	return pub, nil
}

func (k *Key) alg() string {
	if k.pub != nil {
		return "ES256"
	}
	return "HS256"
}

// verify checks a Grip-Sig token: its algorithm is the key's, its signature
// verifies, it has an "exp" claim in the future (a minute of clock skew is
// allowed) and, when iss is not "", its "iss" claim equals iss. Failures match
// errBadSignature.
func (k *Key) verify(token, iss string, now time.Time) error {
	if token == "" {
		return fmt.Errorf("%w: missing", errBadSignature)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return fmt.Errorf("%w: not a JWS compact token", errBadSignature)
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return fmt.Errorf("%w: header: %w", errBadSignature, err)
	}
	if hdr.Alg != k.alg() {
		return fmt.Errorf("%w: algorithm %q, want %s", errBadSignature, hdr.Alg, k.alg())
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return fmt.Errorf("%w: signature encoding", errBadSignature)
	}
	signed := token[:len(parts[0])+1+len(parts[1])]
	sum := sha256.Sum256([]byte(signed))
	if k.pub != nil {
		if len(sig) != 64 || !ecdsa.Verify(k.pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return fmt.Errorf("%w: signature does not verify", errBadSignature)
		}
	} else {
		mac := hmac.New(sha256.New, k.secret)
		mac.Write([]byte(signed))
		if !hmac.Equal(sig, mac.Sum(nil)) {
			return fmt.Errorf("%w: signature does not verify", errBadSignature)
		}
	}
	var claims struct {
		Exp *float64 `json:"exp"` // a JSON number: a string is refused
		Iss string   `json:"iss"`
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return fmt.Errorf("%w: claims: %w", errBadSignature, err)
	}
	if claims.Exp == nil {
		return fmt.Errorf("%w: no exp claim", errBadSignature)
	}
	if float64(now.Add(-time.Minute).Unix()) >= *claims.Exp {
		return fmt.Errorf("%w: expired", errBadSignature)
	}
	if iss != "" && claims.Iss != iss {
		return fmt.Errorf("%w: issuer %q, want %q", errBadSignature, claims.Iss, iss)
	}
	return nil
}

// decodeSegment decodes a token segment: base64url of exactly one JSON
// value, with nothing after it.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// signHS256 makes the HS256 token that authenticates a publish to legacy
// Fanout Cloud: {"iss": iss, "exp": now+1h}.
func signHS256(secret []byte, iss string, now time.Time) string {
	enc := base64.RawURLEncoding
	hdr := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{"iss": iss, "exp": now.Add(time.Hour).Unix()})
	signed := hdr + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signed))
	return signed + "." + enc.EncodeToString(mac.Sum(nil))
}
