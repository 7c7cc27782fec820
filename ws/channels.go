package ws

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/lambdaws/lambdaws/sender"
)

// Channels groups connections so that one call reaches a whole group.
// Handlers written against it run unchanged on any transport: on API Gateway
// a connection store keeps the groups and a publish fans out one send per
// member ([StoreChannels]); behind a GRIP proxy the proxy keeps them and one
// publish reaches every member (package grip).
type Channels interface {
	// Join adds a connection to a channel.
	Join(ctx context.Context, connectionID, channel string) error
	// Leave removes a connection from a channel.
	Leave(ctx context.Context, connectionID, channel string) error
	// Publish sends data, encoded as by SendMessage, to every member of
	// channel except the connection except ("" for none).
	Publish(ctx context.Context, channel string, data any, except string) error
}

// ChannelStore is the part of a connection store (connstore.Store) that
// StoreChannels uses.
type ChannelStore interface {
	Join(ctx context.Context, connectionID, channel string) error
	Leave(ctx context.Context, connectionID, channel string) error
	Members(ctx context.Context, channel string) iter.Seq2[string, error]
	Remove(ctx context.Context, connectionID string) error
}

// StoreChannels returns Channels kept in store, publishing with [Broadcast]
// through the Sender of the handler's context. Connections found gone while
// publishing are removed from the store.
func StoreChannels(store ChannelStore) Channels { return storeChannels{store} }

type storeChannels struct{ store ChannelStore }

func (c storeChannels) Join(ctx context.Context, id, channel string) error {
	return c.store.Join(ctx, id, channel)
}

func (c storeChannels) Leave(ctx context.Context, id, channel string) error {
	return c.store.Leave(ctx, id, channel)
}

// Publish returns an error when listing the channel fails or any send fails
// for a reason other than the connection being gone.
func (c storeChannels) Publish(ctx context.Context, channel string, data any, except string) error {
	res, err := Broadcast(ctx, c.store.Members(ctx, channel), data, &sender.BroadcastOptions{
		Skip: except,
		OnGone: func(ctx context.Context, id string) {
			_ = c.store.Remove(ctx, id) // best effort: the store's TTL expires it otherwise
		},
	})
	if err == nil && res.Failed > 0 {
		errs := make([]error, len(res.Failures))
		for i, f := range res.Failures {
			errs[i] = f.Err
		}
		err = fmt.Errorf("ws: publish to channel %q: %d of %d sends failed (first %d: %w)",
			channel, res.Failed, res.Sent+res.Gone+res.Failed+res.NotAttempted, len(errs), errors.Join(errs...))
	}
	return err
}

type senderKey struct{}

// ContextWithSender returns a context in which SendMessage, Reply, Close,
// Info and Broadcast use s, whatever the router's Sender: for sending from
// outside a handler (a worker, an SQS consumer) through a chosen Sender, and
// for transports that serve a Router without API Gateway (package grip).
func ContextWithSender(ctx context.Context, s Sender) context.Context {
	return context.WithValue(ctx, senderKey{}, s)
}
