package ws

import (
	"context"
	"encoding/json"
)

// Sender delivers messages to connections. The default talks to the API
// Gateway management API; tests and other transports supply their own.
type Sender interface {
	Send(ctx context.Context, connectionID string, data []byte) error
	Close(ctx context.Context, connectionID string) error
}

// encode turns data into message bytes: []byte as is, a string as UTF-8,
// json.RawMessage as is, anything else as JSON.
func encode(data any) ([]byte, error) {
	switch d := data.(type) {
	case []byte:
		return d, nil
	case string:
		return []byte(d), nil
	case json.RawMessage:
		return d, nil
	}
	return json.Marshal(data)
}
