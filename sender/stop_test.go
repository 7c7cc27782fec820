package sender_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/lambdaws/lambdaws/sender"
)

// imdsError is what the SDK returns when the credential chain fails at the
// instance metadata service with status: the IMDS response is nested in
// the operation's error, and there is no management-API response.
func imdsError(status int) error {
	return &smithy.OperationError{
		ServiceID:     "ApiGatewayManagementApi",
		OperationName: "PostToConnection",
		Err: fmt.Errorf("get identity: get credentials: failed to refresh cached credentials, no EC2 IMDS role found, %w",
			&smithy.OperationError{ServiceID: "ec2imds", OperationName: "GetMetadata", Err: &awshttp.ResponseError{
				ResponseError: &smithyhttp.ResponseError{
					Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
					Err:      errors.New("request to EC2 IMDS failed"),
				},
			}}),
	}
}

// TestStatusOnlyFromOperation: statuses nested in other errors (the
// credential chain's IMDS calls) are not the management API's: an IMDS 403 is
// not ErrForbidden and an IMDS 5xx is not retried.
func TestStatusOnlyFromOperation(t *testing.T) {
	for _, status := range []int{403, 410, 429, 500, 503} {
		t.Run(fmt.Sprint("IMDS ", status), func(t *testing.T) {
			fc := newFake(func(string, string, int) error { return imdsError(status) })
			s := sender.New(fc, &sender.Options{MaxAttempts: 3, BackoffBase: time.Millisecond})
			err := s.Send(context.Background(), "c1", []byte("x"))
			var se *sender.Error
			if !errors.As(err, &se) || se.StatusCode != 0 {
				t.Fatalf("err = %#v, want a *sender.Error with StatusCode 0", err)
			}
			for _, kind := range []error{sender.ErrForbidden, sender.ErrGone, sender.ErrThrottled, sender.ErrTooLarge} {
				if errors.Is(err, kind) {
					t.Errorf("err = %v matches %v", err, kind)
				}
			}
			if fc.total != 1 {
				t.Errorf("%d calls, want 1 (no retry of a credential failure)", fc.total)
			}
		})
	}
}

// TestContextEndsDuringBackoff: the context's error is returned, wrapping
// the last attempt's.
func TestContextEndsDuringBackoff(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fc := newFake(func(_, _ string, attempt int) error {
		if attempt == 2 {
			cancel()
		}
		return sdkError("PostToConnection", 429, &types.LimitExceededException{})
	})
	s := sender.New(fc, &sender.Options{MaxAttempts: 5, BackoffBase: time.Millisecond, BackoffMax: time.Hour})
	start := time.Now()
	err := s.Send(ctx, "c1", []byte("x"))
	if time.Since(start) > 30*time.Second {
		t.Errorf("Send slept through the cancellation")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(%v, context.Canceled) = false", err)
	}
	var se *sender.Error
	if !errors.Is(err, sender.ErrThrottled) || !errors.As(err, &se) || se.StatusCode != 429 || se.ConnectionID != "c1" {
		t.Errorf("err = %v: the last attempt (429 for c1) is not in it", err)
	}
	if fc.total != 2 {
		t.Errorf("%d calls, want 2", fc.total)
	}
}

