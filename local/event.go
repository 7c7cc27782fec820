package local

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// clf is the Common Log Format layout of requestContext.requestTime, always
// printed in UTC ("20/Jan/2024:11:55:08 +0000").
const clf = "02/Jan/2006:15:04:05 -0700"

// newID returns an id shaped like API Gateway's connection, request and
// message ids: 16 characters of URL-safe base64 ending in "="
// ("R1kmxc2VNjMCFIA=", "VNRXVFJOywMF3-Q=").
func newID() string {
	var b [11]byte
	rand.Read(b[:])
	return base64.URLEncoding.EncodeToString(b[:])
}

// newUUID returns a random version 4 UUID, the shape of Lambda request ids.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// event returns the fields every event of connection c carries.
func (g *Gateway) event(c *conn, eventType, routeKey string) *events.APIGatewayWebsocketProxyRequest {
	now := time.Now()
	id := newID()
	return &events.APIGatewayWebsocketProxyRequest{
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			RouteKey:          routeKey,
			EventType:         eventType,
			ExtendedRequestID: id,
			RequestID:         id,
			RequestTime:       now.UTC().Format(clf),
			RequestTimeEpoch:  now.UnixMilli(),
			MessageDirection:  "IN",
			Stage:             g.stage,
			ConnectedAt:       c.connectedAt.UnixMilli(),
			Identity:          events.APIGatewayRequestIdentity{SourceIP: c.sourceIP, UserAgent: c.userAgent},
			DomainName:        c.domain,
			ConnectionID:      c.id,
			APIID:             g.apiID,
		},
	}
}

// wireNames restores the spelling clients send for headers that Go
// canonicalizes differently.
var wireNames = map[string]string{
	"Sec-Websocket-Key":        "Sec-WebSocket-Key",
	"Sec-Websocket-Version":    "Sec-WebSocket-Version",
	"Sec-Websocket-Extensions": "Sec-WebSocket-Extensions",
	"Sec-Websocket-Protocol":   "Sec-WebSocket-Protocol",
}

// connectHeaders returns the handshake headers as API Gateway passes them on
// $connect: the client's headers plus Host and the X-Forwarded-* and
// X-Amzn-Trace-Id headers the gateway adds.
func connectHeaders(r *http.Request, sourceIP string) (map[string]string, map[string][]string) {
	multi := make(map[string][]string, len(r.Header)+5)
	for k, vs := range r.Header {
		if n, ok := wireNames[k]; ok {
			k = n
		}
		multi[k] = append([]string(nil), vs...)
	}
	multi["Host"] = []string{r.Host}
	xff := sourceIP
	if prev := r.Header.Values("X-Forwarded-For"); len(prev) > 0 {
		xff = prev[len(prev)-1] + ", " + sourceIP
	}
	multi["X-Forwarded-For"] = []string{xff}
	port := ""
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		_, port, _ = net.SplitHostPort(a.String())
	}
	multi["X-Forwarded-Port"] = []string{port}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	multi["X-Forwarded-Proto"] = []string{proto}
	var trace [12]byte
	rand.Read(trace[:])
	multi["X-Amzn-Trace-Id"] = []string{fmt.Sprintf("Root=1-%08x-%x", time.Now().Unix(), trace)}
	single := make(map[string]string, len(multi))
	for k, vs := range multi {
		single[k] = vs[len(vs)-1]
	}
	return single, multi
}

// disconnectHeaders are the fixed headers API Gateway puts on $disconnect.
func disconnectHeaders(host string) (map[string]string, map[string][]string) {
	return map[string]string{"Host": host, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""},
		map[string][]string{"Host": {host}, "x-api-key": {""}, "X-Forwarded-For": {""}, "x-restapi": {""}}
}

// invoke calls the handler as Lambda does: the event as JSON in, a JSON
// APIGatewayProxyResponse out, with a 29 s deadline and a Lambda context. A
// handler error, a panic, a timeout or output that is not JSON is an error.
// Invocations run one at a time, as in a single Lambda instance.
func (g *Gateway) invoke(ev *events.APIGatewayWebsocketProxyRequest) (resp events.APIGatewayProxyResponse, err error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return resp, fmt.Errorf("local: encoding event: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), integrationTimeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: newUUID()})
	type result struct {
		resp events.APIGatewayProxyResponse
		err  error
	}
	select {
	case g.instance <- struct{}{}:
	case <-ctx.Done():
		return resp, fmt.Errorf("local: integration timed out after %v waiting for the previous invocation", integrationTimeout)
	}
	done := make(chan result, 1)
	go func() {
		var res result
		defer func() {
			if p := recover(); p != nil {
				res.err = fmt.Errorf("local: handler panic: %v", p)
			}
			// Release only after decoding: aws-lambda-go's Invoke returns
			// a slice of a pooled buffer that the next Invoke reuses.
			<-g.instance
			done <- res
		}()
		out, err := g.h.Invoke(ctx, payload)
		if err != nil {
			res.err = err
			return
		}
		if err := json.Unmarshal(out, &res.resp); err != nil {
			res.err = fmt.Errorf("local: handler output is not an APIGatewayProxyResponse: %w", err)
		}
	}()
	select {
	case res := <-done:
		return res.resp, res.err
	case <-ctx.Done():
		return resp, fmt.Errorf("local: integration timed out after %v", integrationTimeout)
	}
}

// responseHeader finds a header of an integration response, ignoring case.
func responseHeader(resp *events.APIGatewayProxyResponse, name string) string {
	for k, v := range resp.Headers {
		if http.CanonicalHeaderKey(k) == http.CanonicalHeaderKey(name) {
			return v
		}
	}
	for k, vs := range resp.MultiValueHeaders {
		if http.CanonicalHeaderKey(k) == http.CanonicalHeaderKey(name) && len(vs) > 0 {
			return vs[len(vs)-1]
		}
	}
	return ""
}
