package sender

import "testing"

func TestLazyConfig(t *testing.T) {
	var p Pool
	a, b := p.Get("http://127.0.0.1:1/a"), p.Get("http://127.0.0.1:1/b")
	if a.lazy.cfg != b.lazy.cfg {
		t.Errorf("senders of one Pool do not share the AWS config")
	}
	if a.lazy.cfg.loaded || a.lazy.client != nil {
		t.Errorf("AWS config loaded by Get, want on first call")
	}
	if s := NewForEndpoint("http://127.0.0.1:1/a", nil); s.lazy.cfg.loaded || s.lazy.client != nil {
		t.Errorf("AWS config loaded by NewForEndpoint, want on first call")
	}
}
