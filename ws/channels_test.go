package ws_test

import (
	"context"
	"errors"
	"iter"
	"slices"
	"strings"
	"sync"
	"testing"

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

func TestStoreChannels(t *testing.T) {
	ctx := context.Background()
	store := connstore.NewMemory()
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
