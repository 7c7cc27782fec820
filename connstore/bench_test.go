package connstore_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lambdaws/lambdaws/connstore"
	"github.com/lambdaws/lambdaws/internal/testenv"
)

// BenchmarkDynamoDBMembers lists a channel of 1,000 and of 10,000 members
// through the DynamoDB store against dynalite, page by page (the default page
// size), unsharded and over 8 shards (DynamoDBOptions.ChannelShards), and
// reports the peak heap in use above the baseline while listing. The channel
// is filled with BatchWriteItem outside the timed part.
//
//	go test -run '^$' -bench DynamoDBMembers -benchtime 5x ./connstore
func BenchmarkDynamoDBMembers(b *testing.B) {
	client := newClient(testenv.Dynalite(b))
	for _, c := range []struct{ n, shards int }{{1_000, 1}, {10_000, 1}, {10_000, 8}} {
		b.Run(fmt.Sprintf("%d/shards=%d", c.n, c.shards), func(b *testing.B) {
			n := c.n
			table := newTable(b, client)
			s := connstore.NewDynamoDB(client, table, &connstore.DynamoDBOptions{
				ChannelShards: func(string) int { return c.shards },
			})
			fillChannel(b, client, table, func(id string) string { return connstore.MemberPK(s, id, "big") }, n)

			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			var peak atomic.Uint64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				var m runtime.MemStats
				for {
					runtime.ReadMemStats(&m)
					if m.HeapInuse > peak.Load() {
						peak.Store(m.HeapInuse)
					}
					select {
					case <-stop:
						return
					case <-time.After(2 * time.Millisecond):
					}
				}
			}()

			b.ResetTimer()
			for b.Loop() {
				listMembers(b, s, "big", n)
			}
			b.StopTimer()
			close(stop)
			wg.Wait()
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "ids/s")
			b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapInuse))/(1<<10), "peak-heap-KiB")
		})
	}
}

// fillChannel writes n membership items straight into the table, each at the
// partition key pk gives it, as Join would, with BatchWriteItem on a few
// goroutines.
func fillChannel(b *testing.B, client *dynamodb.Client, table string, pk func(id string) string, n int) {
	b.Helper()
	start := time.Now()
	ttl := strconv.FormatInt(time.Now().Add(2*time.Hour).Unix(), 10)
	batches := make(chan []types.WriteRequest)
	var wg sync.WaitGroup
	var failed atomic.Value
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range batches {
				for len(batch) > 0 {
					out, err := client.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{
						RequestItems: map[string][]types.WriteRequest{table: batch},
					})
					if err != nil {
						failed.Store(err)
						break
					}
					batch = out.UnprocessedItems[table]
				}
			}
		}()
	}
	var batch []types.WriteRequest
	for i := range n {
		id := fmt.Sprintf("Lx%010dQ=", i) // as long as API Gateway's ids
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
			"pk":  &types.AttributeValueMemberS{Value: pk(id)},
			"sk":  &types.AttributeValueMemberS{Value: "conn#" + id},
			"id":  &types.AttributeValueMemberS{Value: id},
			"ttl": &types.AttributeValueMemberN{Value: ttl},
			"tok": &types.AttributeValueMemberS{Value: "0123456789abcdef01234567"},
		}}})
		if len(batch) == 25 || i == n-1 {
			batches <- batch
			batch = nil
		}
	}
	close(batches)
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.Logf("filled %d members in %v", n, time.Since(start))
}

// BenchmarkMemory measures the in-memory store on a channel of 1,000 and of
// 100,000 members: a Join and a Leave of one more connection (members are
// kept sorted, so both move the ids after it), and listing the channel page
// by page (allocations are the page buffer).
//
//	go test -run '^$' -bench Memory -benchmem ./connstore
func BenchmarkMemory(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1_000, 100_000} {
		s := connstore.NewMemory()
		for i := range n {
			id := fmt.Sprintf("Lx%010dQ=", i)
			if err := s.Add(ctx, id, nil); err != nil {
				b.Fatal(err)
			}
			if err := s.Join(ctx, id, "big"); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Add(ctx, "Lx-first", nil); err != nil { // sorts first: the most ids to move
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("JoinLeave/%d", n), func(b *testing.B) {
			for b.Loop() {
				if err := s.Join(ctx, "Lx-first", "big"); err != nil {
					b.Fatal(err)
				}
				if err := s.Leave(ctx, "Lx-first", "big"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("Members/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				listMembers(b, s, "big", n)
			}
		})
	}
}

// listMembers lists channel and fails unless it has n members.
func listMembers(b *testing.B, s connstore.Store, channel string, n int) {
	count := 0
	for _, err := range s.Members(context.Background(), channel) {
		if err != nil {
			b.Fatal(err)
		}
		count++
	}
	if count != n {
		b.Fatalf("listed %d members of %s, want %d", count, channel, n)
	}
}
