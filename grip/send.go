package grip

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strconv"
	"time"

	"github.com/lambdaws/lambdaws/sender"
	"github.com/lambdaws/lambdaws/ws"
)

// ErrNoPublisher is returned when a message must be published (to a
// connection other than the one being served, or to a channel) and the
// Handler has no Publisher: set GRIP_URL.
var ErrNoPublisher = errors.New("grip: no publisher: set GRIP_URL (Pushpin: http://localhost:5561/) or Options.Publisher")

// ErrInvalid is returned (wrapped) by Channels' Join, Leave and Publish for
// a channel name that is empty or begins with "conn-", the namespace of the
// connections' own channels.
var ErrInvalid = errors.New("grip: invalid channel name")

// ErrUnsupported is returned for operations the GRIP protocol has no way to
// do: Info about a connection other than the one being served, and Join or
// Leave of a channel for another connection.
var ErrUnsupported = errors.New("grip: not supported by the GRIP protocol")

// gripSender is the ws.Sender of a Handler. Inside a request, messages to
// the connection being served ride in the HTTP response; any other
// connection, and the one being served once its response is written (a
// goroutine, a late Reply), gets a publish to its own channel
// (ConnectionChannel).
type gripSender struct{ h *Handler }

// current returns the connection ctx serves when it is id.
func current(ctx context.Context, id string) *conn {
	if c := connFrom(ctx); c != nil && c.id == id {
		return c
	}
	return nil
}

// respond puts a message in the response to the request serving c. It
// returns false when that response is written already (publish instead), and
// sender.ErrGone when the connection is closed or closing.
func (c *conn) respond(data []byte) (queued bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone || c.closed {
		return false, &sender.Error{Op: "send", ConnectionID: c.id, StatusCode: http.StatusGone, Err: sender.ErrGone}
	}
	if c.answered {
		return false, nil
	}
	c.out = append(c.out, event{Type: evText, Content: append([]byte("m:"), data...)})
	return true, nil
}

func (s *gripSender) Send(ctx context.Context, id string, data []byte) error {
	if c := current(ctx, id); c != nil {
		if queued, err := c.respond(data); queued || err != nil {
			return err
		}
	}
	return s.publish(ctx, s.message(id, data))
}

func (s *gripSender) message(id string, data []byte) Item {
	return Item{Channel: s.h.ConnectionChannel(id), WSMessage: &WSMessage{Content: data}}
}

func (s *gripSender) publish(ctx context.Context, items ...Item) error {
	if s.h.pub == nil {
		return ErrNoPublisher
	}
	return s.h.pub.Publish(ctx, items...)
}

// Close closes the connection with code 1000: in the response when it is
// the one being served, else (or once that response is written) by
// publishing a close action to its channel.
func (s *gripSender) Close(ctx context.Context, id string) error {
	if c := current(ctx, id); c != nil {
		c.mu.Lock()
		done, answered := c.gone || c.closed, c.answered
		c.closed = true
		if !done && !answered {
			c.out = append(c.out, closeEvent(1000, ""))
		}
		c.mu.Unlock()
		if done || !answered {
			return nil
		}
	}
	return s.publish(ctx, Item{Channel: s.h.ConnectionChannel(id), WSMessage: &WSMessage{Close: true, CloseCode: 1000}})
}

// Info knows only the connection being served: its client's address and user
// agent, and LastActiveAt now. ConnectedAt is zero: the proxy does not say.
func (s *gripSender) Info(ctx context.Context, id string) (*sender.Info, error) {
	if c := current(ctx, id); c != nil {
		return &sender.Info{LastActiveAt: time.Now(), SourceIP: s.h.sourceIP(c.req), UserAgent: c.req.UserAgent()}, nil
	}
	return nil, fmt.Errorf("%w: Info of connection %s: the proxy offers no connection lookup; only the connection being served is known", ErrUnsupported, id)
}

const (
	// broadcastBatch is the number of items per publish call of Broadcast.
	broadcastBatch = 100
	// maxFailures bounds Result.Failures, as sender.Result documents.
	maxFailures = 10
)

