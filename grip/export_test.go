package grip

import "time"

// The WebSocket-over-HTTP codec and Grip-Sig verification are unexported;
// the external tests reach them through these names.

type Event = event

const (
	Open        = evOpen
	Text        = evText
	Binary      = evBinary
	Ping        = evPing
	Pong        = evPong
	Close       = evClose
	Disconnect  = evDisconnect
	ContentType = contentType
)

var (
	CloseEvent      = closeEvent
	DecodeEvents    = decodeEvents
	EncodeEvents    = encodeEvents
	ErrBadSignature = errBadSignature
)

func (e event) CloseCode() (int, string) { return e.closeCode() }

func (k *Key) Verify(token, iss string, now time.Time) error { return k.verify(token, iss, now) }

func HS256(secret []byte) *Key { return &Key{secret: secret} }

// EmptySecret reports whether p would sign or verify with an empty secret.
func (p *Publisher) EmptySecret() bool {
	return p.jwtKey != nil && len(p.jwtKey) == 0 ||
		p.verify != nil && p.verify.pub == nil && len(p.verify.secret) == 0
}
