package sender_test

import (
	"context"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"

	"github.com/lambdaws/lambdaws/sender"
)

// BenchmarkBroadcast broadcasts through the default (direct) client and the
// real SDK client (HTTPS, SigV4, as in production) to a local management API
// that takes 10ms per call. x-of-limit compares the time with
// the bound set by the concurrency, ceil(N/Concurrency)×10ms (N×10ms for the
// sequential loop); peak-heap-MB is the largest live heap seen while it ran.
// The sequential baseline (one Send after another, as most existing
// libraries do) runs for 1,000 ids only: 10,000 would take 100s.
// fake-client replaces the SDK with a client that only sleeps, to separate
// Broadcast's own overhead from the SDK's and the server's CPU cost.
//
//	go test -run '^$' -bench Broadcast -benchtime=1x ./sender
func BenchmarkBroadcast(b *testing.B) {
	testCredentials(b)
	const (
		latency     = 10 * time.Millisecond
		concurrency = 64 // the default
	)
	data := []byte(`{"action":"message","text":"hello, everyone"}`)
	for _, tc := range []struct {
		name       string
		kind       string // see clientKinds
		n          int
		sequential bool
		fake       bool
	}{
		{"concurrent/N=1000", "direct", 1000, false, false},
		{"concurrent/N=10000", "direct", 10000, false, false},
		{"concurrent-sdk/N=1000", "sdk", 1000, false, false},
		{"concurrent-sdk/N=10000", "sdk", 10000, false, false},
		{"sequential/N=1000", "direct", 1000, true, false},
		{"fake-client/N=10000", "", 10000, false, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			api := newMgmtAPITLS(b, "prod", latency)
			api.quiet = true
			var s *sender.Client
			if tc.kind != "" {
				s = newClient(b, tc.kind, api.endpoint(), &sender.Options{Concurrency: concurrency})
			}
			if tc.fake {
				s = sender.New(sleepClient{latency}, &sender.Options{Concurrency: concurrency})
			}
			ctx := context.Background()
			ids := func(yield func(string, error) bool) {
				for i := range tc.n {
					if !yield("conn-"+strconv.Itoa(i)+"=", nil) {
						return
					}
				}
			}
			// Warm up as a warm Lambda container would be: AWS config loaded,
			// Concurrency TLS connections open.
			warm := func(yield func(string, error) bool) {
				for i := range 2 * concurrency {
					if !yield("warm-"+strconv.Itoa(i), nil) {
						return
					}
				}
			}
			if _, err := s.Broadcast(ctx, warm, data, nil); err != nil {
				b.Fatal(err)
			}
			stop := sampleHeap()
			b.ResetTimer()
			for b.Loop() {
				if tc.sequential {
					for id := range ids {
						if err := s.Send(ctx, id, data); err != nil {
							b.Fatal(err)
						}
					}
					continue
				}
				res, err := s.Broadcast(ctx, ids, data, nil)
				if err != nil || res.Sent != tc.n {
					b.Fatalf("Broadcast = %+v, %v", res, err)
				}
			}
			b.StopTimer()
			peak := stop()
			limit := time.Duration((tc.n+concurrency-1)/concurrency) * latency
			if tc.sequential {
				limit = time.Duration(tc.n) * latency
			}
			perOp := b.Elapsed() / time.Duration(b.N)
			b.ReportMetric(float64(perOp)/float64(limit), "x-of-limit")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}

// sleepClient only waits: it measures Broadcast itself, without the SDK's
// and the HTTP server's CPU cost.
type sleepClient struct{ latency time.Duration }

func (c sleepClient) PostToConnection(context.Context, *apigatewaymanagementapi.PostToConnectionInput, ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.PostToConnectionOutput, error) {
	time.Sleep(c.latency)
	return &apigatewaymanagementapi.PostToConnectionOutput{}, nil
}

func (c sleepClient) GetConnection(context.Context, *apigatewaymanagementapi.GetConnectionInput, ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.GetConnectionOutput, error) {
	return &apigatewaymanagementapi.GetConnectionOutput{}, nil
}

func (c sleepClient) DeleteConnection(context.Context, *apigatewaymanagementapi.DeleteConnectionInput, ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.DeleteConnectionOutput, error) {
	return &apigatewaymanagementapi.DeleteConnectionOutput{}, nil
}

// sampleHeap samples the live heap every 2ms until the returned
// function is called, which returns the peak.
func sampleHeap() func() uint64 {
	done := make(chan struct{})
	var peak uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// BenchmarkSend compares one Send through each kind of Client (direct, the
// default, and the real SDK client) over HTTPS with SigV4 to a local
// management API; ns/op and allocs/op include the in-process server's share.
//
//	go test -run '^$' -bench 'Send$' -benchmem ./sender
func BenchmarkSend(b *testing.B) {
	testCredentials(b)
	for _, kind := range clientKinds {
		b.Run(kind, func(b *testing.B) {
			api := newMgmtAPITLS(b, "prod", 0)
			api.quiet = true
			s := newClient(b, kind, api.endpoint(), nil)
			ctx := context.Background()
			data := []byte(`{"action":"message","text":"hello, everyone"}`)
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Send(ctx, "R1kmxc2VNjMCFIA=", data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
