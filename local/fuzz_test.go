package local

import (
	"bytes"
	"encoding/binary"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
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
	var good []byte
	good = append(good, frame(1, true, 5)...)
	good = append(good, "hello"...)
	good = append(good, frame(1, false, maxFrame)...)
	good = append(good, make([]byte, maxFrame)...)
	good = append(good, frame(9, true, 0)...) // ping between fragments
	good = append(good, frame(0, true, 10)...)
	good = append(good, make([]byte, 10)...)
	unmasked := frame(1, true, 3)
	unmasked = append(unmasked[:len(unmasked)-4], "abc"...)
	unmasked[1] &^= 0x80
	for _, tt := range []struct {
		name string
		bad  []byte
		want closeError
	}{
		{"oversized", append(frame(1, true, maxFrame+1), make([]byte, 100)...), closeFrameTooBig},
		{"unmasked", unmasked, closeUnmasked},
	} {
		stream := append(append([]byte(nil), good...), tt.bad...)
		for _, chunk := range []int{1, 2, 7, 100, 4096, len(stream)} {
			s := frameScanner{fromClient: true}
			delivered := 0
			var got *closeError
			for p := stream; len(p) > 0 && got == nil; p = p[min(chunk, len(p)):] {
				var k int
				k, got = s.feed(p[:min(chunk, len(p))])
				delivered += k
			}
			if got == nil || *got != tt.want {
				t.Errorf("%s in chunks of %d: close %v, want %v", tt.name, chunk, got, tt.want)
			}
			if delivered < len(good) || delivered > len(good)+13 {
				t.Errorf("%s in chunks of %d: delivered %d bytes, want %d (the refused header withheld)", tt.name, chunk, delivered, len(good))
			}
		}
	}
	// The gateway's own frames are unmasked and may be longer.
	var out frameScanner
	if _, ce := out.feed(append(frame(1, true, maxPost), unmasked...)); ce != nil {
		t.Errorf("gateway's frames refused: %v", ce)
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
		whole := frameScanner{fromClient: true}
		k1, ce1 := whole.feed(stream)
		parts := frameScanner{fromClient: true}
		k2 := 0
		var ce2 *closeError
		for p := stream; len(p) > 0 && ce2 == nil; {
			n := min(chunk, len(p))
			var k int
			k, ce2 = parts.feed(p[:n])
			k2 += k
			p = p[n:]
		}
		if ce1 != ce2 {
			t.Fatalf("whole: %v, in chunks of %d: %v", ce1, chunk, ce2)
		}
		if k1 > len(stream) || k2 < k1 || k2 > k1+14 {
			t.Fatalf("whole delivered %d, chunks of %d delivered %d, of %d", k1, chunk, k2, len(stream))
		}
	})
}

// FuzzWildcardMatch checks IAM wildcard matching against a regular
// expression: * is any run of characters, ? one, everything else literal.
func FuzzWildcardMatch(f *testing.F) {
	f.Add("arn:aws:execute-api:*:*:*/[a-z]*/*", "arn:aws:execute-api:us-east-1:123456789012:abcdefghij/local/$connect")
	f.Add("arn:aws:execute-api:*:*:*/loca?/$connect", "arn:aws:execute-api:us-east-1:123456789012:abcdefghij/local/$connect")
	f.Add("a*b*c?", "aXbYbcZ")
	f.Add("*é?", "xéé")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(s) {
			return // policies and ARNs are JSON strings: valid UTF-8
		}
		var re strings.Builder
		re.WriteString(`(?s)\A`)
		for _, r := range pattern {
			switch r {
			case '*':
				re.WriteString(".*")
			case '?':
				re.WriteString(".")
			default:
				re.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		re.WriteString(`\z`)
		if got, want := wildcardMatch(pattern, s), regexp.MustCompile(re.String()).MatchString(s); got != want {
			t.Fatalf("wildcardMatch(%q, %q) = %v, want %v", pattern, s, got, want)
		}
	})
}
