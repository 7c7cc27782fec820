package ws

import (
	"context"
	"errors"
	"iter"
	"os"
	"time"

	"github.com/lambdaws/lambdaws/sender"
)

// Sender delivers the messages that [SendMessage], [Reply], [Close], [Info]
// and [Broadcast] send. *sender.Client (the API Gateway management API) is
// the usual one; package grip and tests supply others.
//
// The Sender used for ctx is the one put in ctx by [ContextWithSender], else
// the [Router.Sender] of the handler serving ctx, else a *sender.Client for
// the endpoint of that handler's event ([sender.ResolveEndpoint]) or, outside
// a handler, for WEBSOCKET_API_GATEWAY_ENDPOINT.
type Sender interface {
	Send(ctx context.Context, connectionID string, data []byte) error
	Close(ctx context.Context, connectionID string) error
	Info(ctx context.Context, connectionID string) (*sender.Info, error)
	Broadcast(ctx context.Context, ids iter.Seq2[string, error], data []byte, opts *sender.BroadcastOptions) (sender.Result, error)
}

// errNoSender is returned by the sending functions when no [Sender] is found
// for ctx: it is not a handler's context, has no ContextWithSender, and
// WEBSOCKET_API_GATEWAY_ENDPOINT is not set.
var errNoSender = errors.New("ws: no Sender: call from a handler's context, " +
	"set WEBSOCKET_API_GATEWAY_ENDPOINT, or use ws.ContextWithSender")

// SendMessage sends data to a connection: a []byte as is, a string as
// UTF-8, a json.RawMessage as is, anything else as JSON. From a handler's
// context it needs no configuration: the management API endpoint is found
// from the event (see sender.ResolveEndpoint). From any other context (an SQS
// or scheduled Lambda) it uses WEBSOCKET_API_GATEWAY_ENDPOINT. [Sender] says
// how a Sender is chosen for ctx.
//
// Errors match sender.ErrGone (the connection is closed: forget it),
// sender.ErrThrottled, sender.ErrTooLarge and sender.ErrForbidden.
func SendMessage(ctx context.Context, connectionID string, data any) error {
	s, err := senderFrom(ctx)
	if err != nil {
		return err
	}
	b, err := sender.Encode(data)
	if err != nil {
		return err
	}
	start := time.Now()
	err = s.Send(ctx, connectionID, b)
	recordSend(ctx, err, time.Since(start))
	return err
}

// Reply sends data to the connection whose event the handler of ctx is
// serving. It is SendMessage(ctx, req.ConnectionID, data); from $connect it
// fails with sender.ErrGone, as API Gateway has not opened the connection yet.
func Reply(ctx context.Context, data any) error {
	req, ok := RequestFromContext(ctx)
	if !ok {
		return errors.New("ws: Reply outside a handler's context")
	}
	return SendMessage(ctx, req.ConnectionID, data)
}

// Close disconnects a connection; its $disconnect handler runs afterwards.
func Close(ctx context.Context, connectionID string) error {
	s, err := senderFrom(ctx)
	if err != nil {
		return err
	}
	return s.Close(ctx, connectionID)
}

// Info returns when a connection was opened and last active, and its
// client's address and user agent.
func Info(ctx context.Context, connectionID string) (*sender.Info, error) {
	s, err := senderFrom(ctx)
	if err != nil {
		return nil, err
	}
	return s.Info(ctx, connectionID)
}

// Broadcast sends data, encoded as by SendMessage, to every connection ids
// yields, with bounded concurrency, and counts the outcome; see
// sender.Client.Broadcast. ids is typically a connstore listing.
func Broadcast(ctx context.Context, ids iter.Seq2[string, error], data any, opts *sender.BroadcastOptions) (sender.Result, error) {
	s, err := senderFrom(ctx)
	if err != nil {
		return sender.Result{}, err
	}
	b, err := sender.Encode(data)
	if err != nil {
		return sender.Result{}, err
	}
	start := time.Now()
	res, err := s.Broadcast(ctx, ids, b, opts)
	recordBroadcast(ctx, res, time.Since(start))
	return res, err
}

// outside sends for contexts that are not a handler's, one client per
// WEBSOCKET_API_GATEWAY_ENDPOINT value.
var outside sender.Pool

type senderKey struct{}

// ContextWithSender returns a context in which SendMessage, Reply, Close,
// Info and Broadcast use s, whatever the router's Sender: for sending from
// outside a handler (a worker, an SQS consumer) through a chosen Sender, and
// for transports that serve a Router without API Gateway (package grip).
func ContextWithSender(ctx context.Context, s Sender) context.Context {
	return context.WithValue(ctx, senderKey{}, s)
}

// senderFrom finds the Sender for ctx, as documented on [Sender].
func senderFrom(ctx context.Context) (Sender, error) {
	if s, ok := ctx.Value(senderKey{}).(Sender); ok {
		return s, nil
	}
	if req, ok := RequestFromContext(ctx); ok {
		return req.router.senderFor(req)
	}
	if ep := os.Getenv("WEBSOCKET_API_GATEWAY_ENDPOINT"); ep != "" {
		return outside.Get(ep), nil
	}
	return nil, errNoSender
}

func (r *Router) senderFor(req *Request) (Sender, error) {
	if r.Sender != nil {
		return r.Sender, nil
	}
	ep := sender.ResolveEndpoint(req.Event.RequestContext)
	if ep == "" {
		return nil, errNoSender
	}
	return r.pool.Get(ep), nil
}
