//go:build linux

package integration

import (
	"context"
	"errors"
	"fmt"
	"github.com/lambdaws/lambdaws/internal/testenv"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/coder/websocket"
)

// The load test's size: loadClients clients in loadChannels channels of
// loadClients/loadChannels members, each publishing loadMessages lines, so
// each line reaches the other members of its channel.
const (
	loadClients  = 500
	loadChannels = 50
	loadMessages = 20

	perChannel     = loadClients / loadChannels
	loadPublished  = loadClients * loadMessages
	loadDeliveries = loadPublished * (perChannel - 1)
)

// TestLoad runs loadClients concurrent clients on the chat example (a
// separate process, in-memory store) and checks that every line reaches
// every other member of its channel exactly once (in any order: as on AWS,
// the messages of one connection are invoked concurrently), and nothing else
// arrives; then that after all clients closed every
// connection is gone to the management API (410) and the process is back to
// its open file and goroutine counts. It reports the process's peak memory.
func TestLoad(t *testing.T) {
	testenv.Integration(t, "the example chat")
	p := startExample(t, "chat-norace", nil, "-pprof", "127.0.0.1:0")
	m, err := p.waitLog(regexp.MustCompile(`profiles at (http://\S+/debug/pprof/)`), 1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pprofURL := m[0][1]
	pid := p.cmd.Process.Pid
	ctx := testContext(t, 3*time.Minute)

	// Warm up the sender's HTTP connection pool with one full channel, so that
	// the baseline counts include the idle keep-alive connections the
	// management API client keeps (up to its broadcast concurrency).
	warm := make([]*client, perChannel)
	for i := range warm {
		warm[i] = dial(t, ctx, fmt.Sprintf("warm%d", i), p.URL, nil)
		if m := warm[i].next(); !strings.HasPrefix(m, "welcome, ") { // the chat's AfterConnect
			t.Fatalf("warm%d: first message %q, want the welcome", i, m)
		}
	}
	for _, c := range warm {
		c.send(ctx, "warm-up")
	}
	for _, c := range warm {
		for range perChannel - 1 {
			c.next()
		}
	}
	for _, c := range warm {
		c.conn.CloseNow() // the reader goroutine is still reading: no close handshake to wait for
	}
	if _, err := p.waitLog(disconnectLine, perChannel, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	baseFDs, baseGoroutines := openFDs(t, pid), goroutines(t, pprofURL)
	t.Logf("baseline: %d open files, %d goroutines", baseFDs, baseGoroutines)

	// Connect everyone, name them and put them in their channels.
	start := time.Now()
	clients := make([]*loadClient, loadClients)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50) // dials in flight
	errs := make(chan error, loadClients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := newLoadClient(ctx, p.URL, i)
			if err != nil {
				errs <- err
				return
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range clients {
			c.conn.CloseNow()
		}
	})
	connected := time.Since(start)

	// Everyone publishes at once; everyone reads until it has every line
	// meant for it.
	start = time.Now()
	var delivered atomic.Int64
	errs = make(chan error, loadClients)
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range loadMessages {
				sentAt[c.index][j].Store(time.Now().UnixNano())
				if err := c.conn.Write(ctx, websocket.MessageText, []byte("m"+strconv.Itoa(j))); err != nil {
					errs <- fmt.Errorf("%s: send: %w", c.nick, err)
					return
				}
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.receive(ctx, &delivered); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	// Nothing more arrives: a command's reply is the next message of each.
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.barrier(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := delivered.Load(); got != loadDeliveries {
		t.Fatalf("%d deliveries, want %d", got, loadDeliveries)
	}
	var latencies []time.Duration
	for _, c := range clients {
		latencies = append(latencies, c.latencies...)
	}
	slices.Sort(latencies)
	p50, p99 := latencies[len(latencies)/2], latencies[len(latencies)*99/100]

	// Everyone leaves, with a close handshake (each Close waits for the
	// gateway's close frame).
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := c.conn.Close(websocket.StatusNormalClosure, "bye"); err != nil {
				t.Errorf("%s: close: %v", c.nick, err)
			}
		}()
	}
	wg.Wait()
	if _, err := p.waitLog(disconnectLine, perChannel+loadClients, time.Minute); err != nil {
		t.Fatal(err)
	}
	ids := p.connectedIDs()[perChannel:]
	if len(ids) != loadClients {
		t.Fatalf("%d connections logged, want %d", len(ids), loadClients)
	}
	api := managementClient(p.Addr)
	var notGone atomic.Int64
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			_, err := api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: &id})
			var gone *types.GoneException
			if !errors.As(err, &gone) {
				notGone.Add(1)
				t.Errorf("GetConnection %s after close: %v, want GoneException", id, err)
			}
		}()
	}
	wg.Wait()

	// The process is back to its baseline, give or take the idle connections
	// of the management API client's pool (at most 64, the broadcast
	// concurrency: 2 files and 3 goroutines each, both ends being in the
	// process), and in any case not in proportion to the clients.
	const pool = 64
	var fds, gs int
	deadline := time.Now().Add(15 * time.Second)
	for {
		fds, gs = openFDs(t, pid), goroutines(t, pprofURL)
		if fds <= baseFDs+2*pool+8 && gs <= baseGoroutines+3*pool+8 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("after all closed: %d open files (baseline %d), %d goroutines (baseline %d)", fds, baseFDs, gs, baseGoroutines)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	hwm, rss := procStatus(t, pid, "VmHWM"), procStatus(t, pid, "VmRSS")
	t.Logf("load: %d clients in %d channels of %d, %d lines each: %d published, %d deliveries (each exactly once); "+
		"connect+join %v, publish+deliver %v (%.0f deliveries/s), line latency p50 %v p99 %v; after close: all %d ids 410, %d open files (baseline %d), %d goroutines (baseline %d); "+
		"chat process (built without -race) peak RSS VmHWM %s, VmRSS %s",
		loadClients, loadChannels, perChannel, loadMessages, loadPublished, loadDeliveries,
		connected.Round(time.Millisecond), elapsed.Round(time.Millisecond), float64(loadDeliveries)/elapsed.Seconds(),
		p50.Round(time.Millisecond), p99.Round(time.Millisecond),
		len(ids)-int(notGone.Load()), fds, baseFDs, gs, baseGoroutines, hwm, rss)
}

