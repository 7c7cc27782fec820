package sender_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/lambdaws/lambdaws/sender"
)

// TestRedirectNotFollowed: an endpoint that redirects to another server,
// called through an Options.HTTPClient that follows redirects (as every
// http.Client does by default), signed (HTTPS) and unsigned (the emulator):
// every operation fails with the redirect's status, a broadcast sends
// nothing, and the other server receives nothing, neither the session
// token nor the message (issue 24.5: Send followed a 307 with both and
// returned nil). The given client is left as it was.
func TestRedirectNotFollowed(t *testing.T) {
	testCredentials(t)
	t.Setenv("AWS_SESSION_TOKEN", "token-of-the-session")
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
	}))
	defer other.Close()
	status := http.StatusTemporaryRedirect
	redirect := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, status)
	})
	signed := httptest.NewTLSServer(redirect)
	defer signed.Close()
	plain := httptest.NewServer(redirect)
	defer plain.Close()

	hc := &http.Client{Transport: signed.Client().Transport} // trusts signed; follows redirects
	for _, endpoint := range []string{signed.URL + "/prod", plain.URL + "/local"} {
		for _, status = range []int{301, 302, 303, 307, 308} {
			s := sender.NewForEndpoint(endpoint, &sender.Options{HTTPClient: hc, MaxAttempts: 1})
			ctx := context.Background()
			_, infoErr := s.Info(ctx, "c1")
			for op, err := range map[string]error{"send": s.Send(ctx, "c1", []byte("secret message")), "close": s.Close(ctx, "c1"), "info": infoErr} {
				var se *sender.Error
				if !errors.As(err, &se) || se.StatusCode != status {
					t.Errorf("%s %s answered %d: %v, want a *sender.Error with StatusCode %d", endpoint, op, status, err, status)
				}
			}
			ids := func(yield func(string, error) bool) { _ = yield("a", nil) && yield("b", nil) && yield("c", nil) }
			res, err := s.Broadcast(ctx, ids, []byte("secret message"), nil)
			if err != nil || res.Sent != 0 || res.Failed != 3 {
				t.Errorf("%s Broadcast answered %d: %+v, %v; want 3 failed", endpoint, status, res, err)
			}
		}
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the server redirected to received %d requests", n)
	}
	if hc.CheckRedirect != nil {
		t.Errorf("the given http.Client was changed")
	}
}

// TestBroadcastOddIDs: ids that the endpoint answers 403 and 404 (one of
// each), first in a broadcast or among the others, fail alone: every other
// connection is sent to, and the counts are exact (issue 24.10: the first
// 403 or 404 stopped the broadcast as a missing permission or a wrong
// endpoint would). Ten such answers before any send succeeds still stop it.
func TestBroadcastOddIDs(t *testing.T) {
	testCredentials(t)
	api := newMgmtAPITLS(t, "prod", 0)
	for _, kind := range clientKinds {
		for _, at := range []int{0, 50} {
			s := newClient(t, kind, api.endpoint(), &sender.Options{Concurrency: 4})
			ids := func(yield func(string, error) bool) {
				for i := range 100 {
					id := fmt.Sprintf("%s-c%d-%d", kind, at, i)
					switch i {
					case at:
						id = "forbidden-" + kind
					case at + 1:
						id = "noroute-" + kind
					}
					if !yield(id, nil) {
						return
					}
				}
			}
			res, err := s.Broadcast(context.Background(), ids, []byte("x"), nil)
			if err != nil || res.Sent != 98 || res.Failed != 2 || res.Gone != 0 || res.NotAttempted != 0 {
				t.Errorf("%s, odd ids at %d: Broadcast = %+v, %v; want 98 sent, 2 failed", kind, at, res, err)
			}
		}
	}

	s := sender.NewForEndpoint(api.endpoint(), &sender.Options{Concurrency: 4})
	ids := func(yield func(string, error) bool) {
		for i := range 100 {
			if !yield(fmt.Sprint("forbidden-", i), nil) {
				return
			}
		}
	}
	res, err := s.Broadcast(context.Background(), ids, []byte("x"), nil)
	if !errors.Is(err, sender.ErrForbidden) || res.Failed < 10 || res.Failed > 13 || res.Sent+res.Gone != 0 {
		t.Errorf("every id answered 403: Broadcast = %+v, %v; want ErrForbidden after 10 to 13 failed (10 and those in flight)", res, err)
	}
}
