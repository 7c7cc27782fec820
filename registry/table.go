package registry

import (
	"errors"
	"fmt"
	"slices"
)

// The route keys API Gateway predefines.
const (
	Connect    = "$connect"
	Disconnect = "$disconnect"
	Default    = "$default"
)

// Table maps route keys to handlers. The zero Table is empty and ready to use.
// A Table is not safe for concurrent modification; lookups are safe once
// registration is over.
type Table[H any] struct {
	routes map[string]H
	custom map[string]string // registered keys other than the three predefined ones, to themselves
}

// Add registers h for key. It fails for an empty key or one already
// registered.
func (t *Table[H]) Add(key string, h H) error {
	if key == "" {
		return errors.New("registry: empty route key")
	}
	if _, dup := t.routes[key]; dup {
		return fmt.Errorf("registry: duplicate handler for route %q", key)
	}
	if t.routes == nil {
		t.routes = make(map[string]H)
	}
	t.routes[key] = h
	if key != Connect && key != Disconnect && key != Default {
		if t.custom == nil {
			t.custom = make(map[string]string)
		}
		t.custom[key] = key
	}
	return nil
}

// Get returns the handler registered for key.
func (t *Table[H]) Get(key string) (H, bool) {
	h, ok := t.routes[key]
	return h, ok
}

// Keys returns the registered route keys, sorted.
func (t *Table[H]) Keys() []string {
	keys := make([]string, 0, len(t.routes))
	for k := range t.routes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Validate reports a table that has handlers but none that receives
// messages: neither $default nor a custom route, so API Gateway would deliver
// messages that nothing handles. $connect and $disconnect are optional, as on
// API Gateway, which accepts a connection when the API has no $connect route.
// An empty table is valid.
func (t *Table[H]) Validate() error {
	if len(t.routes) == 0 || len(t.custom) > 0 {
		return nil
	}
	if _, ok := t.routes[Default]; ok {
		return nil
	}
	return fmt.Errorf("registry: no route receives messages (registered: %q); register a %s handler or a custom route",
		t.Keys(), Default)
}

// Route picks the handler for an event with the given route key and body.
// An event on a registered key goes there. A message on $default or on an
// unregistered key goes to the custom route named by expr in the body when
// one is registered (so custom routes work even where the API defines only
// $default), and otherwise to $default. It returns the chosen key; ok is false
// when no handler fits.
func (t *Table[H]) Route(routeKey string, body []byte, expr Expression) (key string, h H, ok bool) {
	if routeKey != Default {
		if h, ok = t.routes[routeKey]; ok {
			return routeKey, h, true
		}
		if routeKey == Connect || routeKey == Disconnect {
			return routeKey, h, false
		}
	}
	if len(t.custom) > 0 {
		if v, found := expr.evaluate(body); found {
			if key, ok := t.custom[string(v)]; ok { // no allocation
				return key, t.routes[key], true
			}
		}
	}
	h, ok = t.routes[Default]
	return Default, h, ok
}
