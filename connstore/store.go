package connstore

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"
)

// ErrNotFound is returned (wrapped; test with errors.Is) by Get, Update and
// Join when the connection is not in the store.
var ErrNotFound = errors.New("connstore: connection not found")

// A Store keeps the live WebSocket connections of an API, their metadata and
// the channels they joined. Implementations are safe for concurrent use.
//
// Connection ids and channel names are non-empty strings. The streams
// returned by Members and Connections page underneath: they hold at most one
// page in memory, stop as soon as the caller breaks out of the loop, and
// yield a single non-nil error (with an empty id) as their last element when
// listing fails. Their order is unspecified.
type Store interface {
	// Add stores a connection with its metadata (for example the user name
	// and authorizer data seen at $connect), connected now. Adding an id
	// that is already stored replaces its metadata and keeps its channels.
	Add(ctx context.Context, id string, metadata map[string]string) error

	// Get returns a stored connection, with its channels.
	Get(ctx context.Context, id string) (*Connection, error)

	// Update merges metadata into the connection's metadata: each key is set
	// to its value, and a key whose value is "" is deleted.
	Update(ctx context.Context, id string, metadata map[string]string) error

	// Remove deletes a connection and its channel memberships. Removing a
	// connection that is not stored is not an error.
	Remove(ctx context.Context, id string) error

	// Join adds a stored connection to a channel; joining twice is not an
	// error. A connection may be in many channels.
	Join(ctx context.Context, id, channel string) error

	// Leave removes a connection from a channel. Leaving a channel one is not
	// in, or leaving as a connection that is not stored, is not an error.
	Leave(ctx context.Context, id, channel string) error

	// Members streams the ids of the connections in a channel.
	Members(ctx context.Context, channel string) iter.Seq2[string, error]

	// Connections streams the ids of all stored connections.
	Connections(ctx context.Context) iter.Seq2[string, error]
}

// A Connection is a stored connection, as returned by Store.Get.
type Connection struct {
	ID          string
	ConnectedAt time.Time
	Metadata    map[string]string // never nil
	Channels    []string          // the channels joined, sorted
}

func checkID(op, id string) error {
	if id == "" {
		return fmt.Errorf("connstore: %s: empty connection id", op)
	}
	return nil
}

func checkChannel(op, id, channel string) error {
	if err := checkID(op, id); err != nil {
		return err
	}
	if channel == "" {
		return fmt.Errorf("connstore: %s %q: empty channel name", op, id)
	}
	return nil
}

var errEmptyChannel = errors.New("connstore: members: empty channel name")

func notFound(id string) error { return fmt.Errorf("%w: %q", ErrNotFound, id) }

// errSeq is a stream that yields one error.
func errSeq(err error) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) { yield("", err) }
}
