package wstest

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lambdaws/lambdaws/internal/afterconnect"
	"github.com/lambdaws/lambdaws/internal/apigw"
)

// eventDomain is the domainName of the events built here: a loopback
// address no server listens on, so that a handler's sends fail at once
// unless its Router has a Sender, such as a Recorder.
const eventDomain = "127.0.0.1:0"

// eventConn is the connection the events built here come from: a client on
// 127.0.0.1 of the stage "local", as the local emulator describes it.
func eventConn(id string, userAgent string) *apigw.Conn {
	return &apigw.Conn{
		ID:          id,
		APIID:       apigw.APIID("local"),
		Stage:       "local",
		DomainName:  eventDomain,
		SourceIP:    "127.0.0.1",
		UserAgent:   userAgent,
		ConnectedAt: time.Now(),
	}
}

// Connect returns the $connect event of a handshake of connection id, as API
// Gateway sends it, with what hs adds to the handshake (nil: nothing). Pass it to
// Router.Handler in table tests; a 2xx response accepts the handshake.
//
// The events built here come from stage "local" of a gateway at
// 127.0.0.1:0, where nothing listens: sends from their handlers fail at once
// unless the Router has a Sender, such as a [Recorder].
func Connect(id string, hs *Handshake) events.APIGatewayWebsocketProxyRequest {
	h := hs.orEmpty()
	var key [16]byte
	rand.Read(key[:])
	header := http.Header{
		"Sec-Websocket-Key":     {base64.StdEncoding.EncodeToString(key[:])},
		"Sec-Websocket-Version": {"13"},
	}
	if len(h.Subprotocols) > 0 {
		header.Set("Sec-WebSocket-Protocol", strings.Join(h.Subprotocols, ", "))
	}
	for k, vs := range h.Header {
		header[k] = vs
	}
	host := eventDomain
	if v := header.Get("Host"); v != "" { // as a client's Host header reaches $connect
		host = v
		header.Del("Host")
	}
	c := eventConn(id, h.Header.Get("User-Agent"))
	return *apigw.Connect(c, apigw.ConnectHeaders(c, header, host, "http"), h.Query)
}

// Message returns the event of a message with body from connection id, on
// the $default route, as API Gateway sends it. Router.Handler serves it with
// the custom route the body selects, if any.
func Message(id, body string) events.APIGatewayWebsocketProxyRequest {
	return *apigw.Message(eventConn(id, ""), "$default", body)
}

// Disconnect returns the $disconnect event of connection id closed with the
// WebSocket status code, as API Gateway sends it.
func Disconnect(id string, code int) events.APIGatewayWebsocketProxyRequest {
	return *apigw.Disconnect(eventConn(id, ""), code, "")
}

// AfterConnect returns the event with which a Router that has an
// AfterConnect handler invokes its own function after the $connect event
// connect succeeded. For table tests of Router.Handler: serve connect, then
// this event, and the AfterConnect handler runs as on AWS. With a [Recorder]
// as the Router's Sender, every connection is live, so the handler runs at
// once and Recorder.Messages shows its welcome. (Serving connect itself
// invokes nothing outside Lambda: it logs that there is no function.)
func AfterConnect(connect events.APIGatewayWebsocketProxyRequest) events.APIGatewayWebsocketProxyRequest {
	return afterconnect.Event(connect)
}
