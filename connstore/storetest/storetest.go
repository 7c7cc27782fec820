package storetest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/connstore"
)

// Run runs the contract tests as subtests of t. newStore returns an empty
// store each time it is called; to exercise paging, give it a small page size
// (at most 50: one test lists a channel of 250 members). Run it once for each
// configuration that lays out data differently (for the DynamoDB store:
// channels sharded and unsharded).
func Run(t *testing.T, newStore func(t *testing.T) connstore.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s connstore.Store)
	}{
		{"AddGet", testAddGet},
		{"NotFound", testNotFound},
		{"InvalidArguments", testInvalidArguments},
		{"NameLimits", testNameLimits},
		{"MetadataLimits", testMetadataLimits},
		{"Update", testUpdate},
		{"AddAgain", testAddAgain},
		{"Remove", testRemove},
		{"JoinLeave", testJoinLeave},
		{"RemoveDropsMemberships", testRemoveDropsMemberships},
		{"Connections", testConnections},
		{"EarlyBreak", testEarlyBreak},
		{"LargeChannel", testLargeChannel},
		{"Concurrent", testConcurrent},
		{"JoinRacesRemove", testJoinRacesRemove},
		{"JoinRacesLeave", testJoinRacesLeave},
		{"CanceledContext", testCanceledContext},
		{"ConcurrentUpdates", testConcurrentUpdates},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

// collect drains a stream into a sorted slice, failing on duplicates.
func collect(t *testing.T, seq iter.Seq2[string, error]) []string {
	t.Helper()
	seen := map[string]bool{}
	for id, err := range seq {
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if seen[id] {
			t.Fatalf("stream yielded %q twice", id)
		}
		seen[id] = true
	}
	return slices.Sorted(maps.Keys(seen))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	slices.Sort(want)
	if len(want) == 0 {
		want = nil
	}
	if len(got) == 0 {
		got = nil
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

func testAddGet(t *testing.T, s connstore.Store) {
	ctx := t.Context()
	before := time.Now()
	md := map[string]string{"user": "ada", "authorizer.principalId": "u-1", "ünïcode key": "välue"}
	must(t, s.Add(ctx, "conn-a=", md))
	after := time.Now()
	c, err := s.Get(ctx, "conn-a=")
	must(t, err)
	if c.ID != "conn-a=" {
		t.Errorf("ID = %q", c.ID)
	}
	if !maps.Equal(c.Metadata, md) {
		t.Errorf("Metadata = %q, want %q", c.Metadata, md)
	}
	if c.ConnectedAt.Before(before.Add(-time.Second)) || c.ConnectedAt.After(after.Add(time.Second)) {
		t.Errorf("ConnectedAt = %v, want between %v and %v", c.ConnectedAt, before, after)
	}
	// ConnectedAt alone (ws.StoreChannels asks) agrees with Get.
	if at, err := s.ConnectedAt(ctx, "conn-a="); err != nil || !at.Equal(c.ConnectedAt) {
		t.Errorf("ConnectedAt(conn-a=) = %v, %v; Get says %v", at, err, c.ConnectedAt)
	}
	if _, err := s.ConnectedAt(ctx, "nobody"); !errors.Is(err, connstore.ErrNotFound) {
		t.Errorf("ConnectedAt(nobody) = %v, want ErrNotFound", err)
	}
	if len(c.Channels) != 0 {
		t.Errorf("Channels = %q, want none", c.Channels)
	}
	md["user"] = "changed after Add"
	c, err = s.Get(ctx, "conn-a=")
	must(t, err)
	if c.Metadata["user"] != "ada" {
		t.Errorf("the store kept the caller's map: user = %q", c.Metadata["user"])
	}

	must(t, s.Add(ctx, "conn-b", nil))
	c, err = s.Get(ctx, "conn-b")
	must(t, err)
	if c.Metadata == nil || len(c.Metadata) != 0 {
		t.Errorf("Metadata = %#v, want an empty non-nil map", c.Metadata)
	}
}

func testNotFound(t *testing.T, s connstore.Store) {
	ctx := t.Context()
	if _, err := s.Get(ctx, "nobody"); !errors.Is(err, connstore.ErrNotFound) {
		t.Errorf("Get: %v, want ErrNotFound", err)
	}
	if err := s.Update(ctx, "nobody", map[string]string{"k": "v"}); !errors.Is(err, connstore.ErrNotFound) {
		t.Errorf("Update: %v, want ErrNotFound", err)
	}
	if err := s.Join(ctx, "nobody", "general"); !errors.Is(err, connstore.ErrNotFound) {
		t.Errorf("Join: %v, want ErrNotFound", err)
	}
	if err := s.Leave(ctx, "nobody", "general"); err != nil {
		t.Errorf("Leave: %v, want nil", err)
	}
	if err := s.Remove(ctx, "nobody"); err != nil {
		t.Errorf("Remove: %v, want nil", err)
	}
	wantIDs(t, "Members(general) after a failed Join", collect(t, s.Members(ctx, "general")), nil)
}

func testInvalidArguments(t *testing.T, s connstore.Store) {
	ctx := t.Context()
	must(t, s.Add(ctx, "a", nil))
	for name, err := range map[string]error{
		"Add(\"\")":      s.Add(ctx, "", nil),
		"Update(\"\")":   s.Update(ctx, "", nil),
		"Remove(\"\")":   s.Remove(ctx, ""),
		"Join(\"\", x)":  s.Join(ctx, "", "x"),
		"Join(a, \"\")":  s.Join(ctx, "a", ""),
		"Leave(a, \"\")": s.Leave(ctx, "a", ""),
	} {
		wantInvalid(t, name, err, "empty")
	}
	_, err := s.Get(ctx, "")
	wantInvalid(t, "Get(\"\")", err, "empty")
	wantInvalid(t, "Members(\"\")", streamErr(s.Members(ctx, "")), "empty")
}

// Limits of ids, channel names and metadata (see connstore.Store), in bytes.
const (
	maxName     = 1019
	maxMetaKey  = 255
	maxMetaKeys = 100
	maxMeta     = 400_000
)

// wantInvalid fails unless err is connstore.ErrInvalid with a message that
// contains what.
func wantInvalid(t *testing.T, call string, err error, what string) {
	t.Helper()
	if !errors.Is(err, connstore.ErrInvalid) {
		t.Errorf("%s: %v, want ErrInvalid", call, err)
	} else if !strings.Contains(err.Error(), what) {
		t.Errorf("%s: %q does not say %q", call, err, what)
	}
}

// streamErr drains a stream and returns its error.
func streamErr(seq iter.Seq2[string, error]) error {
	for _, err := range seq {
		if err != nil {
			return err
		}
	}
	return nil
}

// name returns a valid name of n bytes with multi-byte characters, different
// for each prefix.
func name(prefix string, n int) string {
	s := prefix + strings.Repeat("é", (n-len(prefix))/2)
	return s + strings.Repeat("x", n-len(s))
}

// testNameLimits checks the limits of connection ids and channel names: the
// longest ones work everywhere, one byte more or invalid UTF-8 fail with
// ErrInvalid and change nothing.
func testNameLimits(t *testing.T, s connstore.Store) {
	ctx := t.Context()
	id, channel := name("id-", maxName), name("ch-", maxName)
	must(t, s.Add(ctx, id, map[string]string{"user": "ada"}))
	must(t, s.Join(ctx, id, channel))
	wantIDs(t, "Members of the longest channel", collect(t, s.Members(ctx, channel)), []string{id})
	c, err := s.Get(ctx, id)
	must(t, err)
	wantIDs(t, "Channels of the longest id", c.Channels, []string{channel})
	must(t, s.Update(ctx, id, map[string]string{"user": "grace"}))

	for _, bad := range []struct{ id, channel, what string }{
		{name("id-", maxName+1), "general", "connection id is 1020 bytes, over the limit of 1019"},
		{id, name("ch-", maxName+1), "channel name is 1020 bytes, over the limit of 1019"},
		{"bad-\xff", "general", "connection id is not valid UTF-8"},
		{id, "bad-\xc3", "channel name is not valid UTF-8"},
	} {
		if bad.id != id {
			wantInvalid(t, "Add", s.Add(ctx, bad.id, nil), bad.what)
			_, err := s.Get(ctx, bad.id)
			wantInvalid(t, "Get", err, bad.what)
			wantInvalid(t, "Update", s.Update(ctx, bad.id, map[string]string{"k": "v"}), bad.what)
			wantInvalid(t, "Remove", s.Remove(ctx, bad.id), bad.what)
		} else {
			wantInvalid(t, "Members", streamErr(s.Members(ctx, bad.channel)), bad.what)
		}
		wantInvalid(t, "Join", s.Join(ctx, bad.id, bad.channel), bad.what)
		wantInvalid(t, "Leave", s.Leave(ctx, bad.id, bad.channel), bad.what)
	}
	c, err = s.Get(ctx, id)
	must(t, err)
	wantIDs(t, "Channels after the failed calls", c.Channels, []string{channel})
	wantIDs(t, "Connections after the failed calls", collect(t, s.Connections(ctx)), []string{id})

	must(t, s.Leave(ctx, id, channel))
	must(t, s.Remove(ctx, id))
	wantIDs(t, "Members after Leave", collect(t, s.Members(ctx, channel)), nil)
}

// bigMetadata returns keys metadata keys of keyLen bytes whose keys and
// values add up to size bytes.
func bigMetadata(keys, keyLen, size int) map[string]string {
	md := map[string]string{}
	valueLen := (size - keys*keyLen) / keys
	for i := range keys {
		v := strings.Repeat("v", valueLen)
		if i == 0 {
			v += strings.Repeat("v", size-keys*(keyLen+valueLen))
		}
		md[name(fmt.Sprintf("k%03d-", i), keyLen)] = v
	}
	return md
}

// testMetadataLimits checks the limits of metadata, on the longest id (the
// largest connection item): Add and Update accept the most metadata there
// can be, and fail with ErrInvalid, changing nothing, beyond it.
func testMetadataLimits(t *testing.T, s connstore.Store) {
	ctx := t.Context()
	id := name("id-", maxName)
	full := bigMetadata(maxMetaKeys, maxMetaKey, maxMeta)
	must(t, s.Add(ctx, id, full))
	c, err := s.Get(ctx, id)
	must(t, err)
	if !maps.Equal(c.Metadata, full) {
		t.Fatalf("Get after adding %d keys and %d bytes returned other metadata", maxMetaKeys, maxMeta)
	}

	wantInvalid(t, "Add with one byte too many", s.Add(ctx, id, bigMetadata(maxMetaKeys, maxMetaKey, maxMeta+1)),
		"metadata is 400001 bytes, over the limit of 400000")
	wantInvalid(t, "Add with one key too many", s.Add(ctx, id, bigMetadata(maxMetaKeys+1, 10, 2000)),
		"101 metadata keys, over the limit of 100")
	wantInvalid(t, "Add with a key too long", s.Add(ctx, id, map[string]string{name("k", maxMetaKey+1): "v"}),
		"metadata key is 256 bytes, over the limit of 255")
	wantInvalid(t, "Add with a value not UTF-8", s.Add(ctx, id, map[string]string{"user": "\xff"}), "not valid UTF-8")
	wantInvalid(t, "Add with a key not UTF-8", s.Add(ctx, id, map[string]string{"\xff": "v"}), "not valid UTF-8")

	var first string
	for k := range full {
		first = k
		break
	}
	wantInvalid(t, "Update adding a key", s.Update(ctx, id, map[string]string{"one-more": "v"}),
		"101 metadata keys, over the limit of 100")
	wantInvalid(t, "Update adding a byte", s.Update(ctx, id, map[string]string{first: full[first] + "v"}),
		"metadata is 400001 bytes, over the limit of 400000")
	wantInvalid(t, "Update of too many keys", s.Update(ctx, id, bigMetadata(maxMetaKeys+1, 10, 2000)),
		"101 metadata keys, over the limit of 100")
	wantInvalid(t, "Update with a value not UTF-8", s.Update(ctx, id, map[string]string{first: "\xff"}), "not valid UTF-8")
	c, err = s.Get(ctx, id)
	must(t, err)
	if !maps.Equal(c.Metadata, full) {
		t.Errorf("the failed calls changed the metadata")
	}

	// Replacing a key by another of the same size stays within the limits.
	md := map[string]string{first: "", name("new-", maxMetaKey): full[first]}
	must(t, s.Update(ctx, id, md))
	c, err = s.Get(ctx, id)
	must(t, err)
	if len(c.Metadata) != maxMetaKeys || c.Metadata[first] != "" {
		t.Errorf("after replacing a key: %d keys, %q still there: %v", len(c.Metadata), first, c.Metadata[first] != "")
	}
}

func testUpdate(t *testing.T, s connstore.Store) {
	ctx := t.Context()
	must(t, s.Add(ctx, "a", map[string]string{"user": "ada", "room": "1", "keep": "yes"}))
	must(t, s.Update(ctx, "a", map[string]string{"user": "grace", "room": "", "new": "n"}))
	c, err := s.Get(ctx, "a")
	must(t, err)
	want := map[string]string{"user": "grace", "keep": "yes", "new": "n"}
	if !maps.Equal(c.Metadata, want) {
		t.Errorf("Metadata = %q, want %q", c.Metadata, want)
	}
	must(t, s.Update(ctx, "a", nil))
	must(t, s.Update(ctx, "a", map[string]string{"absent": ""}))
	c, err = s.Get(ctx, "a")
	must(t, err)
	if !maps.Equal(c.Metadata, want) {
		t.Errorf("after no-op updates Metadata = %q, want %q", c.Metadata, want)
	}
}

func testAddAgain(t *testing.T, s connstore.Store) {
	ctx := t.Context()
	must(t, s.Add(ctx, "a", map[string]string{"user": "ada", "old": "x"}))
	must(t, s.Join(ctx, "a", "general"))
	must(t, s.Add(ctx, "a", map[string]string{"user": "ada2"}))
	c, err := s.Get(ctx, "a")
	must(t, err)
	if want := map[string]string{"user": "ada2"}; !maps.Equal(c.Metadata, want) {
		t.Errorf("Metadata = %q, want %q", c.Metadata, want)
	}
	wantIDs(t, "Channels", c.Channels, []string{"general"})
	wantIDs(t, "Members(general)", collect(t, s.Members(ctx, "general")), []string{"a"})
}

func testRemove(t *testing.T, s connstore.Store) {
	ctx := t.Context()
	must(t, s.Add(ctx, "a", nil))
	must(t, s.Add(ctx, "b", nil))
	must(t, s.Remove(ctx, "a"))
	must(t, s.Remove(ctx, "a"))
	if _, err := s.Get(ctx, "a"); !errors.Is(err, connstore.ErrNotFound) {
		t.Errorf("Get after Remove: %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, "b"); err != nil {
		t.Errorf("Get(b) after Remove(a): %v", err)
	}
}

func testJoinLeave(t *testing.T, s connstore.Store) {
	ctx := t.Context()
	for _, id := range []string{"a", "b", "c"} {
		must(t, s.Add(ctx, id, nil))
	}
	must(t, s.Join(ctx, "a", "x"))
	must(t, s.Join(ctx, "a", "y/with spaces#and:punctuation"))
	must(t, s.Join(ctx, "a", "x")) // twice
	must(t, s.Join(ctx, "b", "x"))
	wantIDs(t, "Members(x)", collect(t, s.Members(ctx, "x")), []string{"a", "b"})
	wantIDs(t, "Members(y…)", collect(t, s.Members(ctx, "y/with spaces#and:punctuation")), []string{"a"})
	wantIDs(t, "Members(z)", collect(t, s.Members(ctx, "z")), nil)
	c, err := s.Get(ctx, "a")
	must(t, err)
	wantIDs(t, "Get(a).Channels", c.Channels, []string{"x", "y/with spaces#and:punctuation"})

	must(t, s.Leave(ctx, "a", "x"))
	must(t, s.Leave(ctx, "a", "x")) // twice
	must(t, s.Leave(ctx, "c", "x")) // never joined
	wantIDs(t, "Members(x) after Leave", collect(t, s.Members(ctx, "x")), []string{"b"})
	c, err = s.Get(ctx, "a")
	must(t, err)
	wantIDs(t, "Get(a).Channels after Leave", c.Channels, []string{"y/with spaces#and:punctuation"})
}

func testRemoveDropsMemberships(t *testing.T, s connstore.Store) {
	ctx := t.Context()
	must(t, s.Add(ctx, "a", nil))
	must(t, s.Add(ctx, "b", nil))
	for _, ch := range []string{"x", "y", "z"} {
		must(t, s.Join(ctx, "a", ch))
	}
	must(t, s.Join(ctx, "b", "x"))
	must(t, s.Remove(ctx, "a"))
	wantIDs(t, "Members(x)", collect(t, s.Members(ctx, "x")), []string{"b"})
	wantIDs(t, "Members(y)", collect(t, s.Members(ctx, "y")), nil)
	wantIDs(t, "Connections", collect(t, s.Connections(ctx)), []string{"b"})
	// The same id added again starts without channels.
	must(t, s.Add(ctx, "a", nil))
	c, err := s.Get(ctx, "a")
	must(t, err)
	wantIDs(t, "Channels of a re-added connection", c.Channels, nil)
}

func testConnections(t *testing.T, s connstore.Store) {
	ctx := t.Context()
	wantIDs(t, "Connections of an empty store", collect(t, s.Connections(ctx)), nil)
	var want []string
	for i := range 60 {
		id := fmt.Sprintf("conn-%02d", i)
		want = append(want, id)
		must(t, s.Add(ctx, id, nil))
	}
	// Connections reads an index that may lag; allow it a few seconds.
	var got []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got = collect(t, s.Connections(ctx))
		if len(got) == len(want) || time.Now().After(deadline) {
			break
		}
	}
	wantIDs(t, "Connections", got, want)
}

func testEarlyBreak(t *testing.T, s connstore.Store) {
	ctx := t.Context()
	for i := range 20 {
		id := fmt.Sprintf("c%02d", i)
		must(t, s.Add(ctx, id, nil))
		must(t, s.Join(ctx, id, "room"))
	}
	for name, seq := range map[string]iter.Seq2[string, error]{
		"Members":     s.Members(ctx, "room"),
		"Connections": s.Connections(ctx),
	} {
		n := 0
		for _, err := range seq { // the range-over-func runtime panics if the stream yields after break
			must(t, err)
			n++
			if n == 3 {
				break
			}
		}
		if n != 3 {
			t.Errorf("%s: got %d ids before break, want 3", name, n)
		}
		// A stream can be ranged over again.
		if got := collect(t, seq); len(got) != 20 {
			t.Errorf("%s: second iteration got %d ids, want 20", name, len(got))
		}
	}
}

// parallel runs fn(i) for i in [0, n) on a few goroutines and fails on the
// first error.
func parallel(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func testLargeChannel(t *testing.T, s connstore.Store) {
	ctx := t.Context()
	const n = 250
	want := make([]string, n)
	parallel(t, n, func(i int) error {
		want[i] = fmt.Sprintf("member-%03d", i)
		if err := s.Add(ctx, want[i], nil); err != nil {
			return err
		}
		return s.Join(ctx, want[i], "big")
	})
	wantIDs(t, "Members(big)", collect(t, s.Members(ctx, "big")), want)
}

// testConcurrent runs joins, leaves and removes from many goroutines, each on
// its own connections, and checks that the store ends up with exactly the
// memberships the goroutines kept track of.
func testConcurrent(t *testing.T, s connstore.Store) {
	ctx := t.Context()
	const goroutines, connsEach, steps = 16, 3, 12
	channels := []string{"red", "green", "blue"}
	type state struct {
		removed  bool
		channels map[string]bool
	}
	results := make([]map[string]*state, goroutines)
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			mine := map[string]*state{}
			results[g] = mine
			for c := range connsEach {
				id := fmt.Sprintf("g%02d-c%d", g, c)
				if err := s.Add(ctx, id, nil); err != nil {
					errs <- err
					return
				}
				mine[id] = &state{channels: map[string]bool{}}
			}
			for range steps {
				id := fmt.Sprintf("g%02d-c%d", g, rng.IntN(connsEach))
				st := mine[id]
				ch := channels[rng.IntN(len(channels))]
				var err error
				switch r := rng.IntN(10); {
				case r < 6:
					err = s.Join(ctx, id, ch)
					if st.removed {
						if !errors.Is(err, connstore.ErrNotFound) {
							errs <- fmt.Errorf("Join(%s, %s) after Remove: %v, want ErrNotFound", id, ch, err)
							return
						}
						err = nil
					} else {
						st.channels[ch] = true
					}
				case r < 9:
					err = s.Leave(ctx, id, ch)
					delete(st.channels, ch)
				default:
					err = s.Remove(ctx, id)
					st.removed = true
					clear(st.channels)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := map[string][]string{}
	var live []string
	for _, mine := range results {
		for id, st := range mine {
			if !st.removed {
				live = append(live, id)
			}
			for ch := range st.channels {
				want[ch] = append(want[ch], id)
			}
		}
	}
	for _, ch := range channels {
		wantIDs(t, "Members("+ch+")", collect(t, s.Members(ctx, ch)), want[ch])
	}
	for _, mine := range results {
		for id, st := range mine {
			c, err := s.Get(ctx, id)
			if st.removed {
				if !errors.Is(err, connstore.ErrNotFound) {
					t.Errorf("Get(%s) after Remove: %v", id, err)
				}
				continue
			}
			must(t, err)
			wantIDs(t, "Get("+id+").Channels", c.Channels, slices.Collect(maps.Keys(st.channels)))
		}
	}
	var got []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got = collect(t, s.Connections(ctx))
		if len(got) == len(live) || time.Now().After(deadline) {
			break
		}
	}
	wantIDs(t, "Connections", got, live)
}

// testJoinRacesRemove starts a Join and a Remove of the same connection at
// once, many times: whichever wins, the removed connection must not be left
// in the channel.
func testJoinRacesRemove(t *testing.T, s connstore.Store) {
	ctx := t.Context()
	const n = 40
	must(t, s.Add(ctx, "bystander", nil))
	must(t, s.Join(ctx, "bystander", "race"))
	parallel(t, n, func(i int) error {
		id := fmt.Sprintf("racer-%02d", i)
		if err := s.Add(ctx, id, nil); err != nil {
			return err
		}
		var wg sync.WaitGroup
		var joinErr, removeErr error
		wg.Add(2)
		go func() { defer wg.Done(); joinErr = s.Join(ctx, id, "race") }()
		go func() { defer wg.Done(); removeErr = s.Remove(ctx, id) }()
		wg.Wait()
		if joinErr != nil && !errors.Is(joinErr, connstore.ErrNotFound) {
			return joinErr
		}
		return removeErr
	})
	wantIDs(t, "Members(race)", collect(t, s.Members(ctx, "race")), []string{"bystander"})
	for i := range n {
		id := fmt.Sprintf("racer-%02d", i)
		must(t, s.Add(ctx, id, nil)) // re-added: it must not find an old membership
		c, err := s.Get(ctx, id)
		must(t, err)
		wantIDs(t, "Channels of re-added "+id, c.Channels, nil)
	}
	wantIDs(t, "Members(race) after re-adding", collect(t, s.Members(ctx, "race")), []string{"bystander"})
}

// testJoinRacesLeave starts a Join and a Leave of the same pair at once: either
// may win, but the channel's members and the connection's channels must agree,
// and Remove must then clear the membership.
func testJoinRacesLeave(t *testing.T, s connstore.Store) {
	ctx := t.Context()
	const n = 40
	ids := make([]string, n)
	parallel(t, n, func(i int) error {
		ids[i] = fmt.Sprintf("racer-%02d", i)
		if err := s.Add(ctx, ids[i], nil); err != nil {
			return err
		}
		if i%2 == 0 { // half of them start as members
			if err := s.Join(ctx, ids[i], "race"); err != nil {
				return err
			}
		}
		var wg sync.WaitGroup
		var joinErr, leaveErr error
		wg.Add(2)
		go func() { defer wg.Done(); joinErr = s.Join(ctx, ids[i], "race") }()
		go func() { defer wg.Done(); leaveErr = s.Leave(ctx, ids[i], "race") }()
		wg.Wait()
		return errors.Join(joinErr, leaveErr)
	})
	members := map[string]bool{}
	for _, id := range collect(t, s.Members(ctx, "race")) {
		members[id] = true
	}
	for _, id := range ids {
		c, err := s.Get(ctx, id)
		must(t, err)
		if in := slices.Contains(c.Channels, "race"); in != members[id] {
			t.Errorf("%s: in Get().Channels: %v, in Members: %v", id, in, members[id])
		}
	}
	parallel(t, n, func(i int) error { return s.Remove(ctx, ids[i]) })
	wantIDs(t, "Members(race) after Remove", collect(t, s.Members(ctx, "race")), nil)
}

func testCanceledContext(t *testing.T, s connstore.Store) {
	must(t, s.Add(t.Context(), "a", nil))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Get(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a canceled context: %v, want context.Canceled", err)
	}
	if err := s.Join(ctx, "a", "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("Join with a canceled context: %v, want context.Canceled", err)
	}
	for _, err := range s.Members(ctx, "x") {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Members with a canceled context: %v, want context.Canceled", err)
		}
	}
}

// testConcurrentUpdates runs four Updates of 30 new metadata keys each at
// once: each fits the limit of 100 keys alone, all four do not. Three
// succeed, one fails with ErrInvalid, and 90 keys are stored.
func testConcurrentUpdates(t *testing.T, s connstore.Store) {
	ctx := t.Context()
	must(t, s.Add(ctx, "a", nil))
	errs := make(chan error, 4)
	for u := range 4 {
		md := map[string]string{}
		for i := range 30 {
			md[fmt.Sprintf("u%d-%02d", u, i)] = "v"
		}
		go func() { errs <- s.Update(ctx, "a", md) }()
	}
	failed := 0
	for range 4 {
		if err := <-errs; err != nil {
			failed++
			if !errors.Is(err, connstore.ErrInvalid) {
				t.Errorf("Update: %v, want nil or ErrInvalid", err)
			}
		}
	}
	c, err := s.Get(ctx, "a")
	must(t, err)
	if failed != 1 || len(c.Metadata) != 90 {
		t.Errorf("%d of 4 Updates failed and %d keys are stored, want 1 and 90", failed, len(c.Metadata))
	}
}
