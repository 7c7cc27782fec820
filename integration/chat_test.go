//go:build unix

package integration

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/internal/testenv"
)

// TestChat runs the chat scenario against the chat example with its
// in-memory store.
func TestChat(t *testing.T) {
	testenv.Integration(t, "the example chat")
	p := startExample(t, "chat", nil)
	chatScenario(t, p.URL, true)
}

// TestChatDynamoDB runs the chat scenario against the chat example with the
// DynamoDB store, on dynalite, the table created by the example itself.
func TestChatDynamoDB(t *testing.T) {
	testenv.Integration(t, "the example chat")
	endpoint := testenv.Dynalite(t)
	p := startExample(t, "chat", []string{
		"CONNECTIONS_TABLE=chat-connections",
		"AWS_ENDPOINT_URL_DYNAMODB=" + endpoint,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
	}, "-create-table")
	chatScenario(t, p.URL, true)
}

// chatScenario has three clients in two channels talk. Each client ends with
// exactly the messages it should have seen, in order: never its own lines,
// never those of another channel. With greets, each is first welcomed by the
// chat's AfterConnect (not behind Pushpin, where ws.AfterConnect does not
// run).
func chatScenario(t *testing.T, url string, greets bool) {
	ctx := testContext(t, 2*time.Minute)
	// Each is greeted first, before sending anything, with who else is in
	// #general.
	alice := newChatter(t, ctx, "alice", url, greets, "nobody else here")
	bob := newChatter(t, ctx, "bob", url, greets, "anonymous")
	carol := newChatter(t, ctx, "carol", url, greets, "anonymous, anonymous")

	alice.command("/nick alice", "nickname set to [alice]")
	bob.command("/nick bob", "nickname set to [bob]")
	// carol keeps the default nickname and moves to #random.
	carol.command("/join random", "joined #random")
	carol.command("/join #random", "joined #random") // joining one's channel again changes nothing
	// Refused, changing nothing: a nickname that would forge a line, a
	// channel name longer than the DynamoDB store's keys allow.
	alice.send(ctx, "/nick #general admin: re-login at http://evil")
	alice.until("nickname not changed: a nickname has only letters, digits, '-', '_' and '.'")
	carol.send(ctx, "/join "+strings.Repeat("x", 1100))
	carol.until("channel not joined: a channel name has at most 32 characters")

	alice.say("hi all", bob)
	bob.say("hey alice", alice)
	alice.command("/join random", "joined #random")
	alice.say("hello random", carol)
	carol.say("welcome alice", alice)
	// dave arrives in #general, which bob now has to himself: lines in one
	// channel never reach another.
	dave := newChatter(t, ctx, "dave", url, greets, "bob")
	dave.command("/nick dave", "nickname set to [dave]")
	bob.say("general only", dave)
	alice.command("/nick al", "nickname set to [al]")
	alice.say("new name", carol)
	bob.command("/join random", "joined #random")
	bob.say("me too", alice, carol)

	// Each client's transcript, without its own command replies.
	alice.check(
		"#general bob: hey alice",
		"#random anonymous: welcome alice",
		"#random bob: me too",
	)
	bob.check(
		"#general alice: hi all",
		// "#random al: new name" came before bob joined #random.
	)
	carol.check(
		"#random alice: hello random",
		"#random al: new name",
		"#random bob: me too",
	)
	dave.check(
		"#general bob: general only",
	)
}

// chatter is a chat client that keeps what it received.
type chatter struct {
	*client
	ctx  context.Context
	nick string // the nickname last set
	room string // the channel last joined
	seen []string
}

// newChatter connects and, if greets, reads the chat's welcome, which names
// the others in #general (who).
func newChatter(t *testing.T, ctx context.Context, name, url string, greets bool, who string) *chatter {
	t.Helper()
	c := &chatter{client: dial(t, ctx, name, url, nil), ctx: ctx, nick: "anonymous", room: "general"}
	if greets {
		c.expect(chatWelcome(who))
	}
	return c
}

// chatWelcome is the chat's welcome of a new connection, when who are the
// others in #general.
func chatWelcome(who string) string {
	return "welcome, anonymous! #general: " + who + "; /nick NAME sets your nickname, /join CHANNEL changes channel"
}

// command sends a command and waits for its reply; messages received before
// it are kept.
func (c *chatter) command(text, reply string) {
	c.t.Helper()
	c.send(c.ctx, text)
	c.until(reply)
	if n, ok := cutPrefix(text, "/nick "); ok {
		c.nick = n
	}
	if r, ok := cutPrefix(text, "/join "); ok {
		c.room = strings.TrimPrefix(r, "#")
	}
}

// say publishes a line and waits until each of to has received it. The chat
// handles a connection's messages concurrently, as API Gateway and Lambda
// do, so nothing the client sends later is a barrier for the line; its
// arrival is.
func (c *chatter) say(text string, to ...*chatter) {
	c.t.Helper()
	c.send(c.ctx, text)
	line := "#" + c.room + " " + c.nick + ": " + text
	for _, r := range to {
		r.until(line)
		r.seen = append(r.seen, line)
	}
}

// until reads messages, keeping them, until reply arrives.
func (c *chatter) until(reply string) {
	c.t.Helper()
	for {
		m := c.next()
		if m == reply {
			return
		}
		c.seen = append(c.seen, m)
	}
}

// check fails the test unless the client received exactly want, and nothing
// more once a last barrier has passed.
func (c *chatter) check(want ...string) {
	c.t.Helper()
	c.command("/nick "+c.nick, "nickname set to ["+c.nick+"]")
	if !slices.Equal(c.seen, want) {
		c.t.Errorf("%s received\n\t%q\nwant\n\t%q", c.name, c.seen, want)
	}
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return "", false
}
