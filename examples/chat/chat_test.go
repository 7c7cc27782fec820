package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/coder/websocket"

	"github.com/lambdaws/lambdaws/connstore"
	"github.com/lambdaws/lambdaws/local"
	"github.com/lambdaws/lambdaws/ws"
)

// serveChat serves a ChatRoom on store behind the local API Gateway emulator,
// on a loopback port, as main does, and returns its ws:// URL.
func serveChat(t *testing.T, store connstore.Store) string {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	r := ws.NewRouter()
	r.Logger = quiet
	r.Register(&ChatRoom{Store: store, Channels: ws.StoreChannels(store)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- local.Serve(ctx, ln, lambda.NewHandler(r.Handler), &local.Options{OneWay: true, Logger: quiet})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("local.Serve: %v", err)
		}
	})
	return "ws://" + ln.Addr().String() + "/"
}

// user is a chat client.
type user struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialUser(t *testing.T, url string) *user {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(-1)
	t.Cleanup(func() { conn.CloseNow() })
	return &user{t: t, conn: conn}
}

// send sends text as one message, in frames of 16 KiB (API Gateway takes
// frames of at most 32 KiB).
func (u *user) send(text string) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.t.Context(), 10*time.Second)
	defer cancel()
	w, err := u.conn.Writer(ctx, websocket.MessageText)
	if err != nil {
		u.t.Fatal(err)
	}
	for b := []byte(text); len(b) > 0; {
		n := min(len(b), 16<<10)
		if _, err := w.Write(b[:n]); err != nil {
			u.t.Fatal(err)
		}
		b = b[n:]
	}
	if err := w.Close(); err != nil {
		u.t.Fatal(err)
	}
}

// expect fails the test unless the next message the user receives is want.
func (u *user) expect(want string) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.t.Context(), 10*time.Second)
	defer cancel()
	_, got, err := u.conn.Read(ctx)
	if err != nil {
		u.t.Fatalf("waiting for %q: %v", want, err)
	}
	if string(got) != want {
		u.t.Fatalf("received %.200q, want %q", got, want)
	}
}

// ask sends text and expects reply as the next message.
func (u *user) ask(text, reply string) {
	u.t.Helper()
	u.send(text)
	u.expect(reply)
}

// failingJoin is a store whose Join fails for one channel.
type failingJoin struct {
	connstore.Store
	channel string
}

func (s failingJoin) Join(ctx context.Context, id, channel string) error {
	if channel == s.channel {
		return errors.New("join failed")
	}
	return s.Store.Join(ctx, id, channel)
}

// TestJoinFailureKeepsChannel: when joining the new channel fails, the user
// is told so and stays in the old one, sending and receiving there.
func TestJoinFailureKeepsChannel(t *testing.T) {
	url := serveChat(t, failingJoin{connstore.NewMemory(), "broken"})
	alice, bob := dialUser(t, url), dialUser(t, url)
	alice.ask("/nick alice", "nickname set to [alice]")
	bob.ask("/nick bob", "nickname set to [bob]")

	alice.ask("/join broken", "could not join #broken: you are still in #general")
	bob.send("still there?")
	alice.expect("#general bob: still there?")
	alice.send("yes")
	bob.expect("#general alice: yes")
}

// TestNamesAndLines sends what could forge a line of the chat, or make every
// later line too large to deliver: each is refused with a reply saying why,
// and changes nothing.
func TestNamesAndLines(t *testing.T) {
	url := serveChat(t, connstore.NewMemory())
	alice, bob := dialUser(t, url), dialUser(t, url)

	const (
		badNick    = "nickname not changed: a nickname has only letters, digits, '-', '_' and '.'"
		longNick   = "nickname not changed: a nickname has at most 32 characters"
		badChannel = "channel not joined: a channel name has only letters, digits, '-', '_' and '.'"
		control    = "message not sent: it has control characters (line breaks, escapes)"
	)
	for _, tt := range []struct{ send, reply string }{
		{"/nick #general admin: re-login at http://evil", badNick},
		{"/nick admin:", badNick},
		{"/nick \x1b[31mred", badNick},
		{"/nick nul\x00", badNick},
		{"/nick \u202eevil", badNick}, // right-to-left override
		{"/nick " + strings.Repeat("x", 120<<10), longNick},
		{"/nick " + strings.Repeat("é", 33), longNick},
		{"/join #a:b", badChannel},
		{"/join #", "channel not joined: a channel name cannot be empty"},
		{"/join " + strings.Repeat("c", 1100), "channel not joined: a channel name has at most 32 characters"},
		{"/join c\x07", badChannel},
		{"hi\n#general admin: re-login at http://evil", control},
		{"\x1b[2Jcleared", control},
		{strings.Repeat("a", maxLine), "message not sent: longer than 131072 bytes"},
		{"/\x1b[2J", "unknown command /…; try /nick NAME or /join CHANNEL"},
	} {
		alice.ask(tt.send, tt.reply)
	}

	// The longest names work, and the refused commands changed nothing.
	nick, channel := strings.Repeat("é", 32), "Zoë-2.0_x"
	bob.ask("/join "+channel, "joined #"+channel)
	alice.ask("/nick "+nick, "nickname set to ["+nick+"]")
	alice.ask("/join #"+channel, "joined #"+channel)
	alice.send("hello")
	bob.expect("#" + channel + " " + nick + ": hello")
}
