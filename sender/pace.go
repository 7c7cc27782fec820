package sender

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// API Gateway's @connections calls draw on the account's request quota per
// Region: a token bucket of 10,000 requests per second with a burst of 5,000
// by default (2,500 rps in some Regions), shared with every inbound request
// of the account's REST, HTTP and WebSocket APIs. Past it every call gets 429.
// A pacer keeps the calls of one process to one endpoint near what the
// bucket gives: it learns the rate from the 429s (the calls that succeed
// while some are throttled are what the bucket refills), sends a little
// below it, and probes back up.

// window is how often a pacer adapts its rate: once per window in which
// calls completed. It exceeds the round trip of a call (10-30 ms from a
// Lambda function), so that the 429s of calls sent before a decrease do not
// cause another one, and is long enough for the rate measured over it not to
// swing with a busy machine's scheduling.
const window = 100 * time.Millisecond

const (
	// backoffFactor is the multiplicative decrease: after a window with
	// 429s the rate is this share of the calls that succeeded in it.
	backoffFactor = 0.95
	// probeShare sets the additive increase: after a window without 429s
	// the rate grows by this share of the rate set at the last decrease,
	// plus one call per second (linearly, until the next decrease).
	probeShare = 0.02
	// beyond and quiet decide when the increase doubles every window (up
	// to a quarter of the rate): once the rate has been over beyond times
	// the one the bucket gave at the last decrease for quiet windows
	// without a 429. The quota has room again then (a concurrent
	// broadcast from another process ended), which a linear increase
	// would take seconds to find. A pacer alone gets its next 429 before:
	// its rate swings within a few per cent of the bucket's.
	beyond = 1.1
	quiet  = 10
	// forget is the pause in calls after which a pacer is unlimited again.
	forget = time.Minute
	// minRate is the lowest rate a pacer sets: 1 % of the default quota,
	// 4 % of the lowest. Below it pacing would not make room for anyone,
	// and 429s that do not come from the quota (a connection's full
	// buffer, an emulator's injected faults) would slow every call down to
	// nothing, since slowing down does not make them rarer.
	minRate = 100
)

// pacer is the rate controller shared by every call to one endpoint from
// this process (see pacerFor): additive increase, multiplicative decrease,
// on a golang.org/x/time/rate token bucket. Its rate is unlimited until the
// first 429.
type pacer struct {
	lim *rate.Limiter

	mu        sync.Mutex
	start     time.Time // of the current window
	ok, limit int       // calls completed in it, with success and with 429
	// Since the first 429 of the window, the bucket was empty: the calls
	// that succeeded since are what it refilled.
	firstLimit time.Time
	okSince    int
	// decreased is when the rate last went down: the 429s of the next
	// window may still be those of calls sent before.
	decreased time.Time
	step      rate.Limit // the additive increase per window since then
	peak      rate.Limit // the rate the bucket gave before it
	above     int        // windows since then with the rate over beyond·peak
}

func newPacer() *pacer {
	return &pacer{lim: rate.NewLimiter(rate.Inf, 1), start: time.Now()}
}

// limiter returns p's limiter; nil for a nil p (pacing disabled).
func (p *pacer) limiter() *rate.Limiter {
	if p == nil {
		return nil
	}
	return p.lim
}

// done records a call that succeeded, or was throttled (429), and adapts
// the rate at the end of a window. Other failures are not recorded. A nil
// p records nothing.
func (p *pacer) done(throttled bool) {
	if p != nil {
		p.doneAt(time.Now(), throttled)
	}
}

