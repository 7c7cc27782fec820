package connstore

import (
	"context"
	"iter"
	"maps"
	"slices"
	"sync"
	"time"
)

// Memory is a Store that keeps everything in the process's memory: the default
// for local runs and tests. It is safe for concurrent use. Its streams iterate
// over a snapshot taken when iteration starts.
type Memory struct {
	mu       sync.Mutex
	conns    map[string]*memConn
	channels map[string]map[string]struct{} // channel → connection ids
}

type memConn struct {
	connectedAt time.Time
	metadata    map[string]string
	channels    map[string]struct{}
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory Store.
func NewMemory() *Memory {
	return &Memory{conns: map[string]*memConn{}, channels: map[string]map[string]struct{}{}}
}

// Add implements Store.
func (m *Memory) Add(ctx context.Context, id string, metadata map[string]string) error {
	if err := checkID("add", id); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	md := map[string]string{}
	for k, v := range metadata {
		if k != "" && v != "" {
			md[k] = v
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.conns[id]
	if c == nil {
		c = &memConn{channels: map[string]struct{}{}}
		m.conns[id] = c
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

// Update implements Store.
func (m *Memory) Update(ctx context.Context, id string, metadata map[string]string) error {
	if err := checkID("update", id); err != nil {
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
	for k, v := range metadata {
		if k == "" {
			continue
		}
		if v == "" {
			delete(c.metadata, k)
		} else {
			c.metadata[k] = v
		}
	}
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
	members := m.channels[channel]
	if members == nil {
		members = map[string]struct{}{}
		m.channels[channel] = members
	}
	members[id] = struct{}{}
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
	members := m.channels[channel]
	delete(members, id)
	if len(members) == 0 {
		delete(m.channels, channel)
	}
}

// Members implements Store. The ids come in sorted order.
func (m *Memory) Members(ctx context.Context, channel string) iter.Seq2[string, error] {
	if channel == "" {
		return errSeq(errEmptyChannel)
	}
	return m.snapshot(ctx, func() []string { return slices.Sorted(maps.Keys(m.channels[channel])) })
}

// Connections implements Store. The ids come in sorted order.
func (m *Memory) Connections(ctx context.Context) iter.Seq2[string, error] {
	return m.snapshot(ctx, func() []string { return slices.Sorted(maps.Keys(m.conns)) })
}

func (m *Memory) snapshot(ctx context.Context, ids func() []string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		if err := ctx.Err(); err != nil {
			yield("", err)
			return
		}
		m.mu.Lock()
		list := ids()
		m.mu.Unlock()
		for _, id := range list {
			if !yield(id, nil) {
				return
			}
		}
	}
}
