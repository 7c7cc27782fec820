package main

// The quota benchmark (make bench-quota, issues 20 and 30): broadcasts through a
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
// delivered exactly once. With -procs 4,8 the lambdaws clients also run as
// P processes that split the N ids (each its own pacer, as P Lambda
// execution environments), starting their broadcasts at one instant; a
// row's wall time is then the slowest one's and its CPU the sum:
//
//	go run ./internal/peerbench -quota 2000/1000:20000 -clients lambdaws -procs 1,4,8 -latency 10ms -concurrency 128

import (
	"bytes"
	"cmp"
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

// quotaHarness runs every client against each quota ("RATE/BURST:N"); the
// lambdaws clients also as P processes (each P of procs > 1) that split the
// N ids and start their broadcasts at the same instant, each with its own
// pacer, as P Lambda execution environments broadcasting at once would.
func quotaHarness(quotas, clients []string, latencyFlag string, procs []string) error {
	root, self, err := paths()
	if err != nil {
		return err
	}
	latency, err := time.ParseDuration(latencyFlag)
	if err != nil {
		return fmt.Errorf("-latency %q: %v", latencyFlag, err)
	}
	fmt.Printf("Stand-in latency %v per call; lambdaws Concurrency %d per process.\n\n", latency, *concurrencyFlag)
	fmt.Println("| client | processes | quota (rps/burst) | N | wall | limit (N−burst)/rate | wall / limit | calls answered 429 | ids delivered | lost | twice | CPU per send (sends only) | CPU per send (process) | peak RSS |")
	fmt.Println("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
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
			for _, pStr := range procs {
				p, err := strconv.Atoi(pStr)
				if err != nil || p < 1 {
					stop()
					return fmt.Errorf("-procs %q: want a positive number", pStr)
				}
				if p > 1 && c == "js-sdk-v3" {
					continue
				}
				res, err := runQuotaClients(root, self, c, p, n, endpoint, certFile, q, refill)
				if err != nil {
					stop()
					return err
				}
				got, err := count(endpoint, certFile)
				if err != nil {
					stop()
					return err
				}
				calls := got.posts + got.throttled
				fmt.Printf("| %s | %d | %s | %d | %.2f s | %.2f s | %.2f | %.1f %% (%d of %d) | %d | %d | %d | %.0f µs | %.0f µs | %.0f MB |\n",
					c, p, q, n, res.wall.Seconds(), limit.Seconds(), res.wall.Seconds()/limit.Seconds(),
					100*float64(got.throttled)/float64(max(calls, 1)), got.throttled, calls,
					got.ids, n-got.ids, got.dups, res.sendCPU.Seconds()/float64(n)*1e6, res.cpu.Seconds()/float64(n)*1e6, float64(res.maxRSSKiB)/1024)
			}
		}
		stop()
	}
	return nil
}

// quotaRun is what the p processes of one quota row took: the wall time
// from the start of the measured broadcasts to the last one's end, CPU time
// (of the sends alone, and of the whole processes) summed, and the largest
// peak RSS.
type quotaRun struct {
	wall, sendCPU, cpu time.Duration
	maxRSSKiB          int64
}

// runQuotaClients runs p processes of client c that split n ids; with p > 1
// they start their measured broadcasts at one instant (PEERBENCH_START),
// after their warm-ups and the bucket's refill.
func runQuotaClients(root, self, c string, p, n int, endpoint, certFile, q string, refill time.Duration) (quotaRun, error) {
	var run quotaRun
	warm := strconv.Itoa(quotaWarm)
	env := append(clientEnv(certFile), "PEERBENCH_QUOTA="+q)
	if p == 1 {
		env = append(env, "PEERBENCH_PAUSE="+(refill+100*time.Millisecond).String())
	} else {
		start := time.Now().Add(3*time.Second + refill)
		env = append(env, "PEERBENCH_START="+strconv.FormatInt(start.UnixNano(), 10))
	}
	cmds := make([]*exec.Cmd, p)
	outs := make([]bytes.Buffer, p)
	for i := range p {
		share := n / p
		if i < n%p {
			share++
		}
		offset := i*(n/p) + min(i, n%p)
		switch c {
		case "lambdaws", "lambdaws-nopacing":
			cmds[i] = exec.Command(self, "-client", c, "-concurrency", strconv.Itoa(*concurrencyFlag), "-endpoint", endpoint, strconv.Itoa(share), warm)
		case "js-sdk-v3":
			cmds[i] = exec.Command("node", filepath.Join(root, "tools", "bench", "promise_all.mjs"), endpoint, strconv.Itoa(n), message, warm)
		default:
			return run, fmt.Errorf("unknown client %q for -quota", c)
		}
		cmds[i].Env = append(env, "PEERBENCH_OFFSET="+strconv.Itoa(offset))
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], os.Stderr
		if err := cmds[i].Start(); err != nil {
			return run, err
		}
	}
	var firstErr error
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			firstErr = cmp.Or(firstErr, fmt.Errorf("%s: %v: %s", c, err, outs[i].Bytes()))
			continue
		}
		var res struct {
			WallS float64 `json:"wall_s"`
			CPUS  float64 `json:"cpu_s"`
		}
		if err := json.Unmarshal(outs[i].Bytes(), &res); err != nil {
			firstErr = cmp.Or(firstErr, fmt.Errorf("%s output %q: %v", c, outs[i].Bytes(), err))
			continue
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		run.wall = max(run.wall, time.Duration(res.WallS*float64(time.Second)))
		run.sendCPU += time.Duration(res.CPUS * float64(time.Second))
		run.cpu += time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
		run.maxRSSKiB = max(run.maxRSSKiB, ru.Maxrss)
	}
	return run, firstErr
}
