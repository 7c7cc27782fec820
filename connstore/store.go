package connstore

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"time"
	"unicode/utf8"
)

// ErrNotFound is returned (wrapped; test with errors.Is) by Get, Update and
// Join when the connection is not in the store.
var ErrNotFound = errors.New("connstore: connection not found")

// ErrInvalid is returned (wrapped; test with errors.Is) when a connection id,
// a channel name or metadata breaks the limits in Store's documentation. The
// message says which argument and by how much; every Store checks the same
// limits before doing anything.
var ErrInvalid = errors.New("connstore: invalid argument")

// The limits of Store's arguments, in bytes of UTF-8. They are DynamoDB's,
// for the keys the DynamoDB store makes (see SCHEMA.md): a sort key is at most
// 1,024 bytes and holds "conn#"+id or "chan#"+channel; an item is at most
// 400 KB and the connection item holds the metadata, each key stored as the
// attribute "m:"+key; an Update is one expression of at most 4 KB.
const (
	maxID        = 1024 - len(connPrefix)
	maxChannel   = 1024 - len(chanPrefix)
	maxMetaKey   = 255
	maxMetaKeys  = 100
	maxMetaBytes = 400_000
)

// A Store keeps the live WebSocket connections of an API, their metadata and
// the channels they joined. Implementations are safe for concurrent use.
//
// Connection ids and channel names are non-empty, valid UTF-8 and at most
// 1,019 bytes long. Metadata keys and values are valid UTF-8; a connection
// has at most 100 metadata keys, each at most 255 bytes long, and its keys
// and values together are at most 400,000 bytes. An argument outside these
// limits fails with ErrInvalid, and nothing is changed (an Update is checked
// against the metadata it would leave).
//
// The streams returned by Members and Connections page underneath: they hold
// at most one page in memory (one per partition for a channel sharded with
// DynamoDBOptions.ChannelShards), stop as soon as the caller breaks out of the
// loop, and yield a single non-nil error (with an empty id) as their last
// element when listing fails. Their order is unspecified.
type Store interface {
	// Add stores a connection with its metadata (for example the user name
	// and authorizer data seen at $connect), connected now. Adding an id
	// that is already stored replaces its metadata and keeps its channels,
	// which then expire with it (see DynamoDBOptions.TTL).
	Add(ctx context.Context, id string, metadata map[string]string) error

	// Get returns a stored connection, with its channels.
	Get(ctx context.Context, id string) (*Connection, error)
	// ConnectedAt returns when a stored connection was added, as Get's
	// Connection.ConnectedAt but without reading its channels.
	ConnectedAt(ctx context.Context, id string) (time.Time, error)

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

func invalid(op, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, op, fmt.Sprintf(format, args...))
}

// checkName checks an id or a channel name (what) against max.
func checkName(op, what, name string, max int) error {
	switch {
	case name == "":
		return invalid(op, "empty %s", what)
	case len(name) > max:
		return invalid(op, "%s is %d bytes, over the limit of %d", what, len(name), max)
	case !utf8.ValidString(name):
		return invalid(op, "%s is not valid UTF-8", what)
	}
	return nil
}

func checkID(op, id string) error { return checkName(op, "connection id", id, maxID) }

func checkChannel(op, id, channel string) error {
	if err := checkID(op, id); err != nil {
		return err
	}
	return checkName(op, "channel name", channel, maxChannel)
}

// checkMetadata checks the keys and values of md, as given to Add or Update;
// entries with an empty key are ignored.
func checkMetadata(op string, md map[string]string) error {
	size, keys := 0, 0
	for k, v := range md {
		if k == "" {
			continue
		}
		keys++
		if len(k) > maxMetaKey {
			return invalid(op, "metadata key is %d bytes, over the limit of %d", len(k), maxMetaKey)
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return invalid(op, "metadata key %q or its value is not valid UTF-8", k)
		}
		size += len(k) + len(v)
	}
	if keys > maxMetaKeys {
		return invalid(op, "%d metadata keys, over the limit of %d", keys, maxMetaKeys)
	}
	if size > maxMetaBytes {
		return invalid(op, "metadata is %d bytes, over the limit of %d", size, maxMetaBytes)
	}
	return nil
}

// merge returns the metadata that updating old with upd leaves (old is not
// changed), checked against the limits.
func merge(op string, old, upd map[string]string) (map[string]string, error) {
	md := maps.Clone(old)
	if md == nil {
		md = map[string]string{}
	}
	for k, v := range upd {
		switch {
		case k == "":
		case v == "":
			delete(md, k)
		default:
			md[k] = v
		}
	}
	if err := checkMetadata(op, md); err != nil {
		return nil, fmt.Errorf("%w (after the update)", err)
	}
	return md, nil
}

func notFound(id string) error { return fmt.Errorf("%w: %q", ErrNotFound, id) }

// errSeq is a stream that yields one error.
func errSeq(err error) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) { yield("", err) }
}
