package wstest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/lambdaws/lambdaws/sender"
	"github.com/lambdaws/lambdaws/ws"
	"github.com/lambdaws/lambdaws/ws/wstest"
)

func TestRecorderKeepsMessagesInOrderPerConnection(t *testing.T) {
	rec := wstest.NewRecorder()
	ctx := ws.ContextWithSender(context.Background(), rec)
	for i := range 3 {
		if err := ws.SendMessage(ctx, "a", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := ws.SendMessage(ctx, "b", map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if got := rec.Messages("a"); !slices.Equal(got, []string{"0", "1", "2"}) {
		t.Errorf(`Messages("a") = %q`, got)
	}
	if got := rec.Messages("b"); !slices.Equal(got, []string{`{"k":"v"}`}) {
		t.Errorf(`Messages("b") = %q`, got)
	}
	if got := rec.Messages("c"); len(got) != 0 {
		t.Errorf(`Messages("c") = %q, want none`, got)
	}
}

func TestRecorderGoneAndThrottled(t *testing.T) {
	rec := wstest.NewRecorder()
	ctx := context.Background()
	rec.MarkGone("gone")
	rec.MarkThrottled("busy", 2)
	for _, tc := range []struct {
		id   string
		want error
	}{
		{"gone", sender.ErrGone},
		{"gone", sender.ErrGone},
		{"busy", sender.ErrThrottled},
		{"busy", sender.ErrThrottled},
		{"busy", nil},
		{"fine", nil},
	} {
		if err := rec.Send(ctx, tc.id, []byte("x")); !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("Send to %q: %v, want %v", tc.id, err, tc.want)
		}
	}
	if got := rec.Messages("busy"); !slices.Equal(got, []string{"x"}) {
		t.Errorf(`Messages("busy") = %q, want only the send that succeeded`, got)
	}
	if _, err := rec.Info(ctx, "gone"); !errors.Is(err, sender.ErrGone) {
		t.Errorf("Info of a gone connection: %v", err)
	}
	if _, err := rec.Info(ctx, "fine"); err != nil {
		t.Errorf("Info of a live connection: %v", err)
	}
}

func TestRecorderClose(t *testing.T) {
	rec := wstest.NewRecorder()
	ctx := ws.ContextWithSender(context.Background(), rec)
	if rec.Closed("a") {
		t.Fatal("Closed before Close")
	}
	if err := ws.Close(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if !rec.Closed("a") {
		t.Error("not Closed after Close")
	}
	if err := ws.SendMessage(ctx, "a", "late"); !errors.Is(err, sender.ErrGone) {
		t.Errorf("send after Close: %v, want sender.ErrGone", err)
	}
	if err := ws.Close(ctx, "a"); !errors.Is(err, sender.ErrGone) {
		t.Errorf("second Close: %v, want sender.ErrGone", err)
	}
}

func TestRecorderBroadcastCountsAndPrunes(t *testing.T) {
	rec := wstest.NewRecorder()
	rec.MarkGone("c2")
	rec.MarkThrottled("c3", 1)
	ids := func(yield func(string, error) bool) {
		for _, id := range []string{"c1", "c2", "c3", "c4", "me"} {
			if !yield(id, nil) {
				return
			}
		}
	}
	var mu sync.Mutex
	var pruned []string
	res, err := ws.Broadcast(ws.ContextWithSender(context.Background(), rec), ids, "news", &sender.BroadcastOptions{
		Skip: "me",
		OnGone: func(ctx context.Context, id string) {
			mu.Lock()
			pruned = append(pruned, id)
			mu.Unlock()
		},
	})
	if err != nil || res.Sent != 2 || res.Gone != 1 || res.Failed != 1 || res.Failures[0].ID != "c3" {
		t.Fatalf("Broadcast = %+v, %v; want 2 sent, c2 gone, c3 failed", res, err)
	}
	if !slices.Equal(pruned, []string{"c2"}) {
		t.Errorf("OnGone called for %q, want c2", pruned)
	}
	for id, want := range map[string]int{"c1": 1, "c2": 0, "c3": 0, "c4": 1, "me": 0} {
		if got := len(rec.Messages(id)); got != want {
			t.Errorf("%s received %d messages, want %d", id, got, want)
		}
	}
}

func TestRecorderConcurrentSends(t *testing.T) {
	rec := wstest.NewRecorder()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				_ = rec.Send(context.Background(), "a", fmt.Appendf(nil, "%d-%d", i, j))
			}
		}()
	}
	wg.Wait()
	if n := len(rec.Messages("a")); n != 400 {
		t.Errorf("%d messages recorded, want 400", n)
	}
}
