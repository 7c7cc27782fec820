package sender

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/aws/smithy-go"
)

// Sentinel errors, matched with [errors.Is] against any error returned by a
// [Client]. They are mapped from the SDK exception types and, when API Gateway
// sends a bare status code (real 410s often have an empty body), from the HTTP
// status alone.
var (
	// ErrGone: the connection does not exist or is closed (HTTP 410). It also
	// happens when posting to a connection from its own $connect handler, before
	// API Gateway has established it.
	ErrGone = errors.New("sender: connection gone")
	// ErrThrottled: API Gateway refused the call with 429 LimitExceededException
	// (account throttle, or the client's buffer is full). Retried before it is returned.
	ErrThrottled = errors.New("sender: throttled")
	// ErrTooLarge: the payload exceeds 131072 bytes (HTTP 413). Checked before
	// any network call.
	ErrTooLarge = errors.New("sender: payload too large")
	// ErrForbidden: the caller may not manage connections of this API (HTTP 403),
	// typically a missing execute-api:ManageConnections permission or a wrong endpoint.
	ErrForbidden = errors.New("sender: forbidden")
)

// Error is the error returned by every [Client] call that reached (or would
// have reached) the management API. errors.Is matches it against the
// sentinels above and against the underlying SDK error.
type Error struct {
	Op           string // "send", "close", "info" or "broadcast"
	ConnectionID string
	StatusCode   int   // HTTP status of the last attempt; 0 when there was no response
	Err          error // the SDK (or context) error, nil for checks done before the network

	kind error // one of the sentinels, or nil
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("sender: " + e.Op)
	if e.ConnectionID != "" {
		fmt.Fprintf(&b, " %q", e.ConnectionID)
	}
	b.WriteString(": ")
	switch {
	case e.kind != nil && e.Err != nil:
		fmt.Fprintf(&b, "%s: %v", strings.TrimPrefix(e.kind.Error(), "sender: "), e.Err)
	case e.kind != nil:
		b.WriteString(strings.TrimPrefix(e.kind.Error(), "sender: "))
	default:
		fmt.Fprint(&b, e.Err)
	}
	return b.String()
}

// Unwrap returns the sentinel (if any) and the underlying error.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// classify wraps an error returned by the SDK client.
func classify(op, id string, err error) *Error {
	e := &Error{Op: op, ConnectionID: id, Err: err}
	var hs interface{ HTTPStatusCode() int }
	if errors.As(err, &hs) {
		e.StatusCode = hs.HTTPStatusCode()
	}
	var (
		gone      *types.GoneException
		limit     *types.LimitExceededException
		tooLarge  *types.PayloadTooLargeException
		forbidden *types.ForbiddenException
		api       smithy.APIError
	)
	code := ""
	if errors.As(err, &api) {
		code = api.ErrorCode()
	}
	switch {
	case errors.As(err, &gone) || code == "GoneException" || e.StatusCode == http.StatusGone:
		e.kind = ErrGone
	case errors.As(err, &limit) || code == "LimitExceededException" || e.StatusCode == http.StatusTooManyRequests:
		e.kind = ErrThrottled
	case errors.As(err, &tooLarge) || code == "PayloadTooLargeException" || e.StatusCode == http.StatusRequestEntityTooLarge:
		e.kind = ErrTooLarge
	case errors.As(err, &forbidden) || code == "ForbiddenException" || e.StatusCode == http.StatusForbidden:
		e.kind = ErrForbidden
	}
	return e
}

// retryable reports whether a failed call may succeed if repeated: 429 and 5xx.
func (e *Error) retryable() bool {
	return e.kind == ErrThrottled || e.StatusCode >= 500
}
