package local

import (
	"bytes"
	"encoding/binary"
	"net/url"
	"strings"
	"testing"
)

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"/local/@connections/R1kmxc2VNjMCFIA%3D",
		"/prod/%40connections/R0oXAdfD0kwCH6w%3D",
		"/local/@connections/",
		"/@connections/abc",
		"/local/@connections/a/b",
		"/",
		"",
		"/local/%zz/x",
		"/a%2Fb/@connections/c%2Fd",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, escaped string) {
		stage, id, isAPI, ok := parsePath(escaped)
		if ok && (!isAPI || stage == "" || id == "") {
			t.Fatalf("parsePath(%q) = %q, %q, %v, %v", escaped, stage, id, isAPI, ok)
		}
		if !ok {
			return
		}
		// The path the SDK builds from the parsed values parses back to them.
		again := "/" + url.PathEscape(stage) + "/@connections/" + url.PathEscape(id)
		stage2, id2, _, ok2 := parsePath(again)
		if !ok2 || stage2 != stage || id2 != id {
			t.Fatalf("parsePath(%q) = %q, %q; rebuilt %q parses to %q, %q, %v", escaped, stage, id, again, stage2, id2, ok2)
		}
		if !strings.Contains(escaped, "@connections") && !strings.Contains(strings.ToLower(escaped), "%40") {
			t.Fatalf("parsePath(%q) accepted a path without @connections", escaped)
		}
	})
}

// frame returns a masked client frame header for a payload of n bytes.
func frame(opcode byte, fin bool, n int) []byte {
	b := []byte{opcode, 0x80}
	if fin {
		b[0] |= 0x80
	}
	switch {
	case n < 126:
		b[1] |= byte(n)
	case n < 1<<16:
		b[1] |= 126
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b[1] |= 127
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, 1, 2, 3, 4)
}

func TestFrameScanner(t *testing.T) {
	var stream []byte
	stream = append(stream, frame(1, true, 5)...)
	stream = append(stream, "hello"...)
	stream = append(stream, frame(1, false, maxFrame)...)
	stream = append(stream, make([]byte, maxFrame)...)
	stream = append(stream, frame(9, true, 0)...) // ping between fragments
	stream = append(stream, frame(0, true, 10)...)
	stream = append(stream, make([]byte, 10)...)
	good := len(stream)
	stream = append(stream, frame(1, true, maxFrame+1)...)
	stream = append(stream, make([]byte, 100)...)
	for _, chunk := range []int{1, 2, 7, 100, 4096, len(stream)} {
		var s frameScanner
		delivered := 0
		for p := stream; len(p) > 0; {
			n := min(chunk, len(p))
			k, ok := s.feed(p[:n])
			delivered += k
			if !ok {
				break
			}
			p = p[n:]
		}
		if delivered < good || delivered > good+13 {
			t.Errorf("chunks of %d: delivered %d bytes, want %d (the oversized header withheld)", chunk, delivered, good)
		}
	}
}

func FuzzFrameScanner(f *testing.F) {
	f.Add(append(frame(1, true, 3), "abc"...), 1)
	f.Add(frame(2, true, maxFrame+1), 3)
	f.Add(bytes.Repeat([]byte{0x81, 0xff}, 10), 5)
	f.Fuzz(func(t *testing.T, stream []byte, chunk int) {
		if chunk <= 0 {
			chunk = 1
		}
		var whole frameScanner
		k1, ok1 := whole.feed(stream)
		var parts frameScanner
		k2, ok2 := 0, true
		for p := stream; len(p) > 0 && ok2; {
			n := min(chunk, len(p))
			var k int
			k, ok2 = parts.feed(p[:n])
			k2 += k
			p = p[n:]
		}
		if ok1 != ok2 {
			t.Fatalf("whole: %v, in chunks of %d: %v", ok1, chunk, ok2)
		}
		if k1 > len(stream) || k2 < k1 || k2 > k1+14 {
			t.Fatalf("whole delivered %d, chunks of %d delivered %d, of %d", k1, chunk, k2, len(stream))
		}
	})
}
