//go:build unix

package local_test

import (
	"bufio"
	"context"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/lambdaws/lambdaws/internal/inspect"
	"github.com/lambdaws/lambdaws/local"
	"github.com/lambdaws/lambdaws/sender"
)

// cpuTime is the CPU time the process used so far, in user and system mode.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBroadcastInspector broadcasts a message through the management
// API (sender.Broadcast over HTTP) to 200 WebSocket clients of a local
// gateway and waits until every client read it: without an inspector, with
// one and no page open, and with one page following the event stream. The
// three run side by side. cpu-µs/send is the process's CPU time (client,
// gateway and 200 readers together) per message delivered, steadier than
// the wall time on a loaded machine:
//
//	go test -run '^$' -bench BroadcastInspector -count 5 ./local
func BenchmarkBroadcastInspector(b *testing.B) {
	b.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	b.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	b.Setenv("AWS_REGION", "us-east-1")
	b.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	b.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	const n = 200
	data := []byte(`{"action":"message","text":"hello, everyone"}`)
	for _, mode := range []string{"off", "on", "page"} {
		b.Run("inspector="+mode, func(b *testing.B) {
			var rec *inspect.Recorder
			if mode != "off" {
				rec = inspect.New()
			}
			ln, err := local.Listen("127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			served := make(chan error, 1)
			ids := make(chan string, n)
			go func() {
				served <- local.Serve(ctx, ln, func(ev event) (response, error) {
					if ev.RequestContext.EventType == "CONNECT" {
						ids <- ev.RequestContext.ConnectionID
					}
					return response{StatusCode: 200}, nil
				}, &local.Options{Logger: discard, Inspector: rec})
			}()
			addr := ln.Addr().String()
			var got sync.WaitGroup
			for range n {
				c, _, err := websocket.Dial(ctx, "ws://"+addr, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer c.CloseNow()
				go func() {
					for {
						if _, _, err := c.Read(ctx); err != nil {
							return
						}
						got.Done()
					}
				}()
			}
			list := make([]string, n)
			for i := range list {
				list[i] = <-ids
			}
			if mode == "page" {
				req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+inspect.Path+"/events", nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil || resp.StatusCode != 200 {
					b.Fatal(err, resp.StatusCode)
				}
				defer resp.Body.Close()
				go func() { // a page reading every event
					sc := bufio.NewScanner(resp.Body)
					sc.Buffer(nil, 1<<20)
					for sc.Scan() {
					}
				}()
			}
			s := sender.NewForEndpoint("http://"+addr+"/local", nil)
			all := func(yield func(string, error) bool) {
				for _, id := range list {
					if !yield(id, nil) {
						return
					}
				}
			}
			cpu0 := cpuTime()
			for b.Loop() {
				got.Add(n)
				if res, err := s.Broadcast(ctx, all, data, nil); err != nil || res.Sent != n {
					b.Fatalf("Broadcast = %+v, %v", res, err)
				}
				got.Wait()
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N*n), "cpu-µs/send")
			cancel()
			if err := <-served; err != nil {
				b.Fatal(err)
			}
		})
	}
}
