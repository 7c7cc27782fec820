package sender

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
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
	// ErrInvalidID: the connection id cannot name a connection (see
	// [ValidID]). Checked before any network call; in a [Client.Broadcast]
	// it fails that id only.
	ErrInvalidID = errors.New("sender: invalid connection id")
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

// classify wraps an error returned by a caller. The status and the exception
// are read only from the operation's own response (the SDK's OperationError
// around an awshttp.ResponseError around the exception), never from errors
// nested deeper: a credential chain's IMDS 403 is not the management API's.
func classify(op, id string, err error) *Error {
	e := &Error{Op: op, ConnectionID: id, Err: err}
	var apiErr error
	e.StatusCode, apiErr = response(err)
	code := ""
	if a, ok := apiErr.(smithy.APIError); ok {
		code = a.ErrorCode()
	}
	switch {
	case code == "GoneException" || e.StatusCode == http.StatusGone:
		e.kind = ErrGone
	case code == "LimitExceededException" || e.StatusCode == http.StatusTooManyRequests:
		e.kind = ErrThrottled
	case code == "PayloadTooLargeException" || e.StatusCode == http.StatusRequestEntityTooLarge:
		e.kind = ErrTooLarge
	case code == "ForbiddenException" || e.StatusCode == http.StatusForbidden:
		e.kind = ErrForbidden
	}
	return e
}

// response returns the HTTP status and the exception of the response to the
// operation that failed with err; 0 and nil when there was none (the request
// was never sent, or failed in transport).
func response(err error) (status int, apiErr error) {
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		err = oe.Err
	}
	if re := responseError(err); re != nil {
		if re.Response != nil && re.Response.Response != nil {
			status = re.Response.StatusCode
		}
		return status, re.Err
	}
	if oe != nil {
		return 0, nil
	}
	// Not from an SDK client (a fake, a wrapper): an exception on its own.
	var a smithy.APIError
	if errors.As(err, &a) {
		return 0, a
	}
	return 0, nil
}

// retryable reports whether a failed call may succeed if repeated: 429 and 5xx.
func (e *Error) retryable() bool {
	return e.kind == ErrThrottled || e.StatusCode >= 500 && e.StatusCode <= 599
}

// failsEvery reports whether every other call would fail the same way,
// whatever its connection id: an unknown host, an untrusted certificate,
// or a failure before the request was sent (no credentials, signing).
func (e *Error) failsEvery() bool {
	var (
		oe   *smithy.OperationError
		dns  *net.DNSError
		cert *tls.CertificateVerificationError
		ua   x509.UnknownAuthorityError
		host x509.HostnameError
	)
	if errors.As(e.Err, &dns) && dns.IsNotFound || errors.As(e.Err, &cert) || errors.As(e.Err, &ua) || errors.As(e.Err, &host) {
		return true
	}
	if !errors.As(e.Err, &oe) || errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded) {
		return false
	}
	return responseError(oe.Err) == nil
}

// wrongEndpoint reports whether the answer says that the caller may not
// manage connections there or that the endpoint is not a management API:
// forbidden (a missing permission), 404 ("No method found matching
// route") or a redirect. Every call would then fail the same way, but an
// endpoint may answer so for one odd id too.
func (e *Error) wrongEndpoint() bool {
	return e.kind == ErrForbidden || e.StatusCode == http.StatusNotFound || e.StatusCode >= 300 && e.StatusCode < 400
}

// responseError returns err as the SDK's response error: an
// awshttp.ResponseError (the SDK's, and direct's over HTTPS) or a
// smithyhttp.ResponseError (direct's over plain HTTP, whose message says
// "http response error", not "https"); nil for any other error.
func responseError(err error) *smithyhttp.ResponseError {
	switch re := err.(type) {
	case *awshttp.ResponseError:
		return re.ResponseError
	case *smithyhttp.ResponseError:
		return re
	}
	return nil
}
