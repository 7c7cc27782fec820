// Package apigw builds the events an API Gateway WebSocket API sends to its
// Lambda integrations, field by field, from plain inputs. It is the one place
// that knows their shape: the local emulator, the GRIP transport and the test
// kit all build their events here.
//
// The shapes follow events captured from deployed APIs:
// ids like "R1kmxc2VNjMCFIA=", connectedAt and requestTimeEpoch in ms,
// requestTime in UTC Common Log Format, messageId on MESSAGE only, handshake
// headers and query parameters on CONNECT only, fixed stub headers plus
// disconnectStatusCode / disconnectReason on DISCONNECT, the authorizer's
// principalId and context on every event of a connection, and the stage
// variables on every event. It also holds the identity of the emulated
// resources (AccountID, Region) and Lambda's request ids (NewUUID).
package apigw

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// clf is the Common Log Format layout of requestContext.requestTime, always
// printed in UTC ("20/Jan/2024:11:55:08 +0000").
const clf = "02/Jan/2006:15:04:05 -0700"

// NewID returns an id shaped like API Gateway's connection, request and
// message ids: 16 characters of URL-safe base64 ending in "="
// ("R1kmxc2VNjMCFIA=", "VNRXVFJOywMF3-Q=").
func NewID() string {
	var b [11]byte
	rand.Read(b[:])
	return base64.URLEncoding.EncodeToString(b[:])
}

// AccountID is the AWS account of the emulated resources, in their ARNs.
const AccountID = "123456789012"

// Region is the caller's AWS region (AWS_REGION, else AWS_DEFAULT_REGION,
// else us-east-1), in the emulated resources' ARNs and as the functions see
// it.
func Region() string {
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return "us-east-1"
}

