package sender_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"golang.org/x/time/rate"

	"github.com/lambdaws/lambdaws/sender"
)

// quotaFake is a management API that enforces a token bucket, as API
// Gateway does with the account's quota: a call finding it empty gets 429.
type quotaFake struct {
	*fakeClient
	bucket *rate.Limiter

	mu        sync.Mutex
	delivered map[string]int
	throttled int
}

func newQuotaFake(perSecond float64, burst int, latency time.Duration) *quotaFake {
	q := &quotaFake{bucket: rate.NewLimiter(rate.Limit(perSecond), burst), delivered: map[string]int{}}
	q.fakeClient = newFake(func(_, id string, _ int) error {
		q.mu.Lock()
		defer q.mu.Unlock()
		if !q.bucket.Allow() {
			q.throttled++
			return sdkError("PostToConnection", 429, &types.LimitExceededException{})
		}
		q.delivered[id]++
		return nil
	})
	q.delay = latency
	return q
}

func seqIDs(n int) func(func(string, error) bool) {
	return func(yield func(string, error) bool) {
		for i := range n {
			if !yield(fmt.Sprint("c", i, "="), nil) {
				return
			}
		}
	}
}

// TestBroadcastPacing: a default Broadcast against a quota (1,000 calls per
// second, burst 100) that it would exceed 3 times over at full speed
// delivers every id exactly once, with at most 5 % of its calls throttled
// (issue 20: without pacing, 29 % were and ids were lost; with
// DisablePacing, about 18 % of this test's calls are). A second's worth of
// ids: the pacer adapts within a few 100 ms windows.
func TestBroadcastPacing(t *testing.T) {
	t.Parallel()
	const n = 1000
	q := newQuotaFake(1000, 100, 5*time.Millisecond)
	s := sender.New(q, &sender.Options{Concurrency: 16})
	start := time.Now()
	res, err := s.Broadcast(context.Background(), seqIDs(n), []byte("x"), nil)
	if err != nil || res.Sent != n {
		t.Fatalf("Broadcast = %+v, %v; want %d sent", res, err, n)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := range n {
		if id := fmt.Sprint("c", i, "="); q.delivered[id] != 1 {
			t.Errorf("%s delivered %d times, want 1", id, q.delivered[id])
		}
	}
	calls := n + q.throttled
	t.Logf("%d calls, %d throttled (%.1f %%), %v (the quota's limit: %v)", calls, q.throttled,
		100*float64(q.throttled)/float64(calls), time.Since(start).Round(time.Millisecond), time.Duration(n-100)*time.Millisecond)
	if q.throttled*20 > calls {
		t.Errorf("%d of %d calls throttled, want at most 5 %%", q.throttled, calls)
	}
}

// TestRate: BroadcastOptions.Rate and Options.Rate cap the calls per second.
// Only lower bounds on time are checked: a slow machine cannot break them.
func TestRate(t *testing.T) {
	t.Parallel()
	t.Run("broadcast", func(t *testing.T) {
		t.Parallel()
		fc := newFake(nil)
		s := sender.New(fc, nil)
		start := time.Now()
		res, err := s.Broadcast(context.Background(), seqIDs(100), []byte("x"), &sender.BroadcastOptions{Rate: 200})
		if err != nil || res.Sent != 100 {
			t.Fatalf("Broadcast = %+v, %v", res, err)
		}
		// A burst of 2 (10 ms at 200/s), then 98 calls 5 ms apart.
		if d := time.Since(start); d < 480*time.Millisecond {
			t.Errorf("100 sends at Rate 200 took %v, want at least 0.49 s", d)
		}
	})
	t.Run("client", func(t *testing.T) {
		t.Parallel()
		fc := newFake(nil)
		s := sender.New(fc, &sender.Options{Rate: 100})
		start := time.Now()
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Send(context.Background(), fmt.Sprint("c", i), []byte("x")); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		// A burst of 1, then 19 calls 10 ms apart.
		if d := time.Since(start); d < 180*time.Millisecond {
			t.Errorf("20 concurrent sends at Rate 100 took %v, want at least 0.19 s", d)
		}
	})
}

// TestRateWaitPastDeadline: a call whose turn under Rate comes after its
// context's deadline fails at once with context.DeadlineExceeded, uncalled.
func TestRateWaitPastDeadline(t *testing.T) {
	fc := newFake(nil)
	s := sender.New(fc, &sender.Options{Rate: 0.01}) // one call, then one per 100 s
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Send(ctx, "c1", []byte("x")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := s.Send(ctx, "c2", []byte("x"))
	if !errors.Is(err, context.DeadlineExceeded) || fc.total != 1 {
		t.Errorf("second Send = %v after %d calls, want context.DeadlineExceeded and 1 call", err, fc.total)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("second Send waited %v for a turn past its deadline", d)
	}
}
