package ws

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
)

// DefaultRouter is the router that the package-level functions register on
// and that [Handler] serves; add middleware with DefaultRouter.Use.
var DefaultRouter = NewRouter()

// OnConnect registers fn for $connect on DefaultRouter.
func OnConnect(fn HandlerFunc) { DefaultRouter.OnConnect(fn) }

// OnDisconnect registers fn for $disconnect on DefaultRouter.
func OnDisconnect(fn HandlerFunc) { DefaultRouter.OnDisconnect(fn) }

// OnMessage registers fn for $default on DefaultRouter.
func OnMessage(fn HandlerFunc) { DefaultRouter.OnMessage(fn) }

// OnRoute registers fn for a custom route key on DefaultRouter.
func OnRoute(routeKey string, fn HandlerFunc) { DefaultRouter.OnRoute(routeKey, fn) }

// AfterConnect registers fn to run right after each connection opens, on
// DefaultRouter; see [Router.AfterConnect].
func AfterConnect(fn HandlerFunc) { DefaultRouter.AfterConnect(fn) }

// Register wires a value's OnConnect, OnDisconnect, OnMessage and AfterConnect methods on
// DefaultRouter.
func Register(v any) { DefaultRouter.Register(v) }

// Handler serves an event with DefaultRouter:
//
//	lambda.Start(ws.Handler)
func Handler(ctx context.Context, event events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	return DefaultRouter.Handler(ctx, event)
}
