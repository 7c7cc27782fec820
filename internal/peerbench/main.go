// Command peerbench sends the same N PostToConnection calls to a local
// stand-in for the API Gateway management API through lambdaws and through the
// clients other projects use, each in its own process, and prints one
// Markdown table row per run: wall time, CPU time and peak RSS of the client
// process (and its CPU time during the sends alone, per send), and the wall
// time as a multiple of the latency limit.
//
//	go run ./internal/peerbench -n 1000,10000 -latency 0,10ms
//
// The stand-in (this program with -stub) serves HTTPS with a self-signed
// certificate on 127.0.0.1, HTTP/1.1 only, answers every POST with 200 after
// the given latency, and refuses unsigned requests. The clients:
//
//	lambdaws      sender Broadcast, default options (the direct HTTP path)
//	lambdaws-before  the same, from a peerbench binary built from an earlier
//	              commit (-before; scripts/bench-peers.sh builds it from $BEFORE)
//	lambdaws-sdk  sender Broadcast over an aws-sdk-go-v2 client (sender.New)
//	js-sdk-v3     tools/bench/promise_all.mjs: @aws-sdk/client-apigatewaymanagementapi,
//	              Promise.all over every id (the AWS chat sample's pattern);
//	              needs node and tools/node_modules (npm ci --prefix tools)
//	boto3         tools/bench/boto3_loop.py: a sequential post_to_connection
//	              loop; needs Debian's python3-boto3 (/usr/bin/python3)
//
// Every client trusts the stand-in's certificate through AWS_CA_BUNDLE or
// NODE_EXTRA_CA_CERTS and signs with the same static test credentials.
// Part of `make bench`, never of `make test`.
package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"

	"github.com/lambdaws/lambdaws/sender"
)

// concurrency is lambdaws's default Broadcast concurrency, the C of the
// latency limit ceil(N/C)×latency for the concurrent clients.
const concurrency = 64

// message is the payload every client sends.
const message = `{"action":"message","text":"hello, everyone"}`

func main() {
	var (
		stub     = flag.Bool("stub", false, "serve the management API stand-in (internal)")
		client   = flag.String("client", "", "run one Go client: lambdaws or lambdaws-sdk (internal)")
		endpoint = flag.String("endpoint", "", "management API endpoint for -client")
		ns       = flag.String("n", "1000,10000", "comma-separated numbers of connection ids")
		lats     = flag.String("latency", "0,10ms", "comma-separated per-call latencies of the stand-in")
		clients  = flag.String("clients", "lambdaws,lambdaws-sdk,js-sdk-v3,boto3", "comma-separated clients to run")
		before   = flag.String("before", "", "a peerbench binary built from an earlier commit: adds the client lambdaws-before, its lambdaws client")
		quota    = flag.String("quota", "", "run the quota benchmark instead: comma-separated RATE/BURST:N (see quota.go)")
		procs    = flag.String("procs", "1", "with -quota: comma-separated numbers P of lambdaws processes that split the N ids and broadcast at once")
	)
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("peerbench: ")
	switch {
	case *stub:
		serveStub()
	case *client != "":
		n, _ := strconv.Atoi(flag.Arg(0))
		warm, _ := strconv.Atoi(flag.Arg(1))
		runGoClient(*client, *endpoint, n, warm)
	case *quota != "":
		if err := quotaHarness(split(*quota), split(*clients), *lats, split(*procs)); err != nil {
			log.Fatal(err)
		}
	default:
		cs := split(*clients)
		if *before != "" {
			beforeBin = *before
			cs = append([]string{"lambdaws-before"}, cs...)
		}
		if err := harness(split(*ns), split(*lats), cs); err != nil {
			log.Fatal(err)
		}
	}
}

func split(s string) []string { return strings.Split(s, ",") }

// beforeBin is the -before binary.
var beforeBin string

// --- the stand-in -------------------------------------------------------------

