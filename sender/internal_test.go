package sender

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/httpbinding"
	"golang.org/x/time/rate"
)

func TestLazyConfig(t *testing.T) {
	var p Pool
	a, b := p.Get("http://127.0.0.1:1/a"), p.Get("https://example.com/b")
	if a.lazy.env != b.lazy.env {
		t.Errorf("clients of one Pool do not share the AWS config and HTTP client")
	}
	if a.lazy.env.loaded || a.lazy.direct != nil {
		t.Errorf("AWS config loaded by Get, want on first call")
	}
	if s := NewForEndpoint("https://example.com/a", nil); s.lazy.env.loaded || s.lazy.direct != nil {
		t.Errorf("AWS config loaded by NewForEndpoint, want on first call")
	}
}

// TestPoolBounded: a Pool keeps at most maxPooled Clients, however many
// distinct endpoints it is asked for; the most recent ones stay cached.
func TestPoolBounded(t *testing.T) {
	var p Pool
	first := p.Get("https://first.example.com/prod")
	for i := range 10 * maxPooled {
		p.Get(fmt.Sprintf("https://api%d.example.com/prod", i))
	}
	if len(p.clients) != maxPooled || len(p.order) != maxPooled {
		t.Errorf("Pool holds %d clients (%d in order), want %d", len(p.clients), len(p.order), maxPooled)
	}
	last := fmt.Sprintf("https://api%d.example.com/prod", 10*maxPooled-1)
	if a, b := p.Get(last), p.Get(last); a != b {
		t.Errorf("the most recent endpoint is not cached")
	}
	if p.Get("https://first.example.com/prod") == first {
		t.Errorf("the oldest endpoint is still cached after %d others", 10*maxPooled)
	}
}

// TestPacerShared: every Client of the process that calls one endpoint
// shares its pacer, whether from NewForEndpoint or a Pool; DisablePacing
// and New's fakes do not take part.
func TestPacerShared(t *testing.T) {
	const e = "https://shared.example.com/prod"
	var p Pool
	a, b, c := NewForEndpoint(e, nil), NewForEndpoint(e, &Options{Rate: 5}), p.Get(e)
	if a.pacer == nil || a.pacer != b.pacer || a.pacer != c.pacer {
		t.Errorf("Clients of one endpoint have pacers %p, %p, %p; want one", a.pacer, b.pacer, c.pacer)
	}
	if NewForEndpoint("https://other.example.com/prod", nil).pacer == a.pacer {
		t.Errorf("two endpoints share a pacer")
	}
	if d := NewForEndpoint(e, &Options{DisablePacing: true}); d.pacer != nil {
		t.Errorf("DisablePacing: the Client has a pacer")
	}
}

// windows returns a function that runs a window of p from *now: ok
// successes and limited 429s (the 429s first), spread evenly, advancing
// *now; it returns the rate after the window.
func windows(p *pacer, now *time.Time) func(ok, limited int) float64 {
	return func(ok, limited int) float64 {
		n := ok + limited
		start := *now
		for i := range n {
			*now = start.Add(window * time.Duration(i+1) / time.Duration(n))
			p.doneAt(*now, i < limited)
		}
		return float64(p.lim.Limit())
	}
}

// TestPacerAIMD drives a pacer through windows: unlimited until a window
// with 429s, then 95 % of the rate the calls succeeded at since the first
// 429; no second decrease in the window after; up by 2 % of that + 1 per
// window without 429s while the calls keep up with the rate; unlimited again after
// a minute without calls.
func TestPacerAIMD(t *testing.T) {
	p := newPacer()
	now := p.start
	window := windows(p, &now)
	if r := window(1000, 0); r != float64(rate.Inf) {
		t.Fatalf("rate %v after a window without 429s, want unlimited", r)
	}
	// 200 successes after the first 429, over the last 0.1 s minus one
	// step: about 2,000 per second.
	r := window(200, 50)
	if r < 0.95*1900 || r > 0.95*2100 {
		t.Fatalf("rate %.0f after 200 successes and 50 429s in 100 ms, want about 1,900", r)
	}
	if r2 := window(200, 50); r2 != r {
		t.Errorf("rate %.0f → %.0f in the window right after a decrease, want unchanged", r, r2)
	}
	if r3 := window(200, 0); r3 != r*1.02+1 {
		t.Errorf("rate %.0f → %.0f after a window without 429s, want %.0f", r, r3, r*1.02+1)
	}
	if r4 := window(300, 0); r4 != r*1.04+2 {
		t.Errorf("rate %.0f → %.0f after a second window without 429s, want %.0f (the same step)", r, r4, r*1.04+2)
	}
	r = float64(p.lim.Limit())
	if r4 := window(20, 0); r4 != r {
		t.Errorf("rate %.0f → %.0f after a window where calls did not keep up, want unchanged", r, r4)
	}
	now = now.Add(2 * time.Minute)
	p.doneAt(now, false)
	if r := p.lim.Limit(); r != rate.Inf {
		t.Errorf("rate %v after two minutes without calls, want unlimited", r)
	}
}

