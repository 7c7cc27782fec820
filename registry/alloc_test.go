package registry

import "testing"

// TestRouteNoAllocation: choosing a custom route from a body allocates
// nothing (the key is the registered string, not one made from the body).
func TestRouteNoAllocation(t *testing.T) {
	var tbl Table[int]
	for i, k := range []string{Connect, Default, "sendmessage"} {
		if err := tbl.Add(k, i); err != nil {
			t.Fatal(err)
		}
	}
	expr, _ := ParseExpression(DefaultExpression)
	body := []byte(`{"action":"sendmessage","text":"hello"}`)
	var key string
	allocs := testing.AllocsPerRun(100, func() { key, _, _ = tbl.Route(Default, body, expr) })
	if key != "sendmessage" || allocs != 0 {
		t.Errorf("Route = %q with %v allocations, want sendmessage with 0", key, allocs)
	}
}