// TestBroadcastStopsEarly: errors that fail every send stop a broadcast
// after the sends in flight; the accounting stays exact and the rest is
// not attempted.
func TestBroadcastStopsEarly(t *testing.T) {
	dnsErr := &smithy.OperationError{ServiceID: "ApiGatewayManagementApi", OperationName: "PostToConnection",
		Err: &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{}},
			Err:      &smithyhttp.RequestSendError{Err: &net.DNSError{Err: "no such host", Name: "abc.execute-api.invalid", IsNotFound: true}},
		}}}
	tests := []struct {
		name string
		err  error
		is   error
	}{
		{"forbidden", sdkError("PostToConnection", 403, &types.ForbiddenException{}), sender.ErrForbidden},
		{"no route (wrong endpoint)", sdkError("PostToConnection", 404, &smithy.GenericAPIError{Code: "NotFoundException"}), nil},
		{"redirect (wrong endpoint)", sdkError("PostToConnection", 307, &smithy.GenericAPIError{Code: "Redirect"}), nil},
		{"unknown host", dnsErr, nil},
		{"no credentials", imdsError(404), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := newFake(func(string, string, int) error { return tt.err })
			fc.delay = time.Millisecond
			s := sender.New(fc, &sender.Options{Concurrency: 4, MaxAttempts: 3, BackoffBase: time.Millisecond})
			var yielded atomic.Int64
			res, err := s.Broadcast(context.Background(), ids(1000, &yielded), []byte("x"), nil)
			if !errors.Is(err, tt.err) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Errorf("err = %v, want the failure that stopped the broadcast", err)
			}
			if got := int64(res.Sent + res.Gone + res.Failed + res.NotAttempted); got != yielded.Load() {
				t.Errorf("Result %+v accounts for %d ids, %d were read", res, got, yielded.Load())
			}
			if yielded.Load() > 20 || fc.total > 20 || res.Failed < 1 {
				t.Errorf("%d ids read, %d calls, %d failed: the broadcast did not stop early", yielded.Load(), fc.total, res.Failed)
			}
		})
	}

	t.Run("other failures do not stop it, and are sampled", func(t *testing.T) {
		fc := newFake(func(string, string, int) error { return statusError(500) })
		s := sender.New(fc, &sender.Options{MaxAttempts: 1})
		res, err := s.Broadcast(context.Background(), ids(5000, nil), []byte("x"), nil)
		if err != nil || res.Failed != 5000 || res.NotAttempted != 0 {
			t.Errorf("Broadcast = %d failed, %d not attempted, %v; want 5000, 0, nil", res.Failed, res.NotAttempted, err)
		}
		if len(res.Failures) != 10 {
			t.Errorf("%d failures kept for 5000, want a sample of 10", len(res.Failures))
		}
	})
}

// TestCredentialChainFailure runs both kinds of Client with no credentials
// but an instance metadata service that answers 403 to everything (the real
// credential chain, through AWS_EC2_METADATA_SERVICE_ENDPOINT): the error is
// not ErrForbidden, nothing reaches the management API, nothing is retried,
// and a broadcast stops at once.
func TestCredentialChainFailure(t *testing.T) {
	testCredentials(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "")
	var imdsCalls atomic.Int64
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		imdsCalls.Add(1)
		w.WriteHeader(http.StatusForbidden)
	}))
	t.Cleanup(imds.Close)
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
	api := newMgmtAPITLS(t, "prod", 0)
	for _, kind := range clientKinds {
		t.Run(kind, func(t *testing.T) {
			var logs strings.Builder
			s := newClient(t, kind, api.endpoint(), &sender.Options{MaxAttempts: 3, BackoffBase: time.Millisecond,
				Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			err := s.Send(context.Background(), "c1", []byte("x"))
			var se *sender.Error
			if err == nil || errors.Is(err, sender.ErrForbidden) || !errors.As(err, &se) || se.StatusCode != 0 {
				t.Errorf("Send = %v, want a credential error with no status, not ErrForbidden", err)
			}
			if strings.Contains(logs.String(), "retrying") {
				t.Errorf("a credential failure was retried:\n%s", logs.String())
			}
			var yielded atomic.Int64
			res, err := s.Broadcast(context.Background(), ids(1000, &yielded), []byte("x"), nil)
			if err == nil || yielded.Load() > 100 || int64(res.Failed+res.NotAttempted) != yielded.Load() {
				t.Errorf("Broadcast = %+v, %v after %d ids: want an early stop", res, err, yielded.Load())
			}
			if n := api.count("POST", "c1"); n != 0 {
				t.Errorf("the management API received %d calls", n)
			}
			if imdsCalls.Load() == 0 {
				t.Errorf("the credential chain never asked the metadata service")
			}
		})
	}
}
