package main

// The quota benchmark (make bench-quota, issue 20): broadcasts through a
// stand-in that enforces API Gateway's account quota, a token bucket of
// RATE calls per second with a burst of BURST, answering 429 when it is
// empty, N ids each:
//
//	go run ./internal/peerbench -quota 2000/1000:20000,10000/5000:50000 \
//	    -clients lambdaws,lambdaws-nopacing,js-sdk-v3 -latency 10ms -concurrency 128
//
// Clients: lambdaws (Broadcast, pacing on), lambdaws-nopacing (the same
// with Options.DisablePacing: each 429 retried on its own with backoff, as
// Broadcast did before pacing) and js-sdk-v3 (Promise.all over every id,
// the SDK's default retries). Each warms up with 16 ids, then waits until
// the bucket is full again before the measured broadcast. The stand-in
// counts every id it answered 200, so a row says whether each id was
// delivered exactly once.

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/time/rate"
)

// concurrencyFlag is Options.Concurrency for the lambdaws clients.
var concurrencyFlag = flag.Int("concurrency", concurrency, "Options.Concurrency of the lambdaws clients")

// quotaWarm is the warm-up of the quota benchmark's clients.
const quotaWarm = 16

// quotaBucket returns the stand-in's bucket from PEERBENCH_QUOTA
// (RATE/BURST), or nil when it is not set.
func quotaBucket() *rate.Limiter {
	q := os.Getenv("PEERBENCH_QUOTA")
	if q == "" {
		return nil
	}
	r, b, err := parseQuota(q)
	if err != nil {
		log.Fatalf("PEERBENCH_QUOTA: %v", err)
	}
	return rate.NewLimiter(rate.Limit(r), b)
}

func parseQuota(q string) (perSecond float64, burst int, err error) {
	rs, bs, ok := strings.Cut(q, "/")
	if perSecond, err = strconv.ParseFloat(rs, 64); err != nil || !ok {
		return 0, 0, fmt.Errorf("quota %q: want RATE/BURST", q)
	}
	if burst, err = strconv.Atoi(bs); err != nil {
		return 0, 0, fmt.Errorf("quota %q: want RATE/BURST", q)
	}
	return perSecond, burst, nil
}

// pause sleeps for PEERBENCH_PAUSE, if set: the time the stand-in's bucket
// takes to refill after the warm-up.
func pause() {
	if d, err := time.ParseDuration(os.Getenv("PEERBENCH_PAUSE")); err == nil {
		time.Sleep(d)
	}
}

// delivered counts, per measured id ("conn-N="), the POSTs answered 200.
type delivered struct {
	mu sync.Mutex
	n  []uint8
}

func (d *delivered) add(id string) {
	i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(id, "conn-"), "="))
	if err != nil || !strings.HasPrefix(id, "conn-") {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.n) <= i {
		d.n = append(d.n, 0)
	}
	if d.n[i] < 255 {
		d.n[i]++
	}
}

// reset returns the number of ids answered 200 and of those answered 200
// more than once, and forgets them.
func (d *delivered) reset() (ids, dups int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.n {
		if c > 0 {
			ids++
		}
		if c > 1 {
			dups++
		}
	}
	d.n = nil
	return ids, dups
}

// quotaHarness runs every client against each quota ("RATE/BURST:N").
func quotaHarness(quotas, clients []string, latencyFlag string) error {
	root, self, err := paths()
	if err != nil {
		return err
	}
	latency, err := time.ParseDuration(latencyFlag)
	if err != nil {
		return fmt.Errorf("-latency %q: %v", latencyFlag, err)
	}
	fmt.Printf("Stand-in latency %v per call; lambdaws Concurrency %d.\n\n", latency, *concurrencyFlag)
	fmt.Println("| client | quota (rps/burst) | N | wall | limit (N−burst)/rate | wall / limit | calls answered 429 | ids delivered | lost | twice | CPU per send (sends only) | CPU per send (process) | peak RSS |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, qn := range quotas {
		q, nStr, ok := strings.Cut(qn, ":")
		n, err := strconv.Atoi(nStr)
		if !ok || err != nil {
			return fmt.Errorf("-quota %q: want RATE/BURST:N", qn)
		}
		perSecond, burst, err := parseQuota(q)
		if err != nil {
			return err
		}
		stop, endpoint, certFile, err := startStub(self, latency, "PEERBENCH_QUOTA="+q)
		if err != nil {
			return err
		}
		refill := time.Duration(float64(burst) / perSecond * float64(time.Second))
		limit := time.Duration(float64(max(n-burst, 0)) / perSecond * float64(time.Second))
		for _, c := range clients {
			var cmd *exec.Cmd
			warm := strconv.Itoa(quotaWarm)
			switch c {
			case "lambdaws", "lambdaws-nopacing":
				cmd = exec.Command(self, "-client", c, "-concurrency", strconv.Itoa(*concurrencyFlag), "-endpoint", endpoint, strconv.Itoa(n), warm)
			case "js-sdk-v3":
				cmd = exec.Command("node", filepath.Join(root, "tools", "bench", "promise_all.mjs"), endpoint, strconv.Itoa(n), message, warm)
			default:
				stop()
				return fmt.Errorf("unknown client %q for -quota", c)
			}
			cmd.Env = append(clientEnv(certFile), "PEERBENCH_QUOTA="+q, "PEERBENCH_PAUSE="+(refill+100*time.Millisecond).String())
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			if err != nil {
				stop()
				return fmt.Errorf("%s: %v: %s", c, err, out)
			}
			var res struct {
				WallS  float64 `json:"wall_s"`
				CPUS   float64 `json:"cpu_s"`
				Failed int     `json:"failed"`
			}
			if err := json.Unmarshal(out, &res); err != nil {
				stop()
				return fmt.Errorf("%s output %q: %v", c, out, err)
			}
			got, err := count(endpoint, certFile)
			if err != nil {
				stop()
				return err
			}
			ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			cpu := time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
			calls := got.posts + got.throttled
			fmt.Printf("| %s | %s | %d | %.2f s | %.2f s | %.2f | %.1f %% (%d of %d) | %d | %d | %d | %.0f µs | %.0f µs | %.0f MB |\n",
				c, q, n, res.WallS, limit.Seconds(), res.WallS/limit.Seconds(),
				100*float64(got.throttled)/float64(max(calls, 1)), got.throttled, calls,
				got.ids, n-got.ids, got.dups, res.CPUS/float64(n)*1e6, cpu.Seconds()/float64(n)*1e6, float64(ru.Maxrss)/1024)
		}
		stop()
	}
	return nil
}
