package wstest

import (
	"context"
	"iter"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/lambdaws/lambdaws/sender"
)

// A Recorder is a [ws.Sender] that records what handlers send instead of
// calling API Gateway. Install it as a Router's Sender, or with
// ws.ContextWithSender for code outside handlers. Its errors are those of a
// *sender.Client (match them with errors.Is against sender.ErrGone and
// sender.ErrThrottled), and it does not retry. A Recorder is safe for
// concurrent use; its zero value is not ready: use [NewRecorder].
type Recorder struct {
	client *sender.Client
	api    *recorderAPI
}

// NewRecorder returns a Recorder to which every connection is live.
func NewRecorder() *Recorder {
	api := &recorderAPI{
		sent:      map[string][]string{},
		gone:      map[string]bool{},
		closed:    map[string]bool{},
		throttled: map[string]int{},
	}
	return &Recorder{client: sender.New(api, &sender.Options{MaxAttempts: 1}), api: api}
}

// Messages returns the messages sent to a connection, oldest first.
func (r *Recorder) Messages(connectionID string) []string {
	r.api.mu.Lock()
	defer r.api.mu.Unlock()
	return append([]string(nil), r.api.sent[connectionID]...)
}

// Closed reports whether the connection was closed with Close.
func (r *Recorder) Closed(connectionID string) bool {
	r.api.mu.Lock()
	defer r.api.mu.Unlock()
	return r.api.closed[connectionID]
}

// MarkGone makes the connection gone: later sends, closes and infos fail
// with sender.ErrGone, as for a client that disconnected.
func (r *Recorder) MarkGone(connectionID string) {
	r.api.mu.Lock()
	defer r.api.mu.Unlock()
	r.api.gone[connectionID] = true
}

// MarkThrottled makes the next n sends to the connection fail with
// sender.ErrThrottled, as when API Gateway answers 429; later ones succeed.
func (r *Recorder) MarkThrottled(connectionID string, n int) {
	r.api.mu.Lock()
	defer r.api.mu.Unlock()
	r.api.throttled[connectionID] = n
}

// Send records data as a message to the connection.
func (r *Recorder) Send(ctx context.Context, connectionID string, data []byte) error {
	return r.client.Send(ctx, connectionID, data)
}

// Close records that the connection was closed; it is gone afterwards.
func (r *Recorder) Close(ctx context.Context, connectionID string) error {
	return r.client.Close(ctx, connectionID)
}

// Info returns zero times and addresses for a live connection.
func (r *Recorder) Info(ctx context.Context, connectionID string) (*sender.Info, error) {
	return r.client.Info(ctx, connectionID)
}

// Broadcast sends data to every id as sender.Client.Broadcast does, with the
// same accounting of gone and failed connections.
func (r *Recorder) Broadcast(ctx context.Context, ids iter.Seq2[string, error], data []byte, opts *sender.BroadcastOptions) (sender.Result, error) {
	return r.client.Broadcast(ctx, ids, data, opts)
}

// recorderAPI is the management API a Recorder's client calls.
type recorderAPI struct {
	mu        sync.Mutex
	sent      map[string][]string
	gone      map[string]bool
	closed    map[string]bool
	throttled map[string]int
}

// check returns the error API Gateway would answer for the connection.
func (a *recorderAPI) check(id string, send bool) error {
	switch {
	case a.gone[id] || a.closed[id]:
		return &types.GoneException{Message: aws.String("wstest: connection " + id + " is gone")}
	case send && a.throttled[id] > 0:
		a.throttled[id]--
		return &types.LimitExceededException{Message: aws.String("wstest: connection " + id + " is throttled")}
	}
	return nil
}

func (a *recorderAPI) PostToConnection(_ context.Context, in *apigatewaymanagementapi.PostToConnectionInput, _ ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.PostToConnectionOutput, error) {
	id := aws.ToString(in.ConnectionId)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.check(id, true); err != nil {
		return nil, err
	}
	a.sent[id] = append(a.sent[id], string(in.Data))
	return &apigatewaymanagementapi.PostToConnectionOutput{}, nil
}

func (a *recorderAPI) GetConnection(_ context.Context, in *apigatewaymanagementapi.GetConnectionInput, _ ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.GetConnectionOutput, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.check(aws.ToString(in.ConnectionId), false); err != nil {
		return nil, err
	}
	return &apigatewaymanagementapi.GetConnectionOutput{}, nil
}

func (a *recorderAPI) DeleteConnection(_ context.Context, in *apigatewaymanagementapi.DeleteConnectionInput, _ ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.DeleteConnectionOutput, error) {
	id := aws.ToString(in.ConnectionId)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.check(id, false); err != nil {
		return nil, err
	}
	a.closed[id] = true
	return &apigatewaymanagementapi.DeleteConnectionOutput{}, nil
}
