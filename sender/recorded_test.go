package sender_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/lambdaws/lambdaws/sender"
)

// recorded are error responses of the management API as AWS sends them
// (status, X-Amzn-ErrorType, body): the SDK's response snapshots and what
// real deployments answer.
var recorded = []struct {
	name    string
	status  int
	errType string
	body    string
	want    error // the sentinel, if any
	code    string
	retried bool
}{
	{"410 snapshot", 410, "GoneException", `{"__type":"GoneException"}`, sender.ErrGone, "GoneException", false},
	{"410 type only in the header, empty body", 410, "GoneException", ``, sender.ErrGone, "GoneException", false},
	{"410 bare", 410, "", ``, sender.ErrGone, "UnknownError", false},
	{"410 namespaced header", 410, "GoneException:http://internal.amazon.com/coral/com.amazonaws.apigatewaymanagementapi/", `{}`, sender.ErrGone, "GoneException", false},
	{"410 namespaced body type", 410, "", `{"__type":"com.amazonaws.apigatewaymanagementapi#GoneException"}`, sender.ErrGone, "GoneException", false},
	{"403 snapshot", 403, "ForbiddenException", `{"__type":"ForbiddenException"}`, sender.ErrForbidden, "ForbiddenException", false},
	{"403 IAM denial", 403, "AccessDeniedException", `{"Message":"User: arn:aws:sts::123456789012:assumed-role/fn/fn is not authorized to perform: execute-api:ManageConnections on resource: arn:aws:execute-api:eu-west-1:********1234:abc123/prod/POST/@connections/{connectionId}"}`, sender.ErrForbidden, "AccessDeniedException", false},
	{"403 wrong path", 403, "MissingAuthenticationTokenException", `{"message":"Missing Authentication Token"}`, sender.ErrForbidden, "MissingAuthenticationTokenException", false},
	{"429 snapshot", 429, "LimitExceededException", `{"__type":"LimitExceededException"}`, sender.ErrThrottled, "LimitExceededException", true},
	{"429 account throttle", 429, "TooManyRequestsException", `{"message":"Too Many Requests"}`, sender.ErrThrottled, "TooManyRequestsException", true},
	{"413 snapshot", 413, "PayloadTooLargeException", `{"__type":"PayloadTooLargeException","message":"Request Too Long"}`, sender.ErrTooLarge, "PayloadTooLargeException", false},
	{"400 bad id", 400, "BadRequestException", `{"message":"Invalid connectionId: abc"}`, nil, "BadRequestException", false},
	{"404 no route", 404, "NotFoundException", `{"message":"No method found matching route prod/%40connections/abc for http method POST."}`, nil, "NotFoundException", false},
	{"500", 500, "", `{"message": "Internal server error"}`, nil, "UnknownError", true},
	{"502 header only", 502, "InternalServerErrorException", ``, nil, "InternalServerErrorException", true},
}

// TestRecordedErrors replays recorded AWS error responses to both kinds of
// Client and checks that they agree with each other and with the expected
// sentinel, status, error code and retrying.
func TestRecordedErrors(t *testing.T) {
	testCredentials(t)
	var mu sync.Mutex
	calls := map[string]int{}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		name := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		mu.Lock()
		calls[name]++
		mu.Unlock()
		for i, rec := range recorded {
			if strconv.Itoa(i) == name[strings.IndexByte(name, '-')+1:] {
				if rec.errType != "" {
					w.Header().Set("X-Amzn-ErrorType", rec.errType)
				}
				if rec.body != "" {
					w.Header().Set("Content-Type", "application/json")
				}
				w.WriteHeader(rec.status)
				io.WriteString(w, rec.body)
				return
			}
		}
		w.WriteHeader(200)
	}))
	t.Cleanup(srv.Close)
	trustServer(t, srv)

	for _, kind := range clientKinds {
		s := newClient(t, kind, srv.URL+"/prod", &sender.Options{MaxAttempts: 2, BackoffBase: 1})
		for i, rec := range recorded {
			t.Run(kind+"/"+rec.name, func(t *testing.T) {
				t.Parallel() // each waits out its retries' backoff
				id := kind + "-" + strconv.Itoa(i)
				err := s.Send(context.Background(), id, []byte("x"))
				var se *sender.Error
				if !errors.As(err, &se) || se.StatusCode != rec.status {
					t.Fatalf("err = %v, want a *sender.Error with StatusCode %d", err, rec.status)
				}
				for _, sentinel := range []error{sender.ErrGone, sender.ErrForbidden, sender.ErrThrottled, sender.ErrTooLarge} {
					if errors.Is(err, sentinel) != (sentinel == rec.want) {
						t.Errorf("errors.Is(%v, %v) = %t", err, sentinel, !(sentinel == rec.want))
					}
				}
				var api smithy.APIError
				if !errors.As(err, &api) || api.ErrorCode() != rec.code {
					t.Errorf("error code of %v: want %q", err, rec.code)
				}
				mu.Lock()
				n := calls[id]
				mu.Unlock()
				if want := map[bool]int{false: 1, true: 2}[rec.retried]; n != want {
					t.Errorf("%d calls, want %d", n, want)
				}
			})
		}
	}
}
