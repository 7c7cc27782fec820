package local

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Closes the gateway answers a client's frame header with, before
// coder/websocket reads the frame: it would read a frame of any size, and
// drop the connection without a close frame on an unmasked one.
var (
	closeFrameTooBig = closeError{websocket.StatusMessageTooBig, "Frame too big"}
	closeUnmasked    = closeError{websocket.StatusProtocolError, "Unmasked frame"}
)

// lingerTimeout bounds how long a closing connection drains unread client
// bytes so that the close frame reaches the client before the socket closes
// (closing with unread data would send a TCP reset).
const lingerTimeout = time.Second

// hijackWriter hands coder/websocket a frameConn instead of the raw
// connection, so the gateway sees frame headers, which coder/websocket does
// not expose.
type hijackWriter struct {
	http.ResponseWriter
	fc *frameConn
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("local: http.ResponseWriter does not implement http.Hijacker")
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	buffered, _ := brw.Reader.Peek(brw.Reader.Buffered())
	fc := &frameConn{Conn: nc, r: io.MultiReader(bytes.NewReader(bytes.Clone(buffered)), nc)}
	fc.scan.fromClient = true
	fc.out.onClose = func(payload []byte) {
		ce := closeError{code: 1005} // a close frame without a status
		if len(payload) >= 2 {
			ce = closeError{websocket.StatusCode(binary.BigEndian.Uint16(payload)), string(payload[2:])}
		}
		fc.sent.CompareAndSwap(nil, &ce)
	}
	fc.scan.onClose = func([]byte) {
		if fc.sent.Load() == nil {
			fc.clientFirst.Store(true)
		}
	}
	w.fc = fc
	brw.Reader.Reset(fc)
	brw.Writer.Reset(fc) // empty: net/http flushed the 101 before hijacking
	return fc, brw, nil
}

// frameConn is the server side of a client connection. Reads pass through a
// frameScanner, which refuses oversized and unmasked frames and notes
// whether the client's close frame came before the gateway's; writes
// through another, which notes the first close frame sent (coder/websocket
// closes with 1002 on a protocol error without telling its caller); Close
// lingers to drain what the client still sends.
type frameConn struct {
	net.Conn
	r           io.Reader
	scan        frameScanner
	err         error                      // sticky, once refused is set; reads are serialized by coder/websocket
	refused     atomic.Pointer[closeError] // the close the reader answers a refused frame with
	clientFirst atomic.Bool                // a close frame was read before any was sent: the client closed
	out         frameScanner               // writes are serialized by coder/websocket too
	sent        atomic.Pointer[closeError]
}

func (c *frameConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.feed(p[:n])
	return n, err
}

func (c *frameConn) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	if k, ce := c.scan.feed(p[:n]); ce != nil {
		c.refused.Store(ce)
		c.err = errors.New("local: refused a client frame: " + ce.reason)
		return k, c.err
	}
	return n, err
}

func (c *frameConn) Close() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		c.Conn.SetReadDeadline(time.Now().Add(lingerTimeout))
		io.Copy(io.Discard, io.LimitReader(c.Conn, 4<<20))
	}
	return c.Conn.Close()
}

// frameScanner follows the frame boundaries of a WebSocket
// byte stream (RFC 6455 section 5.2).
type frameScanner struct {
	hdr  [14]byte
	n    int    // header bytes collected so far
	left uint64 // payload bytes left in the current frame

	// fromClient refuses data frames over maxFrame and unmasked frames
	// (RFC 6455 section 5.1), as a server must; the frames the gateway
	// writes (up to PostToConnection's 128 KiB, unmasked) are scanned with
	// it false.
	fromClient bool

	// onClose, if set, receives the payload of each close frame (at most
	// 125 bytes, the limit of control frames) once it is complete.
	onClose func(payload []byte)
	inClose bool   // the current frame is a close frame
	payload []byte // of the current close frame
}

// feed consumes the next bytes of the stream. If fromClient is set and they
// complete the header of an unmasked frame or of a data frame longer than
// maxFrame, it returns the number of bytes of p before that header and the
// close to answer with; otherwise len(p), nil. Once it returns a close the
// scanner must not be fed again.
func (s *frameScanner) feed(p []byte) (int, *closeError) {
	start := 0 // where the header being collected began in p
	for i := 0; i < len(p); {
		if s.left > 0 {
			k := min(uint64(len(p)-i), s.left)
			if s.inClose && len(s.payload) < 125 {
				s.payload = append(s.payload, p[i:i+int(min(k, uint64(125-len(s.payload))))]...)
			}
			i += int(k)
			s.left -= k
			if s.left == 0 {
				s.closed()
			}
			continue
		}
		if s.n == 0 {
			start = i
		}
		s.hdr[s.n] = p[i]
		s.n++
		i++
		if s.n < 2 {
			continue
		}
		need := 2
		if s.hdr[1]&0x80 != 0 {
			need += 4
		}
		length := uint64(s.hdr[1] & 0x7f)
		switch length {
		case 126:
			need += 2
		case 127:
			need += 8
		}
		if s.n < need {
			continue
		}
		switch length {
		case 126:
			length = uint64(binary.BigEndian.Uint16(s.hdr[2:4]))
		case 127:
			length = binary.BigEndian.Uint64(s.hdr[2:10])
		}
		s.n = 0
		opcode := s.hdr[0] & 0x0f
		switch {
		case !s.fromClient:
		case s.hdr[1]&0x80 == 0:
			return start, &closeUnmasked
		case opcode < 8 && length > maxFrame:
			return start, &closeFrameTooBig
		}
		s.left = length
		s.inClose = opcode == 8 && s.onClose != nil
		if s.left == 0 {
			s.closed()
		}
	}
	return len(p), nil
}

// closed ends the current frame, passing it to onClose if it is a close
// frame.
func (s *frameScanner) closed() {
	if s.inClose {
		s.onClose(s.payload)
		s.inClose, s.payload = false, nil
	}
}
