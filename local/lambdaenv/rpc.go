package lambdaenv

import (
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/lambdaws/lambdaws/internal/apigw"
	"github.com/lambdaws/lambdaws/internal/logs"
)

// An rpcProcess is an environment running a binary as AWS's go1.x runtime
// did: the process serves aws-lambda-go's net/rpc service "Function" on the
// loopback port _LAMBDA_SERVER_PORT, and each invocation is a call of
// Function.Invoke.
type rpcProcess struct {
	*child   // nil if it did not start
	port     int
	client   *rpcClient // nil until the process answered Function.Ping
	stopOnce sync.Once
}

// rpcLimit is how many bytes one invocation's answer may take on the
// connection: Lambda's response limit, plus room for gob's framing and
// type descriptions and for an error's type and stack trace. A response
// over maxResponse but within rpcLimit is refused once decoded.
const rpcLimit = maxResponse + 64<<10

// An rpcClient is a client of the process's Function service.
type rpcClient struct {
	*rpc.Client
	conn *limitedConn
}

// A limitedConn is the client's connection: reads fail with errTooLarge
// once left bytes were read, so that a response over the limit is refused
// as it arrives instead of being decoded whole (gob takes messages up to
// 1 GiB).
type limitedConn struct {
	net.Conn
	left atomic.Int64 // bytes the current invocation's answer may still take
	over atomic.Bool  // a read failed with errTooLarge
}

var errTooLarge = errors.New("lambdaenv: RPC response over the limit")

