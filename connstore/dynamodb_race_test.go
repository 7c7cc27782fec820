package connstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lambdaws/lambdaws/connstore"
	"github.com/lambdaws/lambdaws/internal/testenv"
)

// hookClient calls before(n, op) before the n-th call (from 1) it forwards;
// a non-nil error from before fails that call instead.
type hookClient struct {
	connstore.DynamoDBAPI
	mu     sync.Mutex
	n      int
	before func(n int, op string) error
}

func (c *hookClient) hook(op string) error {
	c.mu.Lock()
	c.n++
	n, before := c.n, c.before
	c.mu.Unlock()
	if before == nil {
		return nil
	}
	return before(n, op)
}

func (c *hookClient) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if err := c.hook("GetItem"); err != nil {
		return nil, err
	}
	return c.DynamoDBAPI.GetItem(ctx, in, o...)
}

func (c *hookClient) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if err := c.hook("PutItem"); err != nil {
		return nil, err
	}
	return c.DynamoDBAPI.PutItem(ctx, in, o...)
}

func (c *hookClient) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if err := c.hook("UpdateItem"); err != nil {
		return nil, err
	}
	return c.DynamoDBAPI.UpdateItem(ctx, in, o...)
}

func (c *hookClient) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	if err := c.hook("DeleteItem"); err != nil {
		return nil, err
	}
	return c.DynamoDBAPI.DeleteItem(ctx, in, o...)
}

func (c *hookClient) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	if err := c.hook("Query"); err != nil {
		return nil, err
	}
	return c.DynamoDBAPI.Query(ctx, in, o...)
}

func (c *hookClient) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	if err := c.hook("BatchWriteItem"); err != nil {
		return nil, err
	}
	return c.DynamoDBAPI.BatchWriteItem(ctx, in, o...)
}

// items returns every item of the table as "pk|sk" strings: the test's view
// of what is stored, orphans included.
func items(t *testing.T, client *dynamodb.Client, table string) []string {
	t.Helper()
	var all []string
	p := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{TableName: &table, ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			all = append(all, it["pk"].(*types.AttributeValueMemberS).Value+"|"+it["sk"].(*types.AttributeValueMemberS).Value)
		}
	}
	slices.Sort(all)
	return all
}

// TestDynamoDBInterleavings runs a second operation at each step of a Join
// (deterministically, unlike storetest's races) and checks what is stored.
func TestDynamoDBInterleavings(t *testing.T) {
	client := newClient(testenv.Dynalite(t))
	const joinCalls = 5 // GetItem, PutItem (reverse), PutItem (member), GetItem, GetItem
	for _, other := range []string{"Remove", "Leave"} {
		for step := 1; step <= joinCalls; step++ {
			t.Run(fmt.Sprintf("%s before Join call %d", other, step), func(t *testing.T) {
				ctx := t.Context()
				table := newTable(t, client)
				plain := connstore.NewDynamoDB(client, table, nil)
				hooked := &hookClient{DynamoDBAPI: client}
				s := connstore.NewDynamoDB(hooked, table, nil)
				must(t, plain.Add(ctx, "a", nil))
				var otherErr error
				hooked.before = func(n int, op string) error {
					if n == step {
						if other == "Remove" {
							otherErr = plain.Remove(ctx, "a")
						} else {
							otherErr = plain.Leave(ctx, "a", "x")
						}
					}
					return nil
				}
				joinErr := s.Join(ctx, "a", "x")
				must(t, otherErr)
				stored := items(t, client, table)
				switch other {
				case "Remove":
					// Join fails if it sees the Remove, and succeeds if
					// its last check of the connection came first.
					if joinErr != nil && !errors.Is(joinErr, connstore.ErrNotFound) {
						t.Errorf("Join racing Remove: %v, want nil or ErrNotFound", joinErr)
					}
					if len(stored) != 0 {
						t.Errorf("left behind: %q", stored)
					}
				case "Leave":
					must(t, joinErr)
					// Either order is fine, but both membership items or neither.
					want1 := []string{"chan#x|conn#a", "conn#a|chan#x", "conn#a|meta"}
					want2 := []string{"conn#a|meta"}
					if !slices.Equal(stored, want1) && !slices.Equal(stored, want2) {
						t.Errorf("stored %q, want %q or %q", stored, want1, want2)
					}
				}
			})
		}
	}
	// Join entirely between the steps of a Leave of a pair that was joined.
	for step := 1; step <= 3; step++ {
		t.Run(fmt.Sprintf("Join before Leave call %d", step), func(t *testing.T) {
			ctx := t.Context()
			table := newTable(t, client)
			plain := connstore.NewDynamoDB(client, table, nil)
			hooked := &hookClient{DynamoDBAPI: client}
			s := connstore.NewDynamoDB(hooked, table, nil)
			must(t, plain.Add(ctx, "a", nil))
			must(t, plain.Join(ctx, "a", "x"))
			var joinErr error
			hooked.before = func(n int, op string) error {
				if n == step {
					joinErr = plain.Join(ctx, "a", "x")
				}
				return nil
			}
			must(t, s.Leave(ctx, "a", "x"))
			must(t, joinErr)
			stored := items(t, client, table)
			members := slices.Contains(stored, "chan#x|conn#a")
			reverse := slices.Contains(stored, "conn#a|chan#x")
			if members && !reverse {
				t.Errorf("a channel member that Remove cannot find: %q", stored)
			}
			must(t, plain.Remove(ctx, "a"))
			if stored := items(t, client, table); len(stored) != 0 {
				t.Errorf("left behind after Remove: %q", stored)
			}
		})
	}
}

