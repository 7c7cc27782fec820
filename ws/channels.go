package ws

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

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
	// ConnectedAt returns when the connection was added.
	ConnectedAt(ctx context.Context, connectionID string) (time.Time, error)
}

// StoreChannels returns Channels kept in store, publishing with [Broadcast]
// through the Sender of the handler's context. A connection found gone while
// publishing is removed from the store when its record is older than API
// Gateway's integration timeout (29 s), as the store's ConnectedAt tells. A
// younger one may still be in its $connect, when API Gateway answers 410
// Gone for it too: it is kept, and its $disconnect or the store's TTL removes
// it if it really is gone.
func StoreChannels(store ChannelStore) Channels { return storeChannels{store} }

// pruneAge is the age a gone connection's record must reach before Publish
// removes it: API Gateway's maximum integration timeout, the longest a
// $connect can run.
const pruneAge = 29 * time.Second

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
			if at, err := c.store.ConnectedAt(ctx, id); err == nil && time.Since(at) >= pruneAge {
				_ = c.store.Remove(ctx, id) // best effort: the store's TTL expires it otherwise
			}
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
