package lambdaenv

import (
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/lambdaws/lambdaws/internal/apigw"
)

// An rpcProcess is an environment running a binary as AWS's go1.x runtime
// did: the process serves aws-lambda-go's net/rpc service "Function" on the
// loopback port _LAMBDA_SERVER_PORT, and each invocation is a call of
// Function.Invoke.
type rpcProcess struct {
	*child   // nil if it did not start
	port     int
	client   *rpc.Client // nil until the process answered Function.Ping
	stopOnce sync.Once
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
	dialed := make(chan *rpc.Client, 1)
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
func (p *rpcProcess) dial(gaveUp <-chan struct{}) *rpc.Client {
	addr := net.JoinHostPort("localhost", strconv.Itoa(p.port))
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if conn, err := net.Dial("tcp", addr); err == nil {
			// The deadline bounds a Ping that a stranger on the port
			// would not answer; the next try comes soon enough.
			conn.SetDeadline(time.Now().Add(time.Second))
			c := rpc.NewClient(conn)
			if c.Call("Function.Ping", &messages.PingRequest{}, &messages.PingResponse{}) == nil {
				conn.SetDeadline(time.Time{})
				return c
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
	case call.Error != nil:
		// The connection broke during the call: the process is exiting.
		select {
		case <-p.exited:
			return nil, false, p.exitError()
		case <-timer.C:
			return nil, false, f.timedOut()
		case <-f.done:
			return nil, false, errClosed
		}
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