// NewUUID returns a random version 4 UUID, the shape of Lambda request ids.
func NewUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// APIID returns an API id for the local emulator: 10 lowercase letters and
// digits like a deployed API's ("gy415nuibc"), derived from seed (a stage's
// name, or a template's logical id) so that it is the same at every start.
func APIID(seed string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	sum := sha256.Sum256([]byte("lambdaws/local/" + seed))
	b := make([]byte, 10)
	for i := range b {
		b[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return string(b)
}

// wireNames restores the spelling clients send for headers that Go
// canonicalizes differently.
var wireNames = map[string]string{
	"Sec-Websocket-Key":        "Sec-WebSocket-Key",
	"Sec-Websocket-Version":    "Sec-WebSocket-Version",
	"Sec-Websocket-Extensions": "Sec-WebSocket-Extensions",
	"Sec-Websocket-Protocol":   "Sec-WebSocket-Protocol",
}

// ConnectHeaders returns the handshake headers of c as API Gateway passes
// them to $connect and the authorizer: the client's header (the WebSocket
// ones spelled as clients send them) with the headers the gateway sets:
// Host (host, the client's Host header), X-Forwarded-For (c.SourceIP after
// the entries of all the client's X-Forwarded-For lines), X-Forwarded-Port (the port of
// c.DomainName), X-Forwarded-Proto (proto, "http" or "https") and a new
// X-Amzn-Trace-Id.
func ConnectHeaders(c *Conn, header http.Header, host, proto string) map[string][]string {
	multi := make(map[string][]string, len(header)+5)
	for k, vs := range header {
		if n, ok := wireNames[k]; ok {
			k = n
		}
		multi[k] = append([]string(nil), vs...)
	}
	multi["Host"] = []string{host}
	// Several lines are one list in order (RFC 9110 section 5.3), as a
	// proxy combines them; the client's own entries stay first.
	var xff []string
	for _, v := range header.Values("X-Forwarded-For") {
		if v = strings.Trim(v, " \t,"); v != "" {
			xff = append(xff, v)
		}
	}
	multi["X-Forwarded-For"] = []string{strings.Join(append(xff, c.SourceIP), ", ")}
	_, port, _ := net.SplitHostPort(c.DomainName)
	multi["X-Forwarded-Port"] = []string{port}
	multi["X-Forwarded-Proto"] = []string{proto}
	var trace [12]byte
	rand.Read(trace[:])
	multi["X-Amzn-Trace-Id"] = []string{fmt.Sprintf("Root=1-%08x-%x", time.Now().Unix(), trace)}
	return multi
}

// Conn is what every event of one connection carries.
type Conn struct {
	ID          string    // requestContext.connectionId
	APIID       string    // requestContext.apiId
	Stage       string    // requestContext.stage
	DomainName  string    // requestContext.domainName, and Host on DISCONNECT
	SourceIP    string    // requestContext.identity.sourceIp
	UserAgent   string    // requestContext.identity.userAgent
	ConnectedAt time.Time // requestContext.connectedAt

	// Authorizer is requestContext.authorizer: the authorizer's principalId
	// and context. Nil for a connection without an authorizer.
	Authorizer map[string]any

	// StageVariables are the stage's variables, on every event.
	StageVariables map[string]string
}

// event returns the fields every event of c carries, with a new request id.
func (c *Conn) event(eventType, routeKey string) *events.APIGatewayWebsocketProxyRequest {
	now := time.Now()
	id := NewID()
	var auth any
	if c.Authorizer != nil {
		auth = c.Authorizer
	}
	return &events.APIGatewayWebsocketProxyRequest{
		StageVariables: c.StageVariables,
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			RouteKey:          routeKey,
			EventType:         eventType,
			ExtendedRequestID: id,
			RequestID:         id,
			RequestTime:       now.UTC().Format(clf),
			RequestTimeEpoch:  now.UnixMilli(),
			MessageDirection:  "IN",
			Stage:             c.Stage,
			ConnectedAt:       c.ConnectedAt.UnixMilli(),
			Identity:          events.APIGatewayRequestIdentity{SourceIP: c.SourceIP, UserAgent: c.UserAgent},
			DomainName:        c.DomainName,
			ConnectionID:      c.ID,
			APIID:             c.APIID,
			Authorizer:        auth,
		},
	}
}

// Connect returns the $connect event of c: header is the handshake's
// headers as the integration sees them (the caller adds what its gateway
// adds, such as X-Forwarded-For), query its query parameters. Both appear
// as single-value maps (the last value wins) and multi-value maps.
func Connect(c *Conn, header map[string][]string, query url.Values) *events.APIGatewayWebsocketProxyRequest {
	ev := c.event("CONNECT", "$connect")
	ev.Headers, ev.MultiValueHeaders = split(header)
	ev.QueryStringParameters, ev.MultiValueQueryStringParameters = split(query)
	return ev
}

// Message returns a MESSAGE event of c for a message routed to routeKey,
// with a new messageId.
func Message(c *Conn, routeKey, body string) *events.APIGatewayWebsocketProxyRequest {
	ev := c.event("MESSAGE", routeKey)
	ev.RequestContext.MessageID = NewID()
	ev.Body = body
	return ev
}

// Disconnect returns the $disconnect event of c for a connection closed
// with code and reason, with the stub headers API Gateway sends.
func Disconnect(c *Conn, code int, reason string) *events.APIGatewayWebsocketProxyRequest {
	ev := c.event("DISCONNECT", "$disconnect")
	ev.Headers = map[string]string{"Host": c.DomainName, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
	ev.MultiValueHeaders = map[string][]string{"Host": {c.DomainName}, "x-api-key": {""}, "X-Forwarded-For": {""}, "x-restapi": {""}}
	ev.RequestContext.DisconnectStatusCode = int64(code)
	ev.RequestContext.DisconnectReason = &reason
	return ev
}

// AuthorizerRequest is the event of a Lambda REQUEST authorizer on a
// WebSocket API's $connect route. Its JSON decodes into
// events.APIGatewayCustomAuthorizerRequestTypeRequest (requestContext's
// REST-only fields stay empty) or, for the connection's fields, into
// events.APIGatewayWebsocketProxyRequest.
type AuthorizerRequest struct {
	Type                            string                                        `json:"type"` // "REQUEST"
	MethodArn                       string                                        `json:"methodArn"`
	Headers                         map[string]string                             `json:"headers,omitempty"`
	MultiValueHeaders               map[string][]string                           `json:"multiValueHeaders,omitempty"`
	QueryStringParameters           map[string]string                             `json:"queryStringParameters,omitempty"`
	MultiValueQueryStringParameters map[string][]string                           `json:"multiValueQueryStringParameters,omitempty"`
	StageVariables                  map[string]string                             `json:"stageVariables,omitempty"`
	RequestContext                  events.APIGatewayWebsocketProxyRequestContext `json:"requestContext"`
}

// Authorizer returns the authorizer event for the $connect of c, whose
// Authorizer must still be nil. methodArn is
// arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/$connect.
func Authorizer(c *Conn, methodArn string, header map[string][]string, query url.Values) *AuthorizerRequest {
	ev := Connect(c, header, query)
	return &AuthorizerRequest{
		Type:                            "REQUEST",
		MethodArn:                       methodArn,
		Headers:                         ev.Headers,
		MultiValueHeaders:               ev.MultiValueHeaders,
		QueryStringParameters:           ev.QueryStringParameters,
		MultiValueQueryStringParameters: ev.MultiValueQueryStringParameters,
		StageVariables:                  ev.StageVariables,
		RequestContext:                  ev.RequestContext,
	}
}

// split returns m as a single-value map (the last value of each key) and a
// multi-value copy, or nil and nil when m is empty.
func split(m map[string][]string) (map[string]string, map[string][]string) {
	if len(m) == 0 {
		return nil, nil
	}
	single := make(map[string]string, len(m))
	multi := make(map[string][]string, len(m))
	for k, vs := range m {
		if len(vs) == 0 {
			continue
		}
		single[k] = vs[len(vs)-1]
		multi[k] = append([]string(nil), vs...)
	}
	return single, multi
}
