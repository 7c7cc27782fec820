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
