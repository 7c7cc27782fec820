package grip_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/lambdaws/lambdaws/grip"
)

func TestDecodeEvents(t *testing.T) {
	euro := strings.Repeat("€", 10) // 30 bytes, 10 runes
	for _, tc := range []struct {
		name string
		in   string
		want []grip.Event
	}{
		{"empty body is a keep-alive", "", nil},
		{"open", "OPEN\r\n", []grip.Event{{Type: "OPEN"}}},
		{"text", "TEXT 5\r\nhello\r\n", []grip.Event{{Type: "TEXT", Content: []byte("hello")}}},
		{"multi-byte text then close", "TEXT 1e\r\n" + euro + "\r\nCLOSE\r\n",
			[]grip.Event{{Type: "TEXT", Content: []byte(euro)}, {Type: "CLOSE"}}},
		{"upper-case hex", "TEXT 1E\r\n" + euro + "\r\n", []grip.Event{{Type: "TEXT", Content: []byte(euro)}}},
		{"binary with CR LF inside", "BINARY 6\r\n\x00\r\n\xff\r\n\r\n",
			[]grip.Event{{Type: "BINARY", Content: []byte("\x00\r\n\xff\r\n")}}},
		{"empty close", "CLOSE\r\n", []grip.Event{{Type: "CLOSE"}}},
		{"close with code", "CLOSE 11\r\n\x0f\xa0server says bye\r\n",
			[]grip.Event{{Type: "CLOSE", Content: []byte("\x0f\xa0server says bye")}}},
		{"zero length", "TEXT 0\r\n\r\n", []grip.Event{{Type: "TEXT", Content: []byte{}}}},
		{"batch", "OPEN\r\nTEXT 2\r\nhi\r\nPING\r\nPONG 1\r\nx\r\nDISCONNECT\r\n", []grip.Event{
			{Type: "OPEN"}, {Type: "TEXT", Content: []byte("hi")}, {Type: "PING"}, {Type: "PONG", Content: []byte("x")}, {Type: "DISCONNECT"},
		}},
		{"unknown type kept", "FOO\r\n", []grip.Event{{Type: "FOO"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := grip.DecodeEvents([]byte(tc.in))
			if err != nil {
				t.Fatalf("DecodeEvents(%q): %v", tc.in, err)
			}
			if !equalEvents(got, tc.want) {
				t.Fatalf("DecodeEvents(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestDecodeEventsErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"no CRLF", "OPEN", "not terminated by CRLF"},
		{"LF only", "OPEN\n", "not terminated by CRLF"},
		{"length too long", "TEXT 6\r\nhello\r\n", "truncated"},
		{"length too short", "TEXT 4\r\nhello\r\n", "not followed by CRLF"},
		{"missing trailing CRLF", "TEXT 5\r\nhello", "truncated"},
		{"bad hex", "TEXT zz\r\nhello\r\n", "bad length"},
		{"negative", "TEXT -5\r\nhello\r\n", "bad length"},
		{"plus sign", "TEXT +5\r\nhello\r\n", "bad length"},
		{"empty length", "TEXT \r\n\r\n", "bad length"},
		{"huge length", "TEXT ffffffff\r\nx\r\n", "too large"},
		{"overflow", "TEXT 1ffffffffffffffff\r\nx\r\n", "bad length"},
		{"empty type", "\r\n", "empty event type"},
		{"type with control char", "TE\x00XT\r\n", "invalid event type"},
		{"second event truncated", "OPEN\r\nTEXT 5\r\nhel", "at byte 6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := grip.DecodeEvents([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "grip: ") {
				t.Fatalf("DecodeEvents(%q) = %q, %v; want an error containing %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestEncodeEvents(t *testing.T) {
	got := grip.EncodeEvents(
		grip.Event{Type: grip.Open},
		grip.Event{Type: grip.Text, Content: []byte("m:" + strings.Repeat("€", 10))},
		grip.Event{Type: grip.Binary, Content: []byte{0, '\r', '\n'}},
		grip.Event{Type: grip.Pong},
		grip.CloseEvent(4000, "bye"),
		grip.CloseEvent(0, ""),
	)
	want := "OPEN\r\nTEXT 20\r\nm:" + strings.Repeat("€", 10) + "\r\nBINARY 3\r\n\x00\r\n\r\nPONG\r\nCLOSE 5\r\n\x0f\xa0bye\r\nCLOSE\r\n"
	if string(got) != want {
		t.Fatalf("EncodeEvents = %q\nwant %q", got, want)
	}
}

func TestCloseCode(t *testing.T) {
	for _, tc := range []struct {
		ev     grip.Event
		code   int
		reason string
	}{
		{grip.CloseEvent(1000, "done"), 1000, "done"},
		{grip.CloseEvent(4000, ""), 4000, ""},
		{grip.Event{Type: grip.Close}, 0, ""},
		{grip.Event{Type: grip.Close, Content: []byte{3}}, 0, "\x03"},
	} {
		code, reason := tc.ev.CloseCode()
		if code != tc.code || reason != tc.reason {
			t.Errorf("%q.CloseCode() = %d %q, want %d %q", tc.ev.Content, code, reason, tc.code, tc.reason)
		}
	}
}

// FuzzDecodeEvents: DecodeEvents never panics, and what it decodes encodes
// to bytes that decode to the same events (round trip).
func FuzzDecodeEvents(f *testing.F) {
	for _, s := range []string{
		"", "OPEN\r\n", "TEXT 5\r\nhello\r\n", "BINARY 4\r\n\x00\x01\r\n\r\n", "CLOSE 2\r\n\x03\xe8\r\n",
		"TEXT 1e\r\n" + strings.Repeat("€", 10) + "\r\nCLOSE\r\n", "TEXT 6\r\nhello\r\n", "TEXT zz\r\n", "PING\r\nPONG 1\r\nx\r\nDISCONNECT\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		evs, err := grip.DecodeEvents(in)
		if err != nil {
			return
		}
		enc := grip.EncodeEvents(evs...)
		again, err := grip.DecodeEvents(enc)
		if err != nil {
			t.Fatalf("re-decoding %q (from %q): %v", enc, in, err)
		}
		if !equalEvents(evs, again) {
			t.Fatalf("round trip of %q: %q != %q", in, again, evs)
		}
		if !bytes.Equal(grip.EncodeEvents(again...), enc) {
			t.Fatalf("encoding is not stable for %q", in)
		}
	})
}

func equalEvents(a, b []grip.Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || !bytes.Equal(a[i].Content, b[i].Content) {
			return false
		}
	}
	return true
}

func ExampleDecodeEvents() {
	evs, err := grip.DecodeEvents([]byte("OPEN\r\nTEXT 5\r\nhello\r\nCLOSE 5\r\n\x03\xe8bye\r\n"))
	if err != nil {
		panic(err)
	}
	for _, e := range evs {
		if e.Type == grip.Close {
			code, reason := e.CloseCode()
			fmt.Println(e.Type, code, reason)
			continue
		}
		fmt.Printf("%s %q\n", e.Type, e.Content)
	}
	// Output:
	// OPEN ""
	// TEXT "hello"
	// CLOSE 1000 bye
}

func ExampleEncodeEvents() {
	body := grip.EncodeEvents(
		grip.Event{Type: grip.Open},
		grip.Event{Type: grip.Text, Content: []byte(`c:{"type":"subscribe","channel":"room"}`)},
		grip.Event{Type: grip.Text, Content: []byte("m:welcome")},
	)
	fmt.Printf("%q\n", body)
	// Output:
	// "OPEN\r\nTEXT 27\r\nc:{\"type\":\"subscribe\",\"channel\":\"room\"}\r\nTEXT 9\r\nm:welcome\r\n"
}
