package connstore_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lambdaws/lambdaws/connstore"
	"github.com/lambdaws/lambdaws/connstore/storetest"
	"github.com/lambdaws/lambdaws/internal/testenv"
)

// newClient returns the real SDK client pointed at endpoint.
func newClient(endpoint string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("x", "x", ""),
	}
	return dynamodb.NewFromConfig(cfg, append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	}}, optFns...)...)
}

var tableSeq atomic.Int64

// newTable creates a fresh table on the dynalite at endpoint.
func newTable(t testing.TB, client *dynamodb.Client) string {
	t.Helper()
	table := fmt.Sprintf("connections-%d", tableSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := connstore.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	return table
}

func TestDynamoDB(t *testing.T) {
	endpoint := testenv.Dynalite(t)
	client := newClient(endpoint)
	t.Run("Unsharded", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) connstore.Store {
			// A small page size, so that every listing crosses pages.
			return connstore.NewDynamoDB(client, newTable(t, client), &connstore.DynamoDBOptions{PageSize: 7, Shards: 3})
		})
	})
	t.Run("ChannelShards", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) connstore.Store {
			return connstore.NewDynamoDB(client, newTable(t, client), &connstore.DynamoDBOptions{
				PageSize: 7, Shards: 3, ChannelShards: func(string) int { return 4 },
			})
		})
	})
}

// TestDynamoDBShardingMigration: a channel sharded after members joined it
// unsharded still lists them, once each, as it lists the ones who join after;
// an old member who joins again stays where it is, listed once, and Leave and Remove
// delete old and new members' items alike, leaving nothing behind. Growing
// the shard count works the same way.
func TestDynamoDBShardingMigration(t *testing.T) {
	ctx := t.Context()
	client := newClient(testenv.Dynalite(t))
	table := newTable(t, client)
	shards := 1
	opts := &connstore.DynamoDBOptions{PageSize: 3, ChannelShards: func(ch string) int {
		if ch == "big" {
			return shards
		}
		return 1
	}}
	s := connstore.NewDynamoDB(client, table, opts)
	var want []string
	add := func(n int) {
		for range n {
			id := fmt.Sprintf("c%02d", len(want))
			must(t, s.Add(ctx, id, nil))
			must(t, s.Join(ctx, id, "big"))
			must(t, s.Join(ctx, id, "small"))
			want = append(want, id)
		}
	}
	check := func(when string) {
		t.Helper()
		for _, ch := range []string{"big", "small"} {
			var got []string
			for id, err := range s.Members(ctx, ch) {
				must(t, err)
				got = append(got, id)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: Members(%s) = %q, want %q", when, ch, got, want)
			}
		}
	}
	add(10)
	check("unsharded")
	for _, n := range []int{4, 7} {
		shards = n
		check(fmt.Sprintf("after sharding into %d", n))
		add(10)
		check(fmt.Sprintf("with %d shards, after 10 more joined", n))
		// Every member joins again: each is still listed once.
		for _, id := range want {
			must(t, s.Join(ctx, id, "big"))
		}
		check(fmt.Sprintf("with %d shards, after everyone joined again", n))
	}
	// With the shards grown again, members (on shards of 7) leave or are
	// removed: no item of theirs is left.
	shards = 9
	check("after growing to 9 shards")
	for i, id := range want {
		if i%2 == 0 {
			must(t, s.Leave(ctx, id, "big"))
			must(t, s.Leave(ctx, id, "small"))
		}
		must(t, s.Remove(ctx, id))
	}
	want = nil
	check("after every member left")
	if left := items(t, client, table); len(left) != 0 {
		t.Errorf("items left: %q", left)
	}
}

func TestCreateTableTwice(t *testing.T) {
	client := newClient(testenv.Dynalite(t))
	table := newTable(t, client)
	if err := connstore.CreateTable(t.Context(), client, table); err != nil {
		t.Fatalf("second CreateTable: %v", err)
	}
}

