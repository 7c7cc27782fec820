package sender

import (
	"context"
	"errors"
	"iter"
	"sync"
)

// BroadcastOptions configures one [Client.Broadcast]. A nil *BroadcastOptions
// sends to every id.
type BroadcastOptions struct {
	// Skip is a connection id not to send to, typically the sender of the
	// message being relayed. It is not counted in the Result.
	Skip string
	// OnGone, if set, is called once for each connection that answered 410
	// Gone, typically to delete it from the connection store. It may be called
	// from several goroutines at once.
	OnGone func(ctx context.Context, connectionID string)
}

// Result accounts for every id a Broadcast took from its iterator (except
// BroadcastOptions.Skip): Sent + Gone + Failed is that number.
type Result struct {
	Sent   int
	Gone   int
	Failed int
	// Failures lists the Failed ids, in completion order.
	Failures []Failure
}

// Failure is a connection a Broadcast could not send to, for a reason other
// than being gone.
type Failure struct {
	ID  string
	Err error
}

// Broadcast sends data to every connection id yielded by ids, with at most
// Options.Concurrency sends in flight; each send is retried like [Client.Send].
// It consumes ids as it goes (a store can page through its members), so
// memory does not grow with their number.
//
// Data over 131072 bytes fails with [ErrTooLarge] before ids is read.
// An error yielded by ids stops the broadcast: sends in flight complete, and
// the error is returned with the accounting so far. When ctx ends, the
// remaining ids are not read and ctx.Err() is returned; an id read but not
// sent by then counts as Failed. Otherwise the error is nil, even if some
// sends failed: see Result.
func (s *Client) Broadcast(ctx context.Context, ids iter.Seq2[string, error], data []byte, opts *BroadcastOptions) (Result, error) {
	var o BroadcastOptions
	if opts != nil {
		o = *opts
	}
	if len(data) > maxPayload {
		return Result{}, &Error{Op: "broadcast", kind: ErrTooLarge}
	}
	c, err := s.api(ctx)
	if err != nil {
		return Result{}, err
	}

	var (
		mu      sync.Mutex
		res     Result
		wg      sync.WaitGroup
		work    = make(chan string)
		workers int
	)
	record := func(id string, err error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			res.Sent++
		case errors.Is(err, ErrGone):
			res.Gone++
		default:
			res.Failed++
			res.Failures = append(res.Failures, Failure{ID: id, Err: err})
		}
	}
	// Workers are started on demand, up to Concurrency, and live for the
	// whole broadcast: reusing them keeps their (SDK-deep) stacks grown.
	worker := func(id string) {
		defer wg.Done()
		for ok := true; ok; id, ok = <-work {
			err := s.send(ctx, c, id, data)
			record(id, err)
			if errors.Is(err, ErrGone) && o.OnGone != nil {
				o.OnGone(ctx, id)
			}
		}
	}
	var stopErr error
	for id, err := range ids {
		if err != nil {
			stopErr = err
			break
		}
		if o.Skip != "" && id == o.Skip {
			continue
		}
		if ctx.Err() == nil {
			select {
			case work <- id:
				continue
			default:
			}
			if workers < s.opts.Concurrency {
				workers++
				wg.Add(1)
				go worker(id)
				continue
			}
			select {
			case work <- id:
				continue
			case <-ctx.Done():
			}
		}
		record(id, ctx.Err())
		stopErr = ctx.Err()
		break
	}
	close(work)
	wg.Wait()
	s.logger().DebugContext(ctx, "sender: broadcast", "sent", res.Sent, "gone", res.Gone,
		"failed", res.Failed, "error", stopErr)
	return res, stopErr
}
