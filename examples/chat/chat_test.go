package main

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lambdaws/lambdaws/connstore"
	"github.com/lambdaws/lambdaws/ws"
	"github.com/lambdaws/lambdaws/ws/wstest"
)

// newChat serves a ChatRoom on store behind the local API Gateway emulator,
// as main does.
func newChat(t *testing.T, store connstore.Store) *wstest.Gateway {
	r := ws.NewRouter()
	r.Logger = slog.New(slog.DiscardHandler)
	r.Register(&ChatRoom{Store: store, Channels: ws.StoreChannels(store)})
	return wstest.NewGateway(t, r, nil)
}

// failing is a store whose Join to channel fails (op "join"), or whose
// Update that moves a connection to channel fails (op "update").
type failing struct {
	connstore.Store
	op, channel string
}

func (s failing) Join(ctx context.Context, id, channel string) error {
	if s.op == "join" && channel == s.channel {
		return errors.New("join failed")
	}
	return s.Store.Join(ctx, id, channel)
}

func (s failing) Update(ctx context.Context, id string, md map[string]string) error {
	if s.op == "update" && md[keyChannel] == s.channel {
		return errors.New("update failed")
	}
	return s.Store.Update(ctx, id, md)
}

// TestJoinFailureKeepsChannel: when joining the new channel fails, or
// recording it does, the user is told so and stays in the old channel only,
// sending and receiving there.
func TestJoinFailureKeepsChannel(t *testing.T) {
	for _, op := range []string{"join", "update"} {
		t.Run(op, func(t *testing.T) {
			store := failing{connstore.NewMemory(), op, "broken"}
			g := newChat(t, store)
			alice, bob := dial(t, g), dial(t, g)
			alice.Send(t, "/nick alice")
			alice.Expect(t, "nickname set to [alice]")
			bob.Send(t, "/nick bob")
			bob.Expect(t, "nickname set to [bob]")

			alice.Send(t, "/join broken")
			alice.Expect(t, "could not join #broken: you are still in #general")
			for id, err := range store.Members(t.Context(), "broken") {
				t.Errorf("#broken has member %q (%v)", id, err)
			}
			bob.Send(t, "still there?")
			alice.Expect(t, "#general bob: still there?")
			alice.Send(t, "yes")
			bob.Expect(t, "#general alice: yes")
		})
	}
}

// TestNamesAndLines sends what could forge a line of the chat, or make every
// later line too large to deliver: each is refused with a reply saying why,
// and changes nothing.
func TestNamesAndLines(t *testing.T) {
	g := newChat(t, connstore.NewMemory())
	alice, bob := dial(t, g), dial(t, g)

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
		alice.Send(t, tt.send)
		alice.Expect(t, tt.reply)
	}

	// The longest names work, and the refused commands changed nothing.
	nick, channel := strings.Repeat("é", 32), "Zoë-2.0_x"
	bob.Send(t, "/join "+channel)
	bob.Expect(t, "joined #"+channel)
	alice.Send(t, "/nick "+nick)
	alice.Expect(t, "nickname set to ["+nick+"]")
	alice.Send(t, "/join #"+channel)
	alice.Expect(t, "joined #"+channel)
	alice.Send(t, "hello")
	bob.Expect(t, "#"+channel+" "+nick+": hello")
}

// TestLines: a line goes to the other members of the sender's channel, not
// back to the sender nor to other channels; one who leaves is forgotten.
func TestLines(t *testing.T) {
	store := connstore.NewMemory()
	g := newChat(t, store)
	alice, bob, carol := dial(t, g), dial(t, g), dial(t, g)
	carol.Send(t, "/join random")
	carol.Expect(t, "joined #random")

	alice.Send(t, "hi")
	bob.Expect(t, "#general anonymous: hi")
	g.WaitIdle(t)
	alice.ExpectNone(t, 50*time.Millisecond)
	carol.ExpectNone(t, 0)

	bob.Close(t)
	if _, err := store.Get(context.Background(), bob.ID()); !errors.Is(err, connstore.ErrNotFound) {
		t.Errorf("after bob left, the store has him: %v", err)
	}
}

// TestPublishWithAGoneMember calls the router with built events: a member
// whose connection is gone does not stop a line reaching the others.
func TestPublishWithAGoneMember(t *testing.T) {
	store := connstore.NewMemory()
	r := ws.NewRouter()
	r.Register(&ChatRoom{Store: store, Channels: ws.StoreChannels(store)})
	rec := wstest.NewRecorder()
	r.Sender = rec
	ctx := context.Background()
	for _, ev := range []events.APIGatewayWebsocketProxyRequest{
		wstest.Connect("alice", nil), wstest.Connect("bob", nil), wstest.Connect("carol", nil),
		wstest.Message("alice", "/nick alice"),
	} {
		if resp, _ := r.Handler(ctx, ev); resp.StatusCode != 200 {
			t.Fatalf("%s of %s: %d", ev.RequestContext.EventType, ev.RequestContext.ConnectionID, resp.StatusCode)
		}
	}
	rec.MarkGone("bob")
	if resp, _ := r.Handler(ctx, wstest.Message("alice", "hi")); resp.StatusCode != 200 {
		t.Errorf("publishing with a gone member: %d, want 200", resp.StatusCode)
	}
	if got := rec.Messages("carol"); !slices.Equal(got, []string{"#general alice: hi"}) {
		t.Errorf("carol received %q", got)
	}
	if got := rec.Messages("alice"); !slices.Equal(got, []string{"nickname set to [alice]"}) {
		t.Errorf("alice received %q, want only her /nick reply", got)
	}
}

// dial opens a connection and reads its welcome, which comes first.
func dial(t *testing.T, g *wstest.Gateway) *wstest.Conn {
	t.Helper()
	c := g.Dial(t, nil)
	if got := c.Next(t); !strings.HasPrefix(got, "welcome, anonymous! #general: ") {
		t.Fatalf("first message %q, want the welcome", got)
	}
	return c
}

// TestWelcome: each connection is greeted, without sending anything, with
// who else is in #general, and only once.
func TestWelcome(t *testing.T) {
	g := newChat(t, connstore.NewMemory())
	const hint = "; /nick NAME sets your nickname, /join CHANNEL changes channel"
	alice := g.Dial(t, nil)
	alice.Expect(t, "welcome, anonymous! #general: nobody else here"+hint)
	alice.Send(t, "/nick alice")
	alice.Expect(t, "nickname set to [alice]")
	bob := g.Dial(t, nil)
	bob.Expect(t, "welcome, anonymous! #general: alice"+hint)
	carol := g.Dial(t, nil)
	carol.Expect(t, "welcome, anonymous! #general: alice, anonymous"+hint)
	for range maxWelcomeNames {
		dial(t, g)
	}
	last := g.Dial(t, nil) // 13 others: 10 names are listed
	if got := last.Next(t); !strings.HasSuffix(got, " and more"+hint) || strings.Count(got, "anonymous")+strings.Count(got, "alice") != 1+maxWelcomeNames {
		t.Errorf("welcome with %d others: %q", 3+maxWelcomeNames, got)
	}
	for _, c := range []*wstest.Conn{alice, bob, carol, last} {
		c.ExpectNone(t, 0)
	}
}