// TestDynamoDBFailures fails each DynamoDB call of Join, Leave and Remove in
// turn, and checks that the error is wrapped and that a later Remove still
// leaves nothing behind.
func TestDynamoDBFailures(t *testing.T) {
	client := newClient(testenv.Dynalite(t))
	boom := errors.New("injected failure")
	ops := []struct {
		name  string
		calls int
		run   func(ctx context.Context, s connstore.Store) error
		text  string
	}{
		{"Join", 5, func(ctx context.Context, s connstore.Store) error { return s.Join(ctx, "a", "y") }, `connstore: join "a" to "y": `},
		{"Leave", 3, func(ctx context.Context, s connstore.Store) error { return s.Leave(ctx, "a", "x") }, `connstore: leave "a" from "x": `},
		{"Remove", 4, func(ctx context.Context, s connstore.Store) error { return s.Remove(ctx, "a") }, `connstore: remove "a"`},
	}
	for _, op := range ops {
		for fail := 1; fail <= op.calls; fail++ {
			t.Run(fmt.Sprintf("%s call %d", op.name, fail), func(t *testing.T) {
				ctx := t.Context()
				table := newTable(t, client)
				plain := connstore.NewDynamoDB(client, table, nil)
				must(t, plain.Add(ctx, "a", nil))
				must(t, plain.Join(ctx, "a", "x"))
				hooked := &hookClient{DynamoDBAPI: client, before: func(n int, op string) error {
					if n == fail {
						return boom
					}
					return nil
				}}
				err := op.run(ctx, connstore.NewDynamoDB(hooked, table, nil))
				if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), op.text) {
					t.Fatalf("error %q, want it to wrap the failure and start with %q", err, op.text)
				}
				// What is stored is still coherent: no channel member
				// without the item Remove finds it by.
				stored := items(t, client, table)
				for _, it := range stored {
					if ch, ok := strings.CutSuffix(it, "|conn#a"); ok {
						if !slices.Contains(stored, "conn#a|"+ch) {
							t.Errorf("member item %q without its reverse item: %q", it, stored)
						}
					}
				}
				must(t, plain.Remove(ctx, "a"))
				if stored := items(t, client, table); len(stored) != 0 {
					t.Errorf("left behind after Remove: %q", stored)
				}
			})
		}
	}
}