// serveStub serves the stand-in on 127.0.0.1 and writes "URL CERTFILE" on
// stdout once it listens. GET /_count returns the number of signed POSTs
// received since the last /_count and resets it.
func serveStub() {
	latency, err := time.ParseDuration(os.Getenv("PEERBENCH_LATENCY"))
	if err != nil {
		log.Fatalf("PEERBENCH_LATENCY: %v", err)
	}
	cert, certPEM := selfSigned()
	certFile := filepath.Join(os.TempDir(), fmt.Sprintf("peerbench-%d.pem", os.Getpid()))
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		log.Fatal(err)
	}
	defer os.Remove(certFile)
	var posts, unsigned, throttled atomic.Int64
	bucket := quotaBucket()
	var seen delivered
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_count", func(w http.ResponseWriter, r *http.Request) {
		ids, dups := seen.reset()
		fmt.Fprintf(w, "%d %d %d %d %d", posts.Swap(0), unsigned.Swap(0), throttled.Swap(0), ids, dups)
	})
	mux.HandleFunc("POST /prod/{at}/{id}", func(w http.ResponseWriter, r *http.Request) {
		ok := bucket == nil || bucket.Allow() // API Gateway counts a call when it arrives
		time.Sleep(latency)
		_, _ = io.Copy(io.Discard, r.Body)
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") || r.PathValue("at") != "@connections" {
			unsigned.Add(1)
			w.Header().Set("X-Amzn-ErrorType", "ForbiddenException")
			w.WriteHeader(http.StatusForbidden)
			return
		}
		if !ok {
			throttled.Add(1)
			w.Header().Set("X-Amzn-ErrorType", "LimitExceededException")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		posts.Add(1)
		seen.add(r.PathValue("id"))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{
		Handler:      mux,
		TLSConfig:    &tls.Config{Certificates: []tls.Certificate{cert}},
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}, // HTTP/1.1, as every client here speaks
	}
	fmt.Printf("https://%s/prod %s\n", ln.Addr(), certFile)
	go func() { // the harness closes stdin to stop the stand-in
		_, _ = io.Copy(io.Discard, os.Stdin)
		srv.Close()
	}()
	if err := srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

func selfSigned() (tls.Certificate, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "peerbench"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// --- the Go clients -------------------------------------------------------------

// runGoClient broadcasts message to warm ids, then to n ids, and prints
// {"wall_s": …, "cpu_s": …} for the second: the time from the first send to
// the last answer and the CPU time the process used meanwhile. Every client
// warms up the same way first, as a warm Lambda container would be: AWS
// configuration loaded, keep-alive connections open.
func runGoClient(kind, endpoint string, n, warm int) {
	ctx := context.Background()
	var s *sender.Client
	switch kind {
	case "lambdaws", "lambdaws-nopacing":
		s = sender.NewForEndpoint(endpoint, &sender.Options{Concurrency: *concurrencyFlag, DisablePacing: kind == "lambdaws-nopacing"})
	case "lambdaws-sdk":
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			log.Fatal(err)
		}
		// As lambdaws built it before the direct path: 64 idle connections.
		bc, _ := cfg.HTTPClient.(*awshttp.BuildableClient)
		if bc == nil { // no CA bundle configured (as on Lambda): the SDK's default
			bc = awshttp.NewBuildableClient()
		}
		hc := bc.WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConnsPerHost, t.MaxIdleConns = concurrency, 100
		})
		s = sender.New(apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
			o.BaseEndpoint = aws.String(endpoint)
			o.HTTPClient = hc
		}), nil)
	default:
		log.Fatalf("unknown client %q", kind)
	}
	offset, _ := strconv.Atoi(os.Getenv("PEERBENCH_OFFSET")) // of this process's ids, when several share a quota
	ids := func(prefix string, n int) iter.Seq2[string, error] {
		return func(yield func(string, error) bool) {
			for i := range n {
				if !yield(prefix+strconv.Itoa(offset+i)+"=", nil) {
					return
				}
			}
		}
	}
	if _, err := s.Broadcast(ctx, ids("warm-", warm), []byte(message), nil); err != nil {
		log.Fatal(err)
	}
	pause()
	if ns, err := strconv.ParseInt(os.Getenv("PEERBENCH_START"), 10, 64); err == nil {
		time.Sleep(time.Until(time.Unix(0, ns))) // with the other processes of a -procs run
	}
	if f := os.Getenv("PEERBENCH_CPUPROFILE"); f != "" { // for looking into a client
		out, err := os.Create(f)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(out); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	cpu0 := cpuTime()
	start := time.Now()
	res, err := s.Broadcast(ctx, ids("conn-", n), []byte(message), nil)
	wall := time.Since(start)
	cpu := cpuTime() - cpu0
	if err != nil || res.Sent != n && os.Getenv("PEERBENCH_QUOTA") == "" {
		log.Panicf("Broadcast = %+v, %v", res, err)
	}
	fmt.Printf(`{"wall_s": %.6f, "cpu_s": %.6f, "failed": %d}`+"\n", wall.Seconds(), cpu.Seconds(), res.Failed)
}

