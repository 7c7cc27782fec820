package connstore

import (
	"context"
	"iter"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/lambdaws/lambdaws/internal/logs"
)

// memoryPageSize is the most ids a Memory stream copies at a time.
const memoryPageSize = 500

// Memory is a Store that keeps everything in the process's memory: the default
// for local runs and tests. It is safe for concurrent use. Its records never
// expire.
//
// In a Lambda function it holds only what that execution environment saw:
// Lambda runs concurrent invocations in separate environments, each a
// process with its own Memory (lambdaws local does the same), so a
// broadcast from one misses the connections another added. Functions use
// NewDynamoDB.
//
// Its streams read 500 ids at a time, in sorted order, each page resuming
// after the last id read: like a paged DynamoDB Query, they see ids added
// after the last page read and miss those removed before they were reached.
type Memory struct {
	mu       sync.Mutex
	conns    map[string]*memConn
	ids      []string            // the connection ids, sorted
	channels map[string][]string // channel → its members' ids, sorted
}

type memConn struct {
	connectedAt time.Time
	metadata    map[string]string
	channels    map[string]struct{}
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory Store. Inside a Lambda execution
// environment (AWS_LAMBDA_FUNCTION_NAME set, as on Lambda and under lambdaws
// local) the first call logs a warning: each environment has its own
// Memory, so broadcasts miss connections (see Memory); use NewDynamoDB.
func NewMemory() *Memory {
	if os.Getenv("AWS_LAMBDA_FUNCTION_NAME") != "" {
		warnMemoryInLambda()
	}
	return &Memory{conns: map[string]*memConn{}, channels: map[string][]string{}}
}

// warnMemoryInLambda logs, once per process, that a Memory store does not
// see the connections of other execution environments.
var warnMemoryInLambda = sync.OnceFunc(func() {
	logs.Default().Warn("connstore: NewMemory in a Lambda execution environment: each environment (process) has its own Memory store, "+
		"so broadcasts miss the connections that other environments added; use connstore.NewDynamoDB to share them",
		logs.Function, os.Getenv("AWS_LAMBDA_FUNCTION_NAME"))
})

// insert adds v to the sorted slice s, if it is not there.
func insert(s []string, v string) []string {
	i, found := slices.BinarySearch(s, v)
	if found {
		return s
	}
	return slices.Insert(s, i, v)
}

// remove deletes v from the sorted slice s, if it is there.
func remove(s []string, v string) []string {
	i, found := slices.BinarySearch(s, v)
	if !found {
		return s
	}
	return slices.Delete(s, i, i+1)
}

// Add implements Store.
func (m *Memory) Add(ctx context.Context, id string, metadata map[string]string) error {
	if err := checkID("add", id); err != nil {
		return err
	}
	if err := checkMetadata("add", metadata); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	md, _ := merge("add", nil, metadata) // checked above
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.conns[id]
	if c == nil {
		c = &memConn{channels: map[string]struct{}{}}
		m.conns[id] = c
		m.ids = insert(m.ids, id)
	}
	c.connectedAt = time.Now()
	c.metadata = md
	return nil
}

// Get implements Store.
func (m *Memory) Get(ctx context.Context, id string) (*Connection, error) {
	if err := checkID("get", id); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.conns[id]
	if c == nil {
		return nil, notFound(id)
	}
	return &Connection{
		ID:          id,
		ConnectedAt: c.connectedAt,
		Metadata:    maps.Clone(c.metadata),
		Channels:    slices.Sorted(maps.Keys(c.channels)),
	}, nil
}

// ConnectedAt returns when the connection was added. ws.StoreChannels uses
// it so as not to remove a connection that is still in its $connect.
func (m *Memory) ConnectedAt(ctx context.Context, id string) (time.Time, error) {
	c, err := m.Get(ctx, id)
	if err != nil {
		return time.Time{}, err
	}
	return c.ConnectedAt, nil
}

// Update implements Store.
func (m *Memory) Update(ctx context.Context, id string, metadata map[string]string) error {
	if err := checkID("update", id); err != nil {
		return err
	}
	if err := checkMetadata("update", metadata); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.conns[id]
	if c == nil {
		return notFound(id)
	}
	md, err := merge("update", c.metadata, metadata)
	if err != nil {
		return err
	}
	c.metadata = md
	return nil
}

// Remove implements Store.
func (m *Memory) Remove(ctx context.Context, id string) error {
	if err := checkID("remove", id); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.conns[id]
	if c == nil {
		return nil
	}
	for ch := range c.channels {
		m.leave(id, ch)
	}
	delete(m.conns, id)
	m.ids = remove(m.ids, id)
	return nil
}

// Join implements Store.
func (m *Memory) Join(ctx context.Context, id, channel string) error {
	if err := checkChannel("join", id, channel); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.conns[id]
	if c == nil {
		return notFound(id)
	}
	c.channels[channel] = struct{}{}
	m.channels[channel] = insert(m.channels[channel], id)
	return nil
}

// Leave implements Store.
func (m *Memory) Leave(ctx context.Context, id, channel string) error {
	if err := checkChannel("leave", id, channel); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.conns[id]; c != nil {
		delete(c.channels, channel)
	}
	m.leave(id, channel)
	return nil
}

// leave drops id from channel's members; m.mu is held.
func (m *Memory) leave(id, channel string) {
	members := remove(m.channels[channel], id)
	if len(members) == 0 {
		delete(m.channels, channel)
	} else {
		m.channels[channel] = members
	}
}

// Members implements Store. The ids come in sorted order.
func (m *Memory) Members(ctx context.Context, channel string) iter.Seq2[string, error] {
	if err := checkName("members", "channel name", channel, maxChannel); err != nil {
		return errSeq(err)
	}
	return m.pages(ctx, func() []string { return m.channels[channel] })
}

// Connections implements Store. The ids come in sorted order.
func (m *Memory) Connections(ctx context.Context) iter.Seq2[string, error] {
	return m.pages(ctx, func() []string { return m.ids })
}

// pages streams the sorted ids that list returns (called with m.mu held),
// copying memoryPageSize of them at a time into one buffer.
func (m *Memory) pages(ctx context.Context, list func() []string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		var page []string
		after := "" // ids are never empty, so every id sorts after it
		for {
			if err := ctx.Err(); err != nil {
				yield("", err)
				return
			}
			m.mu.Lock()
			ids := list()
			i, found := slices.BinarySearch(ids, after)
			if found {
				i++
			}
			page = append(page[:0], ids[i:min(i+memoryPageSize, len(ids))]...)
			m.mu.Unlock()
			for _, id := range page {
				if !yield(id, nil) {
					return
				}
			}
			if len(page) < memoryPageSize {
				return
			}
			after = page[len(page)-1]
		}
	}
}
