package connstore_test

import (
	"fmt"
	"iter"
	"runtime"
	"slices"
	"testing"

	"github.com/lambdaws/lambdaws/connstore"
	"github.com/lambdaws/lambdaws/connstore/storetest"
)

func TestMemory(t *testing.T) {
	storetest.Run(t, func(*testing.T) connstore.Store { return connstore.NewMemory() })
}

// TestMemoryListingHoldsOnePage lists 20,000 ids (40 pages) and checks that
// the listing allocated about one page, not a copy of the whole list, and
// yielded every id once, in order, across pages.
func TestMemoryListingHoldsOnePage(t *testing.T) {
	ctx := t.Context()
	const n = 20_000
	s := connstore.NewMemory()
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprintf("conn-%05d", i)
		must(t, s.Add(ctx, want[i], nil))
		must(t, s.Join(ctx, want[i], "big"))
	}
	for name, list := range map[string]iter.Seq2[string, error]{
		"Members":     s.Members(ctx, "big"),
		"Connections": s.Connections(ctx),
	} {
		got := make([]string, 0, n)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for id, err := range list {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, id)
		}
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<10 {
			t.Errorf("%s: listing %d ids allocated %d bytes, more than a page of 500", name, n, alloc)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %d ids, want the %d added, in order", name, len(got), n)
		}
	}
}