func (c *limitedConn) Read(p []byte) (int, error) {
	left := c.left.Load()
	if left <= 0 {
		c.over.Store(true)
		return 0, errTooLarge
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := c.Conn.Read(p)
	c.left.Add(-int64(n))
	return n, err
}

// rpcPorts are the ports given to RPC processes that have not been stopped:
// between reservePort closing its listener and the process listening on
// the port, the kernel may hand it out again.
var rpcPorts = struct {
	sync.Mutex
	m map[int]bool
}{m: map[int]bool{}}

// reservePort returns a free loopback port that no other RPC process of
// this program uses.
func reservePort() (int, error) {
	rpcPorts.Lock()
	defer rpcPorts.Unlock()
	for range 100 {
		// "localhost", as aws-lambda-go listens on localhost:PORT.
		ln, err := net.Listen("tcp", "localhost:0")
		if err != nil {
			return 0, fmt.Errorf("lambdaenv: a port for the RPC protocol: %w", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !rpcPorts.m[port] {
			rpcPorts.m[port] = true
			return port, nil
		}
	}
	return 0, errors.New("lambdaenv: no free port for the RPC protocol")
}

func releasePort(port int) {
	rpcPorts.Lock()
	defer rpcPorts.Unlock()
	delete(rpcPorts.m, port)
}

// startRPC starts a process of b with _LAMBDA_SERVER_PORT set and waits
// until it answers Function.Ping there.
func startRPC(f *Function, b *program) (environment, error) {
	port, err := reservePort()
	if err != nil {
		return nil, err
	}
	p := &rpcProcess{port: port}
	if p.child, err = startChild(f, b, "_LAMBDA_SERVER_PORT="+strconv.Itoa(port)); err != nil {
		p.stop()
		return nil, err
	}
	dialed := make(chan *rpcClient, 1)
	ready := make(chan struct{})
	gaveUp := make(chan struct{})
	go func() {
		c := p.dial(gaveUp)
		dialed <- c
		if c != nil {
			close(ready)
		}
	}()
	err = p.awaitInit(ready, nil, func() string { return "" }, func() string {
		return fmt.Sprintf("Runtime did not answer Function.Ping on _LAMBDA_SERVER_PORT (the go1.x runtime's RPC protocol) within %.2f seconds of starting", f.initTimeout.Seconds())
	})
	if err != nil {
		close(gaveUp)
		p.stop()
		if c := <-dialed; c != nil {
			c.Close()
		}
		return nil, err
	}
	p.client = <-dialed
	return p, nil
}

// dial connects to the process's port until Function.Ping answers, or
// returns nil once gaveUp is closed or the process exited.
func (p *rpcProcess) dial(gaveUp <-chan struct{}) *rpcClient {
	addr := net.JoinHostPort("localhost", strconv.Itoa(p.port))
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if conn, err := net.Dial("tcp", addr); err == nil {
			// The deadline bounds a Ping that a stranger on the port
			// would not answer; the next try comes soon enough.
			conn.SetDeadline(time.Now().Add(time.Second))
			lc := &limitedConn{Conn: conn}
			lc.left.Store(rpcLimit)
			c := rpc.NewClient(lc)
			if c.Call("Function.Ping", &messages.PingRequest{}, &messages.PingResponse{}) == nil {
				conn.SetDeadline(time.Time{})
				return &rpcClient{c, lc}
			}
			c.Close()
		}
		select {
		case <-tick.C:
		case <-gaveUp:
			return nil
		case <-p.exited:
			return nil
		}
	}
}

func (p *rpcProcess) invoke(payload []byte) ([]byte, bool, error) {
	f := p.f
	deadline := time.Now().Add(f.timeout)
	req := &messages.InvokeRequest{
		Payload:            payload,
		RequestId:          apigw.NewUUID(),
		XAmznTraceId:       newTraceID(),
		Deadline:           messages.InvokeRequest_Timestamp{Seconds: deadline.Unix(), Nanos: int64(deadline.Nanosecond())},
		InvokedFunctionArn: f.arn,
	}
	if !p.alive() {
		return nil, false, errStale
	}
	var resp messages.InvokeResponse
	p.client.conn.left.Store(rpcLimit)
	call := p.client.Go("Function.Invoke", req, &resp, make(chan *rpc.Call, 1))
	timer := time.NewTimer(f.timeout)
	defer timer.Stop()
	select {
	case <-call.Done:
	case <-p.exited:
		select {
		case <-call.Done: // answered, then exited
		default:
			return nil, false, p.exitError()
		}
	case <-timer.C:
		return nil, false, f.timedOut()
	case <-f.done:
		return nil, false, errClosed
	}
	switch {
	case errors.Is(call.Error, rpc.ErrShutdown):
		// The connection broke before the call: the process exited, or
		// closed it, while idle.
		return nil, false, errStale
	case p.client.conn.over.Load():
		f.log.Warn("lambdaenv: response over the limit; environment discarded", "limit", maxResponse)
		return nil, false, tooLarge()
	case call.Error != nil:
		return nil, false, p.broken(call.Error)
	case resp.Error != nil:
		err := handlerError(*resp.Error)
		if resp.Error.ShouldExit {
			// A panic: the go1.x runtime ended the process.
			f.log.Warn("lambdaenv: handler panicked; environment discarded", "panic", resp.Error.Message)
			return nil, false, err
		}
		return nil, p.alive(), err
	case len(resp.Payload) > maxResponse:
		return nil, p.alive(), tooLarge()
	}
	return resp.Payload, p.alive(), nil
}

// broken is the error of an invocation whose connection broke (it ended,
// or carried what is not an answer): the process's exit if it is exiting,
// else Runtime.Unknown. Either way the process is ended at once, not at the
// timeout.
func (p *rpcProcess) broken(err error) error {
	if p.alive() {
		// A process that exits closes its connection first; a kill now
		// does not change its exit status.
		killProcessGroup(p.cmd.Process)
	}
	<-p.exited
	var ee *exec.ExitError
	if errors.As(p.exitErr, &ee) && !ee.Exited() { // ended by a signal: the kill
		p.f.log.Warn("lambdaenv: the RPC connection broke during an invocation; environment discarded", logs.Error, err)
		return &InvokeError{Type: "Runtime.Unknown", Message: "Runtime's RPC connection broke during the invocation: " + err.Error()}
	}
	return p.exitError()
}

// stop kills the process and waits for it.
func (p *rpcProcess) stop() {
	p.stopOnce.Do(func() {
		if p.client != nil {
			p.client.Close()
		}
		if p.child != nil {
			p.kill()
		}
		releasePort(p.port)
	})
}