// Broadcast publishes data to each id's own channel, batching up to 100
// items per publish call; the connection being served gets it in the
// response while that is not written. The proxy does not report gone
// connections, so Result.Gone counts only the connection being served when
// it is closed; a failed call counts its ids as Failed. Broadcast stops when
// ids yields an error, when ctx ends (the ids read but not published are
// NotAttempted) and without a Publisher (ErrNoPublisher).
func (s *gripSender) Broadcast(ctx context.Context, ids iter.Seq2[string, error], data []byte, opts *sender.BroadcastOptions) (sender.Result, error) {
	var res sender.Result
	var o sender.BroadcastOptions
	if opts != nil {
		o = *opts
	}
	var batch []Item
	var batchIDs []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.publish(ctx, batch...)
		if err != nil {
			res.Failed += len(batch)
			for _, id := range batchIDs[:min(len(batchIDs), maxFailures-len(res.Failures))] {
				res.Failures = append(res.Failures, sender.Failure{ID: id, Err: err})
			}
		} else {
			res.Sent += len(batch)
		}
		batch, batchIDs = batch[:0], batchIDs[:0]
		if errors.Is(err, ErrNoPublisher) {
			return err
		}
		return nil
	}
	for id, err := range ids {
		if err != nil {
			_ = flush()
			return res, err
		}
		if o.Skip != "" && id == o.Skip {
			continue
		}
		if ctx.Err() != nil {
			res.NotAttempted += len(batch) + 1
			return res, ctx.Err()
		}
		if c := current(ctx, id); c != nil {
			queued, err := c.respond(data)
			if err != nil {
				res.Gone++
				if o.OnGone != nil {
					o.OnGone(ctx, id)
				}
				continue
			}
			if queued {
				res.Sent++
				continue
			}
		}
		batch = append(batch, s.message(id, data))
		batchIDs = append(batchIDs, id)
		if len(batch) == broadcastBatch {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	return res, flush()
}

// Channels returns the GRIP implementation of ws.Channels: the proxy keeps
// the groups, and a Publish is one publish call however many members the
// channel has.
//
// Join and Leave subscribe and unsubscribe the connection being served, in
// the response to its request (on $connect, in the handshake answer); the
// proxy has no way to subscribe another connection, so for any other id, and
// once that response is written, they fail with ErrUnsupported. Leave during $disconnect does nothing: the proxy
// drops a closed connection's subscriptions.
//
// Channel c is the proxy channel Prefix+c, the name other GRIP publishers
// (js-grip, Django, Fanout's clients) publish to. A connection's own channel
// is Prefix+"conn-"+id (ConnectionChannel), and names beginning with "conn-"
// fail with ErrInvalid: whatever name a client chooses, joining or
// publishing to a channel never reaches another connection's own channel.
//
// Publish honours except with Pushpin's skip-self filter: every
// subscription made by Join carries it, every connection's "user" session
// meta is its connection id (set at OPEN), and the published item's "sender"
// meta is except.
func (h *Handler) Channels() ws.Channels { return gripChannels{h} }

type gripChannels struct{ h *Handler }

func (g gripChannels) Join(ctx context.Context, id, channel string) error {
	name, err := g.h.channel("Join", channel)
	if err != nil {
		return err
	}
	c := current(ctx, id)
	if c == nil {
		return fmt.Errorf("%w: Join of connection %s to %q outside its own request", ErrUnsupported, id, channel)
	}
	if !c.isGone() && !c.queue(controlEvent(map[string]any{"type": "subscribe", "channel": name, "filters": []string{"skip-self"}})) {
		return errAnswered("Join of "+strconv.Quote(channel), id)
	}
	return nil
}

func (g gripChannels) Leave(ctx context.Context, id, channel string) error {
	name, err := g.h.channel("Leave", channel)
	if err != nil {
		return err
	}
	c := current(ctx, id)
	if c == nil {
		return fmt.Errorf("%w: Leave of connection %s from %q outside its own request", ErrUnsupported, id, channel)
	}
	if !c.isGone() && !c.queue(controlEvent(map[string]any{"type": "unsubscribe", "channel": name})) {
		return errAnswered("Leave of "+strconv.Quote(channel), id)
	}
	return nil
}

func (g gripChannels) Publish(ctx context.Context, channel string, data any, except string) error {
	name, err := g.h.channel("Publish", channel)
	if err != nil {
		return err
	}
	b, err := sender.Encode(data)
	if err != nil {
		return err
	}
	it := Item{Channel: name, WSMessage: &WSMessage{Content: b}}
	if except != "" {
		it.Meta = map[string]string{"sender": except}
	}
	if g.h.pub == nil {
		return ErrNoPublisher
	}
	return g.h.pub.Publish(ctx, it)
}
