package grip

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Hold modes: keep a response open and stream published content into it, or
// hold it until one published response (long-polling) or the timeout.
const (
	HoldStream   = "stream"
	HoldResponse = "response"
)

// HoldOptions tunes a Hold. The zero value (or nil) uses the proxy's
// defaults.
type HoldOptions struct {
	// Timeout ends a response hold that got no publish; the proxy then sends
	// the original response (its status, headers and body). Default 55 s in
	// Pushpin.
	Timeout time.Duration
	// KeepAlive is written to a held stream after KeepAliveTimeout of
	// silence (default 55 s in Pushpin when KeepAlive is set).
	KeepAlive        []byte
	KeepAliveTimeout time.Duration
}

// Hold sets the headers of a response so that the proxy holds it open and
// subscribes it to channels: mode HoldStream streams every message published
// in the http-stream format (the body written now is sent first); mode
// HoldResponse waits for one message published in the http-response format
// and answers with it. Call it before writing the header, then write the
// initial response as usual:
//
//	grip.Hold(w.Header(), grip.HoldStream, []string{"news"}, nil)
//	w.Header().Set("Content-Type", "text/plain")
//	io.WriteString(w, "stream open\n")
//
// Channel names are used as given (a Handler's Prefix does not apply).
func Hold(h http.Header, mode string, channels []string, opts *HoldOptions) {
	h.Set("Grip-Hold", mode)
	h.Del("Grip-Channel")
	for _, ch := range channels {
		h.Add("Grip-Channel", ch)
	}
	if opts == nil {
		return
	}
	if opts.Timeout > 0 {
		h.Set("Grip-Timeout", strconv.Itoa(int(opts.Timeout.Round(time.Second)/time.Second)))
	}
	if len(opts.KeepAlive) > 0 {
		v := keepAliveValue(opts.KeepAlive)
		if opts.KeepAliveTimeout > 0 {
			v += "; timeout=" + strconv.Itoa(int(opts.KeepAliveTimeout.Round(time.Second)/time.Second))
		}
		h.Set("Grip-Keep-Alive", v)
	}
}

// keepAliveValue encodes keep-alive data as a Grip-Keep-Alive value: raw
// when it is a plain token-free string, else cstring.
func keepAliveValue(b []byte) string {
	var sb strings.Builder
	plain := true
	for _, c := range b {
		if c < 0x20 || c >= 0x7f || c == ';' || c == '\\' || c == '"' || c == ',' {
			plain = false
		}
	}
	if plain {
		return string(b) + "; format=raw"
	}
	for _, c := range b {
		switch c {
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		case '\\':
			sb.WriteString(`\\`)
		default:
			if c < 0x20 || c >= 0x7f || c == ';' || c == '"' || c == ',' {
				// Not representable as cstring escapes Pushpin knows: base64.
				return base64Value(b)
			}
			sb.WriteByte(c)
		}
	}
	return sb.String() + "; format=cstring"
}

func base64Value(b []byte) string {
	return base64.StdEncoding.EncodeToString(b) + "; format=base64"
}