var disconnectLine = regexp.MustCompile(`local: disconnect connectionId=`)

// sentAt holds when each client sent each line (Unix ns), for the latency
// of its deliveries.
var sentAt [loadClients][loadMessages]atomic.Int64

// loadClient is one client of the load test, named u<i>, in channel
// c<i mod loadChannels>.
type loadClient struct {
	conn      *websocket.Conn
	index     int
	nick      string
	channel   string
	got       map[string]uint32 // per sender: a bit per line received
	latencies []time.Duration   // from send to receipt, per line received
}

func newLoadClient(ctx context.Context, url string, i int) (*loadClient, error) {
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("client %d: dial: %w", i, err)
	}
	c := &loadClient{conn: conn, index: i, nick: "u" + strconv.Itoa(i), channel: "c" + strconv.Itoa(i%loadChannels), got: map[string]uint32{}}
	// The chat's AfterConnect welcome comes first, unasked.
	if _, got, err := conn.Read(ctx); err != nil || !strings.HasPrefix(string(got), "welcome, ") {
		return nil, fmt.Errorf("client %d: first message %q (%v), want the welcome", i, got, err)
	}
	for _, cmd := range [][2]string{
		{"/nick " + c.nick, "nickname set to [" + c.nick + "]"},
		{"/join " + c.channel, "joined #" + c.channel},
	} {
		if err := conn.Write(ctx, websocket.MessageText, []byte(cmd[0])); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", c.nick, cmd[0], err)
		}
		_, got, err := conn.Read(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", c.nick, cmd[0], err)
		}
		if string(got) != cmd[1] {
			return nil, fmt.Errorf("%s: %s: got %q, want %q", c.nick, cmd[0], got, cmd[1])
		}
	}
	return c, nil
}

// receive reads until every line meant for c arrived, checking each: from
// its channel, not its own, not a line it already got.
func (c *loadClient) receive(ctx context.Context, delivered *atomic.Int64) error {
	prefix := "#" + c.channel + " "
	for got := 0; got < (perChannel-1)*loadMessages; got++ {
		_, b, err := c.conn.Read(ctx)
		if err != nil {
			return fmt.Errorf("%s: read after %d lines: %w", c.nick, got, err)
		}
		rest, ok := strings.CutPrefix(string(b), prefix)
		from, text, ok2 := strings.Cut(rest, ": m")
		seq, err := strconv.Atoi(text)
		sender, err2 := strconv.Atoi(strings.TrimPrefix(from, "u"))
		if !ok || !ok2 || err != nil || err2 != nil || seq < 0 || seq >= loadMessages || sender < 0 || sender >= loadClients {
			return fmt.Errorf("%s in #%s: unexpected %q", c.nick, c.channel, b)
		}
		if from == c.nick {
			return fmt.Errorf("%s: received its own line %q", c.nick, b)
		}
		if c.got[from]&(1<<seq) != 0 {
			return fmt.Errorf("%s: from %s got line %d twice", c.nick, from, seq)
		}
		c.got[from] |= 1 << seq
		c.latencies = append(c.latencies, time.Since(time.Unix(0, sentAt[sender][seq].Load())))
		delivered.Add(1)
	}
	if len(c.got) != perChannel-1 {
		return fmt.Errorf("%s: lines from %d senders, want %d", c.nick, len(c.got), perChannel-1)
	}
	return nil
}

// barrier sends a command and fails if anything arrives before its reply.
func (c *loadClient) barrier(ctx context.Context) error {
	want := "nickname set to [" + c.nick + "]"
	if err := c.conn.Write(ctx, websocket.MessageText, []byte("/nick "+c.nick)); err != nil {
		return err
	}
	_, b, err := c.conn.Read(ctx)
	if err != nil {
		return fmt.Errorf("%s: barrier: %w", c.nick, err)
	}
	if string(b) != want {
		return fmt.Errorf("%s: extra message %q after all expected lines", c.nick, b)
	}
	return nil
}

// openFDs counts the open files of process pid.
func openFDs(t testing.TB, pid int) int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// goroutines reads the goroutine count from a pprof endpoint.
func goroutines(t testing.TB, pprofURL string) int {
	t.Helper()
	resp, err := http.Get(pprofURL + "goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	first, _, _ := strings.Cut(string(b), "\n")
	n, err := strconv.Atoi(strings.TrimPrefix(first, "goroutine profile: total "))
	if err != nil {
		t.Fatalf("goroutine profile: %q", first)
	}
	return n
}

// procStatus returns a field of /proc/PID/status, such as "123456 kB".
func procStatus(t testing.TB, pid int, field string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
