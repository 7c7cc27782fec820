package ws

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lambdaws/lambdaws/internal/emf"
	"github.com/lambdaws/lambdaws/sender"
)

// Request is one WebSocket event as a handler sees it.
type Request struct {
	// ConnectionID identifies the client connection; pass it to SendMessage.
	ConnectionID string
	// RouteKey is the route being served: "$connect", "$disconnect",
	// "$default" or a custom key, also when selected inside the function.
	RouteKey string
	// Body is the message, decoded from base64 when the event was encoded.
	// It is empty on $connect and $disconnect.
	Body []byte
	// Event is the raw API Gateway event.
	Event events.APIGatewayWebsocketProxyRequest

	router   *Router
	ctx      handlerContext    // the handler's context, in the same allocation
	headers  map[string]string // response headers
	response string            // response body
	metrics  *emf.Set          // this invocation's, nil without a namespace
	rejected bool              // answered by a Reject
}

type requestKey struct{}

// handlerContext is the invocation's context carrying the request, like
// context.WithValue(ctx, requestKey{}, req) but without its allocation.
type handlerContext struct {
	context.Context
	req *Request
}

func (c *handlerContext) Value(key any) any {
	if key == (requestKey{}) {
		return c.req
	}
	return c.Context.Value(key)
}

// RequestFromContext returns the request being served by the handler that
// owns ctx, as set by Router.Handler.
func RequestFromContext(ctx context.Context) (*Request, bool) {
	req, ok := ctx.Value(requestKey{}).(*Request)
	return req, ok
}

// DecodeJSON decodes the body into v. A body that is not JSON, or does not
// fit v, gives an error that, returned from the handler, answers 400.
func (r *Request) DecodeJSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return &rejectError{
			status: http.StatusBadRequest,
			reason: "invalid JSON body",
			cause:  fmt.Errorf("ws: decode body of route %q: %w", r.RouteKey, err),
		}
	}
	return nil
}

// Header returns the value of the named handshake header, matched
// case-insensitively; for a repeated header, the last value, as API
// Gateway's single-value map keeps (all are in Event.MultiValueHeaders).
// API Gateway sends headers only with $connect.
func (r *Request) Header(name string) string {
	if v, ok := r.Event.Headers[name]; ok {
		return v
	}
	for k, v := range r.Event.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	for k, v := range r.Event.MultiValueHeaders {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[len(v)-1]
		}
	}
	return ""
}

// Query returns the value of the named query string parameter of the
// connection URL; for a repeated parameter, the last value, as API Gateway's
// single-value map keeps (all are in Event.MultiValueQueryStringParameters).
// API Gateway sends the query only with $connect.
func (r *Request) Query(name string) string {
	if v, ok := r.Event.QueryStringParameters[name]; ok {
		return v
	}
	if v := r.Event.MultiValueQueryStringParameters[name]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

// Authorizer returns what the API's Lambda authorizer (one made with
// [Authorizer], say) returned at $connect: its principalId and context
// keys, from requestContext.authorizer, or nil without an authorizer. API
// Gateway repeats it on every later event of the connection.
func (r *Request) AuthorizerContext() map[string]any {
	m, _ := r.Event.RequestContext.Authorizer.(map[string]any)
	return m
}

// SourceIP returns the client's IP address.
func (r *Request) SourceIP() string { return r.Event.RequestContext.Identity.SourceIP }

// DisconnectStatus returns the WebSocket close code and reason of a
// $disconnect event, such as 1001 "Going away"; 0 and "" on other events.
func (r *Request) DisconnectStatus() (code int, reason string) {
	rc := &r.Event.RequestContext
	if rc.DisconnectReason != nil {
		reason = *rc.DisconnectReason
	}
	return int(rc.DisconnectStatusCode), reason
}

// SelectSubprotocol picks, from the subprotocols the client offered in its
// Sec-WebSocket-Protocol header, the first one that is among supported, and
// answers the handshake with it. Browsers abort a connection whose client
// offered subprotocols when the answer names none, so a $connect handler that
// gets "" should usually Reject. Call it from OnConnect.
func (r *Request) SelectSubprotocol(supported ...string) string {
	for _, offer := range strings.Split(r.Header("Sec-WebSocket-Protocol"), ",") {
		offer = strings.TrimSpace(offer)
		for _, s := range supported {
			if offer != "" && offer == s {
				r.SetHeader("Sec-WebSocket-Protocol", s)
				return s
			}
		}
	}
	return ""
}

// SetHeader sets a header of the response to this event. On $connect the
// headers reach the client in the handshake answer.
func (r *Request) SetHeader(name, value string) {
	if r.headers == nil {
		r.headers = make(map[string]string)
	}
	r.headers[name] = value
}

// Respond sets the response body of this event, encoded as SendMessage
// encodes data. API Gateway sends it to the client on a route with a route
// response (a two-way route) and drops it otherwise.
func (r *Request) Respond(data any) error {
	b, err := sender.Encode(data)
	if err != nil {
		return err
	}
	r.response = string(b)
	return nil
}
