package sender_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"

	"github.com/lambdaws/lambdaws/sender"
)

// ids yields "c0".."c{n-1}" (n < 0: forever), counting what it yields.
func ids(n int, yielded *atomic.Int64) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for i := 0; n < 0 || i < n; i++ {
			if yielded != nil {
				yielded.Add(1)
			}
			if !yield(fmt.Sprintf("c%d", i), nil) {
				return
			}
		}
	}
}

func TestBroadcast(t *testing.T) {
	t.Parallel()
	t.Run("mixed accounting, skip, OnGone", func(t *testing.T) {
		t.Parallel()
		fc := newFake(func(_, id string, _ int) error {
			var n int
			fmt.Sscanf(id, "c%d", &n)
			switch n % 10 {
			case 0:
				return sdkError("PostToConnection", 410, &types.GoneException{})
			case 1:
				return statusError(500)
			case 2:
				return statusError(400)
			}
			return nil
		})
		fc.delay = time.Millisecond
		s := sender.New(fc, &sender.Options{MaxAttempts: 2, BackoffBase: time.Millisecond, Concurrency: 8})
		var mu sync.Mutex
		gone := map[string]int{}
		res, err := s.Broadcast(context.Background(), ids(100, nil), []byte("hi"), &sender.BroadcastOptions{
			Skip: "c5",
			OnGone: func(_ context.Context, id string) {
				mu.Lock()
				gone[id]++
				mu.Unlock()
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent != 69 || res.Gone != 10 || res.Failed != 20 {
			t.Errorf("Result = %d sent, %d gone, %d failed; want 69, 10, 20", res.Sent, res.Gone, res.Failed)
		}
		if len(res.Failures) != 10 {
			t.Errorf("%d failures listed for %d failed, want a sample of 10", len(res.Failures), res.Failed)
		}
		for _, f := range res.Failures {
			var n int
			fmt.Sscanf(f.ID, "c%d", &n)
			var se *sender.Error
			ok := errors.As(f.Err, &se) && se.ConnectionID == f.ID
			switch n % 10 {
			case 1:
				ok = ok && se.StatusCode == 500
			case 2:
				ok = ok && se.StatusCode == 400
			default:
				ok = false
			}
			if !ok {
				t.Errorf("unexpected failure %s: %v", f.ID, f.Err)
			}
		}
		for i := 0; i < 100; i += 10 {
			if id := fmt.Sprintf("c%d", i); gone[id] != 1 {
				t.Errorf("OnGone(%s) called %d times, want 1", id, gone[id])
			}
		}
		if len(gone) != 10 {
			t.Errorf("OnGone called for %d ids, want 10", len(gone))
		}
		if fc.callsFor("post", "c5") != 0 {
			t.Errorf("skipped id was sent to")
		}
		if fc.callsFor("post", "c11") != 2 || fc.callsFor("post", "c10") != 1 {
			t.Errorf("500s must be retried (calls %d) and 410s not (calls %d)", fc.callsFor("post", "c11"), fc.callsFor("post", "c10"))
		}
		if fc.maxIn > 8 {
			t.Errorf("%d sends in flight, Concurrency is 8", fc.maxIn)
		}
	})

	t.Run("throttled ids counted among the failed", func(t *testing.T) {
		t.Parallel()
		fc := newFake(func(_, id string, _ int) error {
			switch id {
			case "c1", "c2":
				return sdkError("PostToConnection", 429, &types.LimitExceededException{})
			case "c3":
				return statusError(500)
			}
			return nil
		})
		s := sender.New(fc, &sender.Options{MaxAttempts: 2, BackoffBase: time.Millisecond})
		res, err := s.Broadcast(context.Background(), ids(20, nil), []byte("hi"), nil)
		if err != nil || res.Sent != 17 || res.Failed != 3 || res.Throttled != 2 {
			t.Errorf("Result = %d sent, %d failed, %d throttled (%v); want 17, 3, 2", res.Sent, res.Failed, res.Throttled, err)
		}
	})

	t.Run("streams ids without running ahead", func(t *testing.T) {
		t.Parallel()
		fc := newFake(nil)
		fc.delay = 200 * time.Microsecond
		s := sender.New(fc, &sender.Options{Concurrency: 4})
		ahead := 0
		seq := func(yield func(string, error) bool) {
			for i := range 500 {
				fc.mu.Lock()
				d := len(fc.received)
				fc.mu.Unlock()
				ahead = max(ahead, i-d)
				if !yield(fmt.Sprintf("c%d", i), nil) {
					return
				}
			}
		}
		res, err := s.Broadcast(context.Background(), seq, []byte("x"), nil)
		if err != nil || res.Sent != 500 {
			t.Fatalf("Broadcast = %+v, %v", res, err)
		}
		if ahead > 4 {
			t.Errorf("iterator ran %d ids ahead of completed sends, want ≤ Concurrency (4)", ahead)
		}
	})

	t.Run("iterator error stops", func(t *testing.T) {
		fc := newFake(nil)
		s := sender.New(fc, nil)
		boom := errors.New("store: page 2 failed")
		var after bool
		seq := func(yield func(string, error) bool) {
			for i := range 10 {
				if !yield(fmt.Sprintf("c%d", i), nil) {
					return
				}
			}
			if !yield("", boom) {
				return
			}
			after = true
			yield("c99", nil)
		}
		res, err := s.Broadcast(context.Background(), seq, []byte("x"), nil)
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want %v", err, boom)
		}
		if res.Sent != 10 || res.Gone+res.Failed != 0 {
			t.Errorf("Result = %+v, want 10 sent", res)
		}
		if after {
			t.Errorf("iterator continued after its error")
		}
	})

	t.Run("ctx cancel stops early", func(t *testing.T) {
		fc := newFake(nil)
		fc.delay = time.Millisecond
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var sent atomic.Int64
		fc.respond = func(string, string, int) error {
			if sent.Add(1) == 50 {
				cancel()
			}
			return nil
		}
		var yielded atomic.Int64
		s := sender.New(fc, &sender.Options{Concurrency: 4})
		res, err := s.Broadcast(ctx, ids(-1, &yielded), []byte("x"), nil)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if got := int64(res.Sent + res.Gone + res.Failed + res.NotAttempted); got != yielded.Load() {
			t.Errorf("Sent+Gone+Failed+NotAttempted = %d, ids read = %d", got, yielded.Load())
		}
		if res.Sent < 49 || yielded.Load() > 100 {
			t.Errorf("Result %d sent of %d read", res.Sent, yielded.Load())
		}
	})

	t.Run("too large before reading ids", func(t *testing.T) {
		fc := newFake(nil)
		var yielded atomic.Int64
		_, err := sender.New(fc, nil).Broadcast(context.Background(), ids(10, &yielded), make([]byte, 131073), nil)
		if !errors.Is(err, sender.ErrTooLarge) || yielded.Load() != 0 || fc.total != 0 {
			t.Errorf("err = %v, %d ids read, %d calls", err, yielded.Load(), fc.total)
		}
	})

	t.Run("payload bytes reach every id", func(t *testing.T) {
		fc := newFake(nil)
		data := []byte{0xff, 0xfe, 0, 'x'}
		res, err := sender.New(fc, nil).Broadcast(context.Background(), ids(20, nil), data, nil)
		if err != nil || res.Sent != 20 {
			t.Fatalf("Broadcast = %+v, %v", res, err)
		}
		for id, got := range fc.received {
			if !slices.Equal(got, data) {
				t.Errorf("%s received %q", id, got)
			}
		}
	})
}

func TestBroadcastNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	fc := newFake(func(_, id string, _ int) error {
		if id == "c3" {
			return statusError(500)
		}
		return nil
	})
	fc.delay = time.Millisecond
	s := sender.New(fc, &sender.Options{Concurrency: 16, MaxAttempts: 3, BackoffBase: time.Millisecond})
	for range 3 {
		if _, err := s.Broadcast(context.Background(), ids(200, nil), []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		if _, err := s.Broadcast(ctx, ids(-1, nil), []byte("x"), nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want deadline exceeded", err)
		}
		cancel()
		bad := func(yield func(string, error) bool) {
			_ = yield("c1", nil) && yield("c2", nil) && yield("", errors.New("boom"))
		}
		if _, err := s.Broadcast(context.Background(), bad, []byte("x"), nil); err == nil {
			t.Errorf("iterator error not returned")
		}
	}
	var after int
	for range 100 {
		if after = runtime.NumGoroutine(); after <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<16)
	t.Errorf("goroutines: %d before, %d after\n%s", before, after, buf[:runtime.Stack(buf, true)])
}
