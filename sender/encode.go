package sender

import (
	"encoding/json"
	"fmt"
)

// Encode turns a message into the bytes to send: a []byte is sent raw, a
// string as its UTF-8 bytes, a json.RawMessage as is, and anything else as
// its JSON encoding.
func Encode(data any) ([]byte, error) {
	switch v := data.(type) {
	case []byte:
		return v, nil
	case string:
		return []byte(v), nil
	case json.RawMessage:
		return v, nil
	}
	b, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("sender: encode %T: %w", data, err)
	}
	return b, nil
}
