package ws_test

import (
	"context"
	"errors"
	"iter"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/connstore"
	"github.com/lambdaws/lambdaws/sender"
	"github.com/lambdaws/lambdaws/ws"
)

// goneSender answers ErrGone for ids in gone and fails ids in broken.
type goneSender struct {
	fakeSender
	gone, broken map[string]bool
}

func (g *goneSender) Broadcast(ctx context.Context, ids iter.Seq2[string, error], data []byte, opts *sender.BroadcastOptions) (sender.Result, error) {
	var res sender.Result
	for id, err := range ids {
		if err != nil {
			return res, err
		}
		switch {
		case id == opts.Skip:
		case g.gone[id]:
			res.Gone++
			opts.OnGone(ctx, id)
		case g.broken[id]:
			res.Failed++
			res.Failures = append(res.Failures, sender.Failure{ID: id, Err: sender.ErrThrottled})
		default:
			_ = g.Send(ctx, id, data)
			res.Sent++
		}
	}
	return res, nil
}

// agedStore is a connstore.Memory whose connections were all added at the
// given time.
type agedStore struct {
	*connstore.Memory
	addedAt time.Time
}

func (s agedStore) ConnectedAt(ctx context.Context, id string) (time.Time, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return time.Time{}, err
	}
	return s.addedAt, nil
}

// TestStoreChannelsKeepsYoungConnections: a connection that answers 410 Gone
// but was added less than 29 s ago may be in its $connect (API Gateway
// answers 410 until $connect returns): Publish does not remove it. An older
// one is removed; a store that cannot tell the age is never pruned.
func TestStoreChannelsKeepsYoungConnections(t *testing.T) {
	for _, tt := range []struct {
		name    string
		store   func(*connstore.Memory) ws.ChannelStore
		removed bool
	}{
		{"added 1 s ago", func(m *connstore.Memory) ws.ChannelStore { return agedStore{m, time.Now().Add(-time.Second)} }, false},
		{"added 28 s ago", func(m *connstore.Memory) ws.ChannelStore { return agedStore{m, time.Now().Add(-28 * time.Second)} }, false},
		{"added 30 s ago", func(m *connstore.Memory) ws.ChannelStore { return agedStore{m, time.Now().Add(-30 * time.Second)} }, true},
		{"just added, real clock", func(m *connstore.Memory) ws.ChannelStore { return m }, false},
		{"age unknown", func(m *connstore.Memory) ws.ChannelStore { return struct{ ws.ChannelStore }{m} }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			mem := connstore.NewMemory()
			for _, id := range []string{"a", "new"} {
				if err := mem.Add(ctx, id, nil); err != nil {
					t.Fatal(err)
				}
				if err := mem.Join(ctx, id, "general"); err != nil {
					t.Fatal(err)
				}
			}
			s := &goneSender{gone: map[string]bool{"new": true}}
			if err := ws.StoreChannels(tt.store(mem)).Publish(ws.ContextWithSender(ctx, s), "general", "hi", ""); err != nil {
				t.Fatal(err)
			}
			_, err := mem.Get(ctx, "new")
			if removed := errors.Is(err, connstore.ErrNotFound); removed != tt.removed {
				t.Errorf("gone connection removed = %v, want %v", removed, tt.removed)
			}
		})
	}
}

func TestStoreChannels(t *testing.T) {
	ctx := context.Background()
	store := agedStore{connstore.NewMemory(), time.Now().Add(-time.Minute)}
	for _, id := range []string{"me", "a", "b", "stale", "other"} {
		if err := store.Add(ctx, id, nil); err != nil {
			t.Fatal(err)
		}
	}
	ch := ws.StoreChannels(store)
	for _, id := range []string{"me", "a", "b", "stale"} {
		if err := ch.Join(ctx, id, "general"); err != nil {
			t.Fatal(err)
		}
	}
	_ = ch.Join(ctx, "other", "random")
	_ = ch.Join(ctx, "b", "random")
	if err := ch.Leave(ctx, "b", "general"); err != nil {
		t.Fatal(err)
	}

	s := &goneSender{gone: map[string]bool{"stale": true}}
	ctx = ws.ContextWithSender(ctx, s)
	if err := ch.Publish(ctx, "general", map[string]string{"text": "hi"}, "me"); err != nil {
		t.Fatal(err)
	}
	if want := []string{`a:{"text":"hi"}`}; !slices.Equal(s.sent, want) {
		t.Errorf("sent %q, want %q", s.sent, want)
	}
	if _, err := store.Get(ctx, "stale"); !errors.Is(err, connstore.ErrNotFound) {
		t.Errorf("gone connection still stored: %v", err)
	}

	s.broken = map[string]bool{"a": true}
	err := ch.Publish(ctx, "general", "x", "")
	if !errors.Is(err, sender.ErrThrottled) || !strings.Contains(err.Error(), `1 of 2 sends failed`) {
		t.Errorf("Publish with a failing send = %v", err)
	}
}

func TestContextWithSenderWins(t *testing.T) {
	r, _ := newRouter(true)
	routerSender, ctxSender := &fakeSender{}, &fakeSender{}
	r.Sender = routerSender
	var mu sync.Mutex
	r.OnRoute("sendmessage", func(ctx context.Context, req *ws.Request) error {
		mu.Lock()
		defer mu.Unlock()
		return ws.Reply(ctx, "x")
	})
	ctx := ws.ContextWithSender(context.Background(), ctxSender)
	if resp, _ := r.Handler(ctx, event(t, "sendmessage")); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	if len(ctxSender.sent) != 1 || len(routerSender.sent) != 0 {
		t.Errorf("context sender got %q, router sender %q", ctxSender.sent, routerSender.sent)
	}
}
