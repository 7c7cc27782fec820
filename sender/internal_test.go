package sender

import (
	"fmt"
	"testing"
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
