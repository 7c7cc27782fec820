package ws

import (
	"context"
	"fmt"
	"reflect"
)

// Server gives a struct default OnConnect, OnDisconnect and OnMessage
// methods that accept and ignore every event. Embed it and override the
// methods you need, then register a pointer to the struct:
//
//	type ChatRoom struct {
//		ws.Server
//		Store connstore.Store
//	}
//
//	func (c *ChatRoom) OnMessage(ctx context.Context, req *ws.Request) error { ... }
//
//	ws.Register(&ChatRoom{Store: store})
//
// Fields of the struct live as long as the Lambda container, across events.
// Server has no AfterConnect method, since each costs an invocation per
// connection: define one on the struct for a welcome message (see
// [Router.AfterConnect]).
type Server struct{}

// OnConnect accepts the connection.
func (Server) OnConnect(context.Context, *Request) error { return nil }

// OnDisconnect does nothing.
func (Server) OnDisconnect(context.Context, *Request) error { return nil }

// OnMessage ignores the message.
func (Server) OnMessage(context.Context, *Request) error { return nil }

// Register wires the OnConnect, OnDisconnect and OnMessage methods of v to
// the $connect, $disconnect and $default routes, and an AfterConnect method
// to [Router.AfterConnect]; v may have any subset of them. Register custom routes with OnRoute, for example
// r.OnRoute("sendmessage", room.SendMessage).
//
// Register panics when v is not a non-nil pointer (so that the methods of the
// pointer, and the state they change, are the ones served), when v has none of
// the three methods, or when one of its routes already has a handler.
func (r *Router) Register(v any) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic(fmt.Sprintf("ws: Register needs a non-nil pointer, such as &%T{}, got %T", v, v))
	}
	n := 0
	if h, ok := v.(interface {
		OnConnect(context.Context, *Request) error
	}); ok {
		r.OnConnect(h.OnConnect)
		n++
	}
	if h, ok := v.(interface {
		OnDisconnect(context.Context, *Request) error
	}); ok {
		r.OnDisconnect(h.OnDisconnect)
		n++
	}
	if h, ok := v.(interface {
		OnMessage(context.Context, *Request) error
	}); ok {
		r.OnMessage(h.OnMessage)
		n++
	}
	if h, ok := v.(interface {
		AfterConnect(context.Context, *Request) error
	}); ok {
		r.AfterConnect(h.AfterConnect)
		n++
	}
	if n == 0 {
		panic(fmt.Sprintf("ws: Register: %T has no OnConnect, OnDisconnect, OnMessage or AfterConnect method; embed ws.Server", v))
	}
}
