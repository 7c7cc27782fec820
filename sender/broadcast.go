package sender

import (
	"context"
	"errors"
	"iter"
	"sync"

	"github.com/lambdaws/lambdaws/internal/logs"
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
	// Rate, if above 0, caps this broadcast's sends per second (retries
	// included), under the Client's own Rate and pacing: the share of the
	// account's API Gateway quota it may take (see [Options].Rate), so
	// that it never starves the account's inbound traffic.
	Rate float64
}

// Result accounts for every id a Broadcast took from its iterator (except
// BroadcastOptions.Skip): Sent + Gone + Failed + NotAttempted is that number.
type Result struct {
	Sent   int
	Gone   int
	Failed int
	// Throttled counts, among Failed, the ids whose last attempt was
	// throttled (429, [ErrThrottled]).
	Throttled int
	// NotAttempted counts the ids read but not sent because the broadcast
	// stopped: its context ended, or a send failed in a way that fails every
	// send (see [Client.Broadcast]).
	NotAttempted int
	// Failures is a sample of the Failed ids with their errors: the first
	// ones, in completion order, at most 10 however many failed.
	Failures []Failure
}

// maxFailures bounds Result.Failures, so that a broadcast's memory does not
// grow with its failures either.
const maxFailures = 10

// maxWrongEndpoint is the number of sends answered 403, 404 or a redirect,
// before any send was answered otherwise (sent, gone), that stops a
// broadcast: the endpoint or the permission is wrong, not the ids.
const maxWrongEndpoint = 10

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
// An id that cannot name a connection (see [ValidID]) fails alone with
// [ErrInvalidID], counted in Failed, without a call. Data over 131072 bytes
// fails with [ErrTooLarge] before ids is read. The
// broadcast stops early, with the accounting so far and an error, when
//   - ids yields an error, which is returned;
//   - ctx ends: ctx.Err() is returned;
//   - a send fails in a way that will fail every send — an unknown host,
//     an untrusted certificate, no usable credentials — or 10 sends were
//     answered [ErrForbidden] (a missing IAM permission), 404 or a
//     redirect (a wrong endpoint) before any was sent or found gone: the
//     last error is returned. An endpoint may answer so for an odd id too,
//     so these never stop a broadcast that has reached a connection.
//
// Then the remaining ids are not read, sends in flight complete, and ids
// read but not sent count as NotAttempted. Otherwise the error is nil, even
// if some sends failed: see Result.
func (s *Client) Broadcast(ctx context.Context, ids iter.Seq2[string, error], data []byte, opts *BroadcastOptions) (Result, error) {
	var o BroadcastOptions
	if opts != nil {
		o = *opts
	}
	if len(data) > maxPayload {
		return Result{}, &Error{Op: "broadcast", kind: ErrTooLarge}
	}
	c, err := s.caller(ctx)
	if err != nil {
		return Result{}, err
	}
	hash := hashFor(c, data)
	lim := limiterAt(o.Rate)

	var (
		mu      sync.Mutex
		res     Result
		fatal   error // the first error that fails every send
		reached bool  // a send was answered 2xx or 410: the endpoint and permission are right
		wrong   int   // sends answered 403, 404 or a redirect while !reached
		wg      sync.WaitGroup
		work    = make(chan string)
		workers int
	)
	stopped := func() error {
		mu.Lock()
		defer mu.Unlock()
		return fatal
	}
	record := func(id string, err error) {
		mu.Lock()
		defer mu.Unlock()
		var e *Error
		switch {
		case err == nil:
			res.Sent++
			reached = true
		case errors.Is(err, ErrGone):
			res.Gone++
			reached = true
		default:
			res.Failed++
			if errors.Is(err, ErrThrottled) {
				res.Throttled++
			}
			if len(res.Failures) < maxFailures {
				res.Failures = append(res.Failures, Failure{ID: id, Err: err})
			}
			if !errors.As(err, &e) || fatal != nil {
				break
			}
			if e.wrongEndpoint() && !reached {
				wrong++
			}
			if e.failsEvery() || wrong >= maxWrongEndpoint {
				fatal = err
			}
		}
	}
	// Workers are started on demand, up to Concurrency, and live for the
	// whole broadcast: reusing them keeps their stacks grown.
	worker := func(id string) {
		defer wg.Done()
		for ok := true; ok; id, ok = <-work {
			if stopped() != nil {
				mu.Lock()
				res.NotAttempted++
				mu.Unlock()
				continue
			}
			err := checkID("send", id)
			if err == nil {
				err = s.send(ctx, c, id, data, hash, lim)
			}
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
		if stopErr = stopped(); stopErr == nil && ctx.Err() == nil {
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
		mu.Lock()
		res.NotAttempted++
		mu.Unlock()
		if stopErr == nil {
			stopErr = ctx.Err()
		}
		break
	}
	close(work)
	wg.Wait()
	if stopErr == nil {
		stopErr = stopped()
	}
	s.logger().DebugContext(ctx, "sender: broadcast", logs.Sent, res.Sent, logs.Gone, res.Gone,
		logs.Failed, res.Failed, logs.NotAttempted, res.NotAttempted, logs.Error, stopErr)
	return res, stopErr
}