// cpuTime returns the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		log.Fatal(err)
	}
	return time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
}

// --- the harness ------------------------------------------------------------------

type row struct {
	client     string
	pattern    string
	n          int
	latency    time.Duration
	wall, cpu  time.Duration // cpu: the whole process, from its rusage
	sendCPU    time.Duration // CPU time during the sends, as the client measured it
	maxRSSKiB  int64
	limit      time.Duration
	sequential bool
}

func harness(ns, lats, clients []string) error {
	root, self, err := paths()
	if err != nil {
		return err
	}
	fmt.Println("| client | pattern | N | latency | wall | CPU (process) | CPU per send (sends only) | peak RSS | wall / limit |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, l := range lats {
		latency, err := time.ParseDuration(l)
		if err != nil && l != "0" {
			return fmt.Errorf("-latency %q: %v", l, err)
		}
		stop, endpoint, certFile, err := startStub(self, latency)
		if err != nil {
			return err
		}
		for _, nStr := range ns {
			n, err := strconv.Atoi(nStr)
			if err != nil {
				stop()
				return fmt.Errorf("-n %q: %v", nStr, err)
			}
			for _, c := range clients {
				r, err := runClient(root, self, c, endpoint, certFile, n, latency)
				if err != nil {
					stop()
					return fmt.Errorf("%s, N=%d, latency %v: %w", c, n, latency, err)
				}
				printRow(r)
			}
		}
		stop()
	}
	return nil
}

func printRow(r row) {
	ratio := "–"
	if r.limit > 0 {
		ratio = fmt.Sprintf("%.2f", r.wall.Seconds()/r.limit.Seconds())
		if r.sequential {
			ratio += " (of N×latency)"
		}
	}
	fmt.Printf("| %s | %s | %d | %v | %.3f s | %.3f s | %.0f µs | %.0f MB | %s |\n",
		r.client, r.pattern, r.n, r.latency, r.wall.Seconds(), r.cpu.Seconds(),
		float64(r.sendCPU.Microseconds())/float64(r.n), float64(r.maxRSSKiB)/1024, ratio)
}

// startStub starts the stand-in as a separate process, with env added to
// its environment.
func startStub(self string, latency time.Duration, env ...string) (stop func(), endpoint, certFile string, err error) {
	cmd := exec.Command(self, "-stub")
	cmd.Env = append(append(os.Environ(), "PEERBENCH_LATENCY="+latency.String()), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, "", "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", "", err
	}
	stop = func() {
		stdin.Close()
		_ = cmd.Wait()
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) != 2 {
		stop()
		return nil, "", "", fmt.Errorf("stand-in did not start: %q, %v", line, err)
	}
	return stop, f[0], f[1], nil
}

