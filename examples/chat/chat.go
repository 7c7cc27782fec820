package main

import (
	"context"
	"fmt"
	"strings"

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
)

// ChatRoom is the chat: every connection has a nickname and is in one
// channel; a line of text goes to the other members of the sender's channel.
//
//	/nick NAME     sets the nickname; replies "nickname set to [NAME]"
//	/join CHANNEL  moves to another channel; replies "joined #CHANNEL"
//	anything else  is published as "#CHANNEL NICK: TEXT"
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
		if err := c.Store.Update(ctx, req.ConnectionID, map[string]string{keyNick: arg}); err != nil {
			return err
		}
		return ws.Reply(ctx, fmt.Sprintf("nickname set to [%s]", arg))

	case cmd == "/join":
		next := strings.TrimPrefix(arg, "#")
		if next == "" || strings.ContainsAny(next, " \t") {
			return ws.Reply(ctx, "usage: /join CHANNEL")
		}
		if next != channel {
			if err := c.Channels.Leave(ctx, req.ConnectionID, channel); err != nil {
				return err
			}
			if err := c.Channels.Join(ctx, req.ConnectionID, next); err != nil {
				return err
			}
			if err := c.Store.Update(ctx, req.ConnectionID, map[string]string{keyChannel: next}); err != nil {
				return err
			}
		}
		return ws.Reply(ctx, "joined #"+next)

	case strings.HasPrefix(cmd, "/"):
		return ws.Reply(ctx, "unknown command "+cmd+"; try /nick NAME or /join CHANNEL")

	default:
		return c.Channels.Publish(ctx, channel, fmt.Sprintf("#%s %s: %s", channel, nick, text), req.ConnectionID)
	}
}

// channel returns the channel the connection is in, or the default one when
// the store does not know it.
func (c *ChatRoom) channel(ctx context.Context, id string) string {
	conn, err := c.Store.Get(ctx, id)
	if err != nil || conn.Metadata[keyChannel] == "" {
		return defaultChannel
	}
	return conn.Metadata[keyChannel]
}
