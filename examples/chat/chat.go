package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lambdaws/lambdaws/connstore"
	"github.com/lambdaws/lambdaws/ws"
)

// Defaults of a new connection, and the metadata keys that hold its current
// values in the store.
const (
	defaultNick    = "anonymous"
	defaultChannel = "general"

	keyNick    = "nick"
	keyChannel = "channel"

	// maxName is the most characters of a nickname or a channel name, so
	// that the "#CHANNEL NICK: " before every line stays short.
	maxName = 32
	// maxLine is the most bytes of a published line: API Gateway's limit
	// on one message.
	maxLine = 128 << 10
	// maxWelcomeNames is the most nicknames a welcome lists.
	maxWelcomeNames = 10
)

// ChatRoom is the chat: every connection has a nickname and is in one
// channel; a line of text goes to the other members of the sender's channel.
//
//	/nick NAME     sets the nickname; replies "nickname set to [NAME]"
//	/join CHANNEL  moves to another channel; replies "joined #CHANNEL"
//	anything else  is published as "#CHANNEL NICK: TEXT"
//
// Nicknames and channel names are 1 to 32 letters, digits, '-', '_' or '.',
// so that they cannot forge the "#CHANNEL NICK:" of a line; lines hold no
// control characters (no line breaks, no terminal escapes). What breaks these
// rules is refused with a reply that says why. A /join that fails leaves the
// connection in its channel.
//
// It knows nothing of the transport: it answers with ws.Reply, reaches a
// channel through Channels and keeps nicknames in Store, so the same code runs
// in Lambda behind API Gateway, behind the local emulator, and behind any
// other transport that provides Channels.
type ChatRoom struct {
	ws.Server

	// Store keeps each connection's nickname and channel (as metadata).
	Store connstore.Store
	// Channels delivers published lines to a channel's members.
	Channels ws.Channels
}

// OnConnect stores the connection as anonymous in #general.
func (c *ChatRoom) OnConnect(ctx context.Context, req *ws.Request) error {
	err := c.Store.Add(ctx, req.ConnectionID, map[string]string{keyNick: defaultNick, keyChannel: defaultChannel})
	if err != nil {
		return err
	}
	return c.Channels.Join(ctx, req.ConnectionID, defaultChannel)
}

// AfterConnect greets a new connection once API Gateway has opened it (a
// send from OnConnect would fail with 410 Gone): its nickname, how to change
// it, and who else is in its channel, such as
//
//	welcome, anonymous! #general: alice, bob; /nick NAME sets your nickname, /join CHANNEL changes channel
//
// It costs one more Lambda invocation per connection (see ws.AfterConnect).
func (c *ChatRoom) AfterConnect(ctx context.Context, req *ws.Request) error {
	var names []string
	more := false
	for id, err := range c.Store.Members(ctx, defaultChannel) {
		if err != nil {
			return err
		}
		if id == req.ConnectionID {
			continue
		}
		if len(names) == maxWelcomeNames {
			more = true
			break
		}
		nick := defaultNick
		if conn, err := c.Store.Get(ctx, id); err == nil && conn.Metadata[keyNick] != "" {
			nick = conn.Metadata[keyNick]
		}
		names = append(names, nick)
	}
	slices.Sort(names)
	who := "nobody else here"
	if len(names) > 0 {
		who = strings.Join(names, ", ")
	}
	if more {
		who += " and more"
	}
	return ws.Reply(ctx, fmt.Sprintf("welcome, %s! #%s: %s; /nick NAME sets your nickname, /join CHANNEL changes channel",
		defaultNick, defaultChannel, who))
}

// OnDisconnect forgets the connection and its channel membership.
func (c *ChatRoom) OnDisconnect(ctx context.Context, req *ws.Request) error {
	_ = c.Channels.Leave(ctx, req.ConnectionID, c.channel(ctx, req.ConnectionID))
	return c.Store.Remove(ctx, req.ConnectionID)
}

