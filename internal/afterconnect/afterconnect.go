// Package afterconnect is the event that ws.Router.AfterConnect invokes its
// function with, shared by ws (which makes and serves it) and wstest (which
// builds it for table tests).
//
// The event is the $connect event itself (headers, query, requestContext
// with identity and authorizer), with requestContext.eventType set to
// EventType. API Gateway sets eventType to CONNECT, MESSAGE or DISCONNECT
// only, and a client controls none of requestContext, so no client can
// make one: only a principal allowed to invoke the function can.
package afterconnect

import "github.com/aws/aws-lambda-go/events"

// EventType marks the event in requestContext.eventType.
const EventType = "LAMBDAWS_AFTER_CONNECT"

// RouteKey is Request.RouteKey while an AfterConnect handler runs.
const RouteKey = "$afterconnect"

// Event returns the event that follows the $connect event connect.
func Event(connect events.APIGatewayWebsocketProxyRequest) events.APIGatewayWebsocketProxyRequest {
	connect.RequestContext.EventType = EventType
	connect.RequestContext.RouteKey = "$connect"
	return connect
}

// Is reports whether ev was made by Event.
func Is(ev *events.APIGatewayWebsocketProxyRequest) bool {
	return ev.RequestContext.EventType == EventType
}

// Connect returns the $connect event that an event made by Event follows.
func Connect(ev events.APIGatewayWebsocketProxyRequest) events.APIGatewayWebsocketProxyRequest {
	ev.RequestContext.EventType = "CONNECT"
	ev.RequestContext.RouteKey = "$connect"
	return ev
}