// TestDynamoDBUnavailable points the store at servers that fail: errors are
// wrapped with the operation, throttling is named, nothing panics.
func TestDynamoDBUnavailable(t *testing.T) {
	throttle := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Rate of requests exceeds the allowed throughput."}`)
	}))
	defer throttle.Close()
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"boom"}`)
	}))
	defer internal.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()

	for _, tt := range []struct {
		name, endpoint, want string
	}{
		{"throttled", throttle.URL, "throttled by DynamoDB"},
		{"internal error", internal.URL, "InternalServerError"},
		{"closed port", closed, "connection refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// The SDK's standard retryer, with a short backoff to keep the test fast.
			client := newClient(tt.endpoint, func(o *dynamodb.Options) {
				o.Retryer = retry.NewStandard(func(o *retry.StandardOptions) {
					o.MaxAttempts = 2
					o.MaxBackoff = 10 * time.Millisecond
				})
			})
			s := connstore.NewDynamoDB(client, "connections", nil)
			ctx := t.Context()
			check := func(err error, prefix string) {
				t.Helper()
				if err == nil || !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("error %q, want prefix %q and %q in it", err, prefix, tt.want)
				}
				if errors.Is(err, connstore.ErrNotFound) {
					t.Errorf("error %q is ErrNotFound", err)
				}
			}
			check(s.Add(ctx, "a", nil), `connstore: add "a": `)
			_, err := s.Get(ctx, "a")
			check(err, `connstore: get "a": `)
			check(s.Update(ctx, "a", map[string]string{"k": "v"}), `connstore: update "a": `)
			check(s.Join(ctx, "a", "x"), `connstore: join "a" to "x": `)
			check(s.Leave(ctx, "a", "x"), `connstore: leave "a" from "x": `)
			check(s.Remove(ctx, "a"), `connstore: remove "a": `)
			for _, err := range s.Members(ctx, "x") {
				check(err, `connstore: members of "x": `)
			}
			for _, err := range s.Connections(ctx) {
				check(err, `connstore: list connections: `)
			}
			if t.Failed() {
				return
			}
			err = s.Join(ctx, "a", "x")
			t.Logf("for example: %v", err)
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestDynamoDBConcurrentUpdates: two Updates that each fit the limits alone
// but not together, both reading the connection before either writes. One
// succeeds; the other reads again and fails with ErrInvalid, and the stored
// metadata stays within the limits (100 keys).
func TestDynamoDBConcurrentUpdates(t *testing.T) {
	ctx := t.Context()
	client := newClient(testenv.Dynalite(t))
	table := newTable(t, client)
	must(t, connstore.NewDynamoDB(client, table, nil).Add(ctx, "a", nil))

	// UpdateItem calls wait until both Updates have read the item.
	var mu sync.Mutex
	reads, bothRead := 0, make(chan struct{})
	hooked := &hookClient{DynamoDBAPI: client, before: func(_ int, op string) error {
		switch op {
		case "GetItem":
			mu.Lock()
			if reads++; reads == 2 {
				close(bothRead)
			}
			mu.Unlock()
		case "UpdateItem":
			<-bothRead
		}
		return nil
	}}
	s := connstore.NewDynamoDB(hooked, table, nil)
	errs := make(chan error, 2)
	for _, prefix := range []string{"x", "y"} {
		md := map[string]string{}
		for i := range 60 {
			md[fmt.Sprintf("%s%02d", prefix, i)] = "v"
		}
		go func() { errs <- s.Update(ctx, "a", md) }()
	}
	var failed int
	for range 2 {
		if err := <-errs; err != nil {
			failed++
			if !errors.Is(err, connstore.ErrInvalid) {
				t.Errorf("Update: %v, want ErrInvalid", err)
			}
		}
	}
	if failed != 1 {
		t.Errorf("%d of the 2 Updates failed, want 1", failed)
	}
	c, err := s.Get(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Metadata) != 60 {
		t.Errorf("%d metadata keys stored, want the 60 of one Update (the limit is 100)", len(c.Metadata))
	}
}

// TestDynamoDBRejoinWhileListing: 30 members joined a channel, which is then
// sharded 1 → 4; each joins it again twice while another goroutine lists
// it. Every listing has every member exactly once (issue 24.2: Join deleted
// the old channel-side item before writing the new one, and 31 of 422
// listings missed members), and no item is left behind.
func TestDynamoDBRejoinWhileListing(t *testing.T) {
	ctx := t.Context()
	client := newClient(testenv.Dynalite(t))
	table := newTable(t, client)
	var shards atomic.Int32
	shards.Store(1)
	s := connstore.NewDynamoDB(client, table, &connstore.DynamoDBOptions{
		ChannelShards: func(string) int { return int(shards.Load()) },
	})
	var want []string
	for i := range 30 {
		id := fmt.Sprintf("c%02d", i)
		must(t, s.Add(ctx, id, nil))
		must(t, s.Join(ctx, id, "x"))
		want = append(want, id)
	}
	shards.Store(4)

	joined := make(chan struct{})
	listed := make(chan struct{}) // the first listing is done
	var (
		listings int
		bad      []string // the listings that were wrong
	)
	listerDone := make(chan struct{})
	go func() {
		defer close(listerDone)
		for {
			var got []string
			for id, err := range s.Members(ctx, "x") {
				if err != nil {
					bad = append(bad, err.Error())
					return
				}
				got = append(got, id)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				bad = append(bad, fmt.Sprintf("%d members: %q", len(got), got))
			}
			if listings++; listings == 1 {
				close(listed)
			}
			select {
			case <-joined:
				return
			default:
			}
		}
	}()
	<-listed
	var wg sync.WaitGroup
	errs := make(chan error, len(want))
	for _, id := range want {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2 {
				if err := s.Join(ctx, id, "x"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(joined)
	<-listerDone
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(bad) > 0 {
		t.Errorf("%d of %d listings wrong, first: %s", len(bad), listings, bad[0])
	}
	t.Logf("%d listings", listings)
	if n := len(items(t, client, table)); n != 3*len(want) {
		t.Errorf("%d items stored, want %d (a connection item and two membership items each)", n, 3*len(want))
	}
}

// TestDynamoDBMoveListing lists a channel at each step of a Join that moves
// a member from a shard to the unsharded partition (a process without
// ChannelShards, during a deploy that adds them): the member is listed
// exactly once at every step, though it is on two partitions for a moment.
func TestDynamoDBMoveListing(t *testing.T) {
	client := newClient(testenv.Dynalite(t))
	for step := 1; step <= 6; step++ {
		t.Run(fmt.Sprintf("listing before call %d", step), func(t *testing.T) {
			ctx := t.Context()
			table := newTable(t, client)
			sharded := connstore.NewDynamoDB(client, table, &connstore.DynamoDBOptions{ChannelShards: func(string) int { return 4 }})
			must(t, sharded.Add(ctx, "a", nil))
			must(t, sharded.Add(ctx, "b", nil))
			must(t, sharded.Join(ctx, "a", "x"))
			must(t, sharded.Join(ctx, "b", "x"))
			var got []string
			hooked := &hookClient{DynamoDBAPI: client, before: func(n int, op string) error {
				if n == step {
					for id, err := range sharded.Members(ctx, "x") {
						must(t, err)
						got = append(got, id)
					}
				}
				return nil
			}}
			must(t, connstore.NewDynamoDB(hooked, table, nil).Join(ctx, "a", "x"))
			slices.Sort(got)
			if !slices.Equal(got, []string{"a", "b"}) {
				t.Errorf("listed %q, want [a b]", got)
			}
			want := []string{"chan#x|conn#a", connstore.MemberPK(sharded, "b", "x") + "|conn#b", "conn#a|chan#x", "conn#a|meta", "conn#b|chan#x", "conn#b|meta"}
			slices.Sort(want)
			if stored := items(t, client, table); !slices.Equal(stored, want) {
				t.Errorf("stored %q\nwant %q", stored, want)
			}
		})
	}
}