// TestPacerQuiet: once the rate has been over 110 % of what the bucket
// gave at the last decrease for 10 windows without a 429, the increase
// doubles every window, up to a quarter of the rate, so that a pacer finds
// the room a concurrent broadcast left within a few windows rather than
// seconds; a 429 before that, as a pacer alone gets, keeps the increase
// linear, and the next decrease resets it.
func TestPacerQuiet(t *testing.T) {
	p := newPacer()
	now := p.start
	window := windows(p, &now)
	// probe runs n windows whose calls keep up with the rate and checks
	// each rate against the rule.
	probe := func(n int) (r float64) {
		r = float64(p.lim.Limit())
		step, peak, above := r*probeShare+1, float64(p.peak), 0
		for i := range n {
			got := window(int(r/10)+1, 0)
			want := r + step
			if want > beyond*peak {
				above++
			}
			if above > quiet {
				step = min(2*step, want/4)
			}
			if math.Abs(got-want) > 1e-6*want {
				t.Fatalf("window %d after the decrease: rate %.0f, want %.0f", i+1, got, want)
			}
			r = got
		}
		return r
	}
	window(1000, 0)
	r0 := window(200, 50) // about 1,900 per second
	// Alone: over 110 % after 5 windows, then a 429 within 10 more.
	if r := probe(12); math.Abs(r-(r0+12*(r0*probeShare+1))) > 1e-6*r {
		t.Errorf("rate %.0f 12 windows after a decrease to %.0f, want the linear %.0f", r, r0, r0+12*(r0*probeShare+1))
	}
	r0 = window(200, 50)
	r := probe(30)
	if r < 4*r0 {
		t.Errorf("rate %.0f three quiet seconds after a decrease to %.0f, want at least 4 times it", r, r0)
	}
	if lin := r0 + 30*(r0*probeShare+1); r < 2*lin {
		t.Errorf("rate %.0f, not above twice the linear increase's %.0f", r, lin)
	}
	r2 := window(200, 50)
	if r2 > 0.95*2100 {
		t.Errorf("rate %.0f after a window with 429s, want back near 1,900", r2)
	}
	if r3 := window(int(r2/10)+1, 0); r3 != r2+r2*probeShare+1 {
		t.Errorf("rate %.0f → %.0f after the next decrease, want the linear step again", r2, r3)
	}
}

// TestPaths: the three paths of a call are the SDK's escaping of the id
// (httpbinding.EscapePath with separators) and SigV4's canonical URI (that
// escaped once more), for ids with every kind of byte.
func TestPaths(t *testing.T) {
	d, err := newDirect("https://abc.execute-api.eu-west-1.amazonaws.com/my%20stage", okClient{}, nil, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"R1kmxc2VNjMCFIA=", "plain-id_1.~", "a/b%c?d#e", "é\x00\xff +"} {
		path, raw, canon := d.paths(id)
		wantRaw := d.rawPath + httpbinding.EscapePath(id, true)
		if path != d.path+id || raw != wantRaw || canon != httpbinding.EscapePath(wantRaw, false) {
			t.Errorf("paths(%q) = %q, %q, %q; want %q, %q, %q", id, path, raw, canon,
				d.path+id, wantRaw, httpbinding.EscapePath(wantRaw, false))
		}
	}
}