// OnMessage runs a command or publishes a line. Blank messages are ignored.
func (c *ChatRoom) OnMessage(ctx context.Context, req *ws.Request) error {
	text := strings.TrimSpace(string(req.Body))
	if text == "" {
		return nil
	}
	conn, err := c.Store.Get(ctx, req.ConnectionID)
	if err != nil {
		return err
	}
	nick, channel := conn.Metadata[keyNick], conn.Metadata[keyChannel]
	if nick == "" {
		nick = defaultNick
	}
	if channel == "" {
		channel = defaultChannel
	}

	cmd, arg, _ := strings.Cut(text, " ")
	arg = strings.TrimSpace(arg)
	switch {
	case cmd == "/nick":
		if arg == "" {
			return ws.Reply(ctx, "usage: /nick NAME")
		}
		if why := checkName("nickname", arg); why != "" {
			return ws.Reply(ctx, "nickname not changed: "+why)
		}
		if err := c.Store.Update(ctx, req.ConnectionID, map[string]string{keyNick: arg}); err != nil {
			return err
		}
		return ws.Reply(ctx, fmt.Sprintf("nickname set to [%s]", arg))

	case cmd == "/join":
		next := strings.TrimPrefix(arg, "#")
		if arg == "" {
			return ws.Reply(ctx, "usage: /join CHANNEL")
		}
		if why := checkName("channel name", next); why != "" {
			return ws.Reply(ctx, "channel not joined: "+why)
		}
		if next == channel {
			return ws.Reply(ctx, "joined #"+next)
		}
		reply := "joined #" + next
		moved, err := c.move(ctx, req.ConnectionID, channel, next)
		if !moved {
			reply = fmt.Sprintf("could not join #%s: you are still in #%s", next, channel)
		}
		return errors.Join(err, ws.Reply(ctx, reply))

	case strings.HasPrefix(cmd, "/"):
		if checkName("command", cmd[1:]) != "" { // not worth echoing
			cmd = "/…"
		}
		return ws.Reply(ctx, "unknown command "+cmd+"; try /nick NAME or /join CHANNEL")

	default:
		if strings.ContainsFunc(text, isControl) {
			return ws.Reply(ctx, "message not sent: it has control characters (line breaks, escapes)")
		}
		line := fmt.Sprintf("#%s %s: %s", channel, nick, text)
		if len(line) > maxLine {
			return ws.Reply(ctx, fmt.Sprintf("message not sent: longer than %d bytes", maxLine))
		}
		return c.Channels.Publish(ctx, channel, line, req.ConnectionID)
	}
}

// move moves a connection from one channel to another and reports whether
// it moved. It joins the new channel first and leaves the old one last, so
// that a failure before the move leaves the connection where it was. A
// failure to leave the old channel after the move is returned, with the
// connection then in both until it disconnects.
func (c *ChatRoom) move(ctx context.Context, id, from, to string) (bool, error) {
	if err := c.Channels.Join(ctx, id, to); err != nil {
		return false, err
	}
	if err := c.Store.Update(ctx, id, map[string]string{keyChannel: to}); err != nil {
		return false, errors.Join(err, c.Channels.Leave(ctx, id, to))
	}
	return true, c.Channels.Leave(ctx, id, from)
}

// checkName returns why name is not a valid nickname or channel name (what),
// or "" when it is.
func checkName(what, name string) string {
	if name == "" {
		return fmt.Sprintf("a %s cannot be empty", what)
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("-_.", r) {
			return fmt.Sprintf("a %s has only letters, digits, '-', '_' and '.'", what)
		}
	}
	if utf8.RuneCountInString(name) > maxName {
		return fmt.Sprintf("a %s has at most %d characters", what, maxName)
	}
	return ""
}

// isControl reports whether r is a control character other than a tab.
func isControl(r rune) bool { return r != '\t' && (unicode.IsControl(r) || r == utf8.RuneError) }

// channel returns the channel the connection is in, or the default one when
// the store does not know it.
func (c *ChatRoom) channel(ctx context.Context, id string) string {
	conn, err := c.Store.Get(ctx, id)
	if err != nil || conn.Metadata[keyChannel] == "" {
		return defaultChannel
	}
	return conn.Metadata[keyChannel]
}
