package ws

import (
	"errors"
	"fmt"
	"net/http"
)

// Reject returns an error that answers the event with status and reason
// instead of 200. From an OnConnect handler it refuses the handshake: the
// client sees that HTTP status. The reason is the response body, so it may
// reach the client; a status outside 400–599 is a handler failure (500).
//
//	return ws.Reject(http.StatusUnauthorized, "missing token")
func Reject(status int, reason string) error {
	return &rejectError{status: status, reason: reason}
}

type rejectError struct {
	status int
	reason string
	cause  error // set by Request.DecodeJSON
}

func (e *rejectError) Error() string {
	return fmt.Sprintf("ws: rejected with %d %s: %s", e.status, http.StatusText(e.status), e.reason)
}

func (e *rejectError) Unwrap() error { return e.cause }

func asReject(err error) (*rejectError, bool) {
	var rej *rejectError
	ok := errors.As(err, &rej) && rej.status >= 400 && rej.status <= 599
	return rej, ok
}
