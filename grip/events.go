package grip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// Event types of the WebSocket-over-HTTP protocol.
const (
	evOpen       = "OPEN"
	evText       = "TEXT"
	evBinary     = "BINARY"
	evPing       = "PING"
	evPong       = "PONG"
	evClose      = "CLOSE"
	evDisconnect = "DISCONNECT"
)

// contentType is the media type of WebSocket-over-HTTP request and response
// bodies. Pushpin compares it byte for byte: no parameters.
const contentType = "application/websocket-events"

// event is one WebSocket-over-HTTP event: a type such as evText and its
// content, which is empty for evOpen and evDisconnect. A CLOSE event's
// content is a 2-byte big-endian close code followed by a UTF-8 reason, or
// empty; see closeEvent and event.closeCode.
type event struct {
	Type    string
	Content []byte
}

// closeEvent returns a CLOSE event carrying code and reason. A code of 0
// gives an empty CLOSE (no status).
func closeEvent(code int, reason string) event {
	if code == 0 {
		return event{Type: evClose}
	}
	b := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(reason)), uint16(code))
	return event{Type: evClose, Content: append(b, reason...)}
}

// closeCode returns the close code and reason of a CLOSE event: 0 and "" when
// the content is empty (no status), and 0 with the raw content as reason when
// it is a single byte, which is not a valid close payload.
func (e event) closeCode() (code int, reason string) {
	if len(e.Content) < 2 {
		return 0, string(e.Content)
	}
	return int(binary.BigEndian.Uint16(e.Content)), string(e.Content[2:])
}

// maxEventLen bounds the content length decodeEvents accepts; Pushpin never
// sends a body over about 1 MB.
const maxEventLen = 1 << 30

// decodeEvents parses a WebSocket-over-HTTP body: events of the form
// "TYPE\r\n" or "TYPE <hex length>\r\n<content>\r\n". An empty body is a
// keep-alive poll with no events. Lengths count bytes, not characters. Any
// malformation (missing CRLF, a bad or oversized length, content shorter than
// its length, an empty or non-token type) is an error that says where; no
// event is silently dropped. Unknown types are returned as they are, so that
// the caller decides.
func decodeEvents(body []byte) ([]event, error) {
	var evs []event
	for off := 0; off < len(body); {
		rest := body[off:]
		eol := bytes.Index(rest, []byte("\r\n"))
		if eol < 0 {
			return evs, fmt.Errorf("grip: event at byte %d: header not terminated by CRLF", off)
		}
		head := rest[:eol]
		typ, hexLen, hasLen := bytes.Cut(head, []byte(" "))
		if err := checkType(typ); err != nil {
			return evs, fmt.Errorf("grip: event at byte %d: %w", off, err)
		}
		ev := event{Type: string(typ)}
		off += eol + 2
		if hasLen {
			n, err := strconv.ParseUint(string(hexLen), 16, 32)
			if err != nil || len(hexLen) == 0 || len(hexLen) > 8 || hexLen[0] == '+' {
				return evs, fmt.Errorf("grip: %s event at byte %d: bad length %q", typ, off-eol-2, hexLen)
			}
			if n > maxEventLen {
				return evs, fmt.Errorf("grip: %s event at byte %d: length %d too large", typ, off-eol-2, n)
			}
			if uint64(len(body)-off) < n+2 {
				return evs, fmt.Errorf("grip: %s event at byte %d: content of %d bytes truncated (%d bytes left)", typ, off-eol-2, n, len(body)-off)
			}
			ev.Content = body[off : off+int(n) : off+int(n)]
			off += int(n)
			if body[off] != '\r' || body[off+1] != '\n' {
				return evs, fmt.Errorf("grip: %s event at byte %d: content not followed by CRLF", typ, off-int(n)-eol-2)
			}
			off += 2
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

func checkType(typ []byte) error {
	if len(typ) == 0 {
		return errors.New("empty event type")
	}
	for _, c := range typ {
		if c <= ' ' || c >= 0x7f {
			return fmt.Errorf("invalid event type %q", typ)
		}
	}
	return nil
}

// appendEvents appends the encoding of evs to b: "TYPE\r\n" for an event
// without content, "TYPE <hex length>\r\n<content>\r\n" otherwise.
func appendEvents(b []byte, evs ...event) []byte {
	for _, e := range evs {
		b = append(b, e.Type...)
		if len(e.Content) > 0 {
			b = append(b, ' ')
			b = strconv.AppendUint(b, uint64(len(e.Content)), 16)
			b = append(b, "\r\n"...)
			b = append(b, e.Content...)
		}
		b = append(b, "\r\n"...)
	}
	return b
}

// encodeEvents returns the encoding of evs; see [appendEvents].
func encodeEvents(evs ...event) []byte { return appendEvents(nil, evs...) }