// runClient runs one client process and reads its rusage.
func runClient(root, self, client, endpoint, certFile string, n int, latency time.Duration) (row, error) {
	r := row{client: client, n: n, latency: latency, limit: time.Duration((n+concurrency-1)/concurrency) * latency}
	warm := strconv.Itoa(2 * concurrency)
	var cmd *exec.Cmd
	switch client {
	case "lambdaws", "lambdaws-sdk":
		r.pattern = "Broadcast, Concurrency 64"
		if client == "lambdaws-sdk" {
			r.client = "lambdaws (SDK client)"
		}
		cmd = exec.Command(self, "-client", client, "-endpoint", endpoint, strconv.Itoa(n), warm)
	case "lambdaws-before":
		r.client, r.pattern = "lambdaws before (-before)", "Broadcast, Concurrency 64"
		cmd = exec.Command(beforeBin, "-client", "lambdaws", "-endpoint", endpoint, strconv.Itoa(n), warm)
	case "js-sdk-v3":
		r.client, r.pattern = "AWS JS SDK v3", "Promise.all over all ids"
		cmd = exec.Command("node", filepath.Join(root, "tools", "bench", "promise_all.mjs"), endpoint, strconv.Itoa(n), message, warm)
	case "boto3":
		r.pattern, r.sequential = "sequential loop", true
		r.limit = time.Duration(n) * latency
		cmd = exec.Command("/usr/bin/python3", filepath.Join(root, "tools", "bench", "boto3_loop.py"), endpoint, strconv.Itoa(n), message, warm)
	default:
		return r, fmt.Errorf("unknown client %q", client)
	}
	cmd.Env = clientEnv(certFile)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return r, fmt.Errorf("%v: %s", err, out)
	}
	var res struct {
		WallS float64 `json:"wall_s"`
		CPUS  float64 `json:"cpu_s"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return r, fmt.Errorf("client output %q: %v", out, err)
	}
	r.wall = time.Duration(res.WallS * float64(time.Second))
	r.sendCPU = time.Duration(res.CPUS * float64(time.Second))
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	r.cpu = time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
	r.maxRSSKiB = ru.Maxrss
	posts, err := count(endpoint, certFile)
	if err != nil {
		return r, err
	}
	if want := n + 2*concurrency; posts.posts != want || posts.unsigned != 0 {
		return r, fmt.Errorf("stand-in received %d signed and %d unsigned POSTs, want %d signed", posts.posts, posts.unsigned, want)
	}
	return r, nil
}

// counts is what the stand-in received since the last count: signed POSTs
// answered 200, unsigned ones, throttled ones (429), the distinct measured
// ids ("conn-N=") answered 200, and those answered 200 more than once.
type counts struct{ posts, unsigned, throttled, ids, dups int }

// clientEnv is the environment of a client process: static test
// credentials, and trust in the stand-in's certificate.
func clientEnv(certFile string) []string {
	return append(os.Environ(),
		"AWS_ACCESS_KEY_ID=AKIDPEERBENCH", "AWS_SECRET_ACCESS_KEY=secret", "AWS_REGION=eu-west-1",
		"AWS_DEFAULT_REGION=eu-west-1", "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CA_BUNDLE="+certFile, "NODE_EXTRA_CA_CERTS="+certFile,
		"AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true") // node 20 is Debian's
}

// count asks the stand-in what it received, and resets it.
func count(endpoint, certFile string) (c counts, err error) {
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		return c, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get(strings.TrimSuffix(endpoint, "/prod") + "/_count")
	if err != nil {
		return c, err
	}
	defer resp.Body.Close()
	_, err = fmt.Fscan(resp.Body, &c.posts, &c.unsigned, &c.throttled, &c.ids, &c.dups)
	return c, err
}

// paths returns the repository's root and this program's executable.
func paths() (root, self string, err error) {
	if root, err = repoRoot(); err != nil {
		return "", "", err
	}
	self, err = os.Executable()
	return root, self, err
}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}