// TestDynamoDBTTL moves the store's clock past TTLs: an expired connection is
// gone for Update as for Get and Join, and adding a connection again keeps its
// channels for the new connection's lifetime.
func TestDynamoDBTTL(t *testing.T) {
	ctx := t.Context()
	client := newClient(testenv.Dynalite(t))
	s := connstore.NewDynamoDB(client, newTable(t, client), &connstore.DynamoDBOptions{TTL: time.Hour})
	now := time.Now()
	connstore.SetClock(s, func() time.Time { return now })

	t.Run("AddAgainRefreshesChannels", func(t *testing.T) {
		must(t, s.Add(ctx, "again", nil))
		must(t, s.Join(ctx, "again", "general"))
		now = now.Add(50 * time.Minute)
		must(t, s.Add(ctx, "again", nil))
		now = now.Add(50 * time.Minute) // past the first Add's TTL, not the second's
		c, err := s.Get(ctx, "again")
		must(t, err)
		if !slices.Equal(c.Channels, []string{"general"}) {
			t.Errorf("Channels = %q, want [general]", c.Channels)
		}
		if got := slices.Collect(ids(t, s.Members(ctx, "general"))); !slices.Equal(got, []string{"again"}) {
			t.Errorf("Members(general) = %q, want [again]", got)
		}
	})

	t.Run("ExpiredIsGone", func(t *testing.T) {
		must(t, s.Add(ctx, "expired", map[string]string{"user": "ada"}))
		must(t, s.Join(ctx, "expired", "old"))
		now = now.Add(time.Hour)
		if _, err := s.Get(ctx, "expired"); !errors.Is(err, connstore.ErrNotFound) {
			t.Errorf("Get: %v, want ErrNotFound", err)
		}
		if err := s.Update(ctx, "expired", map[string]string{"user": "grace"}); !errors.Is(err, connstore.ErrNotFound) {
			t.Errorf("Update setting a key: %v, want ErrNotFound", err)
		}
		if err := s.Update(ctx, "expired", map[string]string{"user": ""}); !errors.Is(err, connstore.ErrNotFound) {
			t.Errorf("Update deleting a key: %v, want ErrNotFound", err)
		}
		if err := s.Join(ctx, "expired", "new"); !errors.Is(err, connstore.ErrNotFound) {
			t.Errorf("Join: %v, want ErrNotFound", err)
		}
		// Added again, it starts without the expired channel.
		must(t, s.Add(ctx, "expired", nil))
		c, err := s.Get(ctx, "expired")
		must(t, err)
		if len(c.Channels) != 0 || len(c.Metadata) != 0 {
			t.Errorf("re-added after expiry: Channels %q, Metadata %q, want none", c.Channels, c.Metadata)
		}
		if got := slices.Collect(ids(t, s.Members(ctx, "old"))); len(got) != 0 {
			t.Errorf("Members(old) = %q, want none", got)
		}
	})
}

// TestDynamoDBKeyLimits checks the store's limits on ids and channel names
// against dynalite's own key checks: the longest ASCII names make keys
// DynamoDB accepts, one byte more is refused. (dynalite counts UTF-16 code
// units where DynamoDB counts bytes, so only ASCII is compared.)
func TestDynamoDBKeyLimits(t *testing.T) {
	ctx := t.Context()
	client := newClient(testenv.Dynalite(t))
	table := newTable(t, client)
	put := func(pk, sk string) error {
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk},
		}})
		return err
	}
	const maxName = 1019
	for _, tt := range []struct {
		what   string
		pk, sk string
	}{
		{"connection id, in a channel item's sort key", "chan#general", "conn#%s"},
		{"channel name, in a connection's membership item's sort key", "conn#a", "chan#%s"},
	} {
		if err := put(tt.pk, fmt.Sprintf(tt.sk, strings.Repeat("x", maxName))); err != nil {
			t.Errorf("%s of %d bytes: %v", tt.what, maxName, err)
		}
		if err := put(tt.pk, fmt.Sprintf(tt.sk, strings.Repeat("x", maxName+1))); err == nil {
			t.Errorf("%s of %d bytes: accepted, so the store's limit is too low", tt.what, maxName+1)
		}
	}
	s := connstore.NewDynamoDB(client, table, nil)
	if err := s.Add(ctx, strings.Repeat("x", maxName+1), nil); !errors.Is(err, connstore.ErrInvalid) {
		t.Errorf("Add of a %d-byte id: %v, want ErrInvalid", maxName+1, err)
	}
}

// ids drops the errors of a stream, failing the test on one.
func ids(t *testing.T, seq iter.Seq2[string, error]) iter.Seq[string] {
	return func(yield func(string) bool) {
		for id, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			if !yield(id) {
				return
			}
		}
	}
}