func (p *pacer) doneAt(now time.Time, throttled bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if throttled {
		if p.limit == 0 {
			p.firstLimit = now
		}
		p.limit++
	} else {
		p.ok++
		if p.limit > 0 {
			p.okSince++
		}
	}
	elapsed := now.Sub(p.start)
	if elapsed < window {
		return
	}
	if elapsed > 2*window {
		// Calls were few: the window says nothing about the bucket. After
		// a long pause, what the pacer learnt is stale (the account's
		// other traffic has changed): start again from no limit.
		if elapsed > forget {
			p.lim.SetLimitAt(now, rate.Inf)
		}
		p.start, p.ok, p.limit, p.okSince = now, 0, 0, 0
		return
	}
	r := p.lim.Limit()
	got := rate.Limit(float64(p.ok) / elapsed.Seconds())
	switch {
	case p.limit > 0 && now.Sub(p.decreased) < 2*window:
		// Too soon after a decrease to tell whether it was enough.
	case p.limit > 0:
		// What the bucket gave since it ran empty (over the whole window
		// when that was too short to tell): send a little below it.
		if since := now.Sub(p.firstLimit); since >= window/10 && p.okSince >= 10 {
			got = rate.Limit(float64(p.okSince) / since.Seconds())
		}
		p.peak = min(r, got)
		r = max(p.peak*backoffFactor, minRate)
		p.decreased, p.step, p.above = now, r*probeShare+1, 0
	case r != rate.Inf && got >= r/2:
		// Probe up only while the rate is what holds the calls back.
		r += p.step
		if r > p.peak*beyond {
			p.above++
		}
		if p.above > quiet {
			p.step = min(2*p.step, r/4)
		}
	}
	if r != p.lim.Limit() {
		p.lim.SetLimitAt(now, r)
		p.lim.SetBurstAt(now, burstFor(r))
	}
	p.start, p.ok, p.limit, p.okSince = now, 0, 0, 0
}

// burstFor is the bucket size of a limiter at r: 10 ms of calls, at least
// one.
func burstFor(r rate.Limit) int {
	if r == rate.Inf {
		return 1
	}
	return max(1, int(math.Min(float64(r)/100, 1e6)))
}

// gate waits until lim lets one more call go, or returns the context's
// error, or an error wrapping context.DeadlineExceeded when the wait would
// pass ctx's deadline (without waiting).
func gate(ctx context.Context, lim *rate.Limiter) error {
	if lim == nil || lim.Limit() == rate.Inf {
		return ctx.Err()
	}
	r := lim.Reserve()
	d := r.Delay()
	if d == 0 {
		return ctx.Err()
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		r.Cancel()
		return fmt.Errorf("waiting %v for the rate would pass the deadline: %w", d.Round(time.Millisecond), context.DeadlineExceeded)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return ctx.Err()
	}
}

// maxPacers bounds the pacers kept, as maxPooled bounds a Pool.
const maxPacers = 64

// pacers holds the pacer of each endpoint, shared by every Client of this
// process that calls it: a process-wide value by design (see "Pacing" in
// the package documentation), as the quota it tracks is the account's, not
// a Client's. It keeps the pacers of the last maxPacers endpoints. Tests
// that must not share one use distinct endpoints or DisablePacing.
var pacers struct {
	mu    sync.Mutex
	m     map[string]*pacer
	order []string // oldest first
}

// pacerFor returns the pacer of endpoint, creating it on first use.
func pacerFor(endpoint string) *pacer {
	pacers.mu.Lock()
	defer pacers.mu.Unlock()
	if p, ok := pacers.m[endpoint]; ok {
		return p
	}
	if pacers.m == nil {
		pacers.m = make(map[string]*pacer)
	}
	if len(pacers.order) == maxPacers {
		delete(pacers.m, pacers.order[0])
		pacers.order = append(pacers.order[:0], pacers.order[1:]...)
	}
	p := newPacer()
	pacers.m[endpoint] = p
	pacers.order = append(pacers.order, endpoint)
	return p
}

// limiterAt returns a limiter at perSecond calls per second, nil for 0 or
// less (no limit).
func limiterAt(perSecond float64) *rate.Limiter {
	if perSecond <= 0 {
		return nil
	}
	r := rate.Limit(perSecond)
	return rate.NewLimiter(r, burstFor(r))
}
