package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/lambdaws/lambdaws/internal/apigw"
)

// parsePath splits an escaped request path of the form
// /{stage}/@connections/{connectionId}. The "@" may be escaped as %40 and
// every segment is percent-decoded, so an id "abc=" arrives as "abc%3D".
// isAPI reports whether the path addresses the management API at all (its
// second segment is @connections); ok whether it is well formed.
func parsePath(escaped string) (stage, id string, isAPI, ok bool) {
	rest, found := strings.CutPrefix(escaped, "/")
	if !found {
		return "", "", false, false
	}
	seg := strings.Split(rest, "/")
	if first, err := url.PathUnescape(seg[0]); err == nil && first == "@connections" {
		return "", "", true, false // no stage
	}
	if len(seg) < 2 {
		return "", "", false, false
	}
	if at, err := url.PathUnescape(seg[1]); err != nil || at != "@connections" {
		return "", "", false, false
	}
	if len(seg) != 3 {
		return "", "", true, false
	}
	stage, err1 := url.PathUnescape(seg[0])
	id, err2 := url.PathUnescape(seg[2])
	if err1 != nil || err2 != nil || stage == "" || id == "" {
		return "", "", true, false
	}
	return stage, id, true, true
}

// manage serves PostToConnection, GetConnection and DeleteConnection for the
// connection id.
func (g *Gateway) manage(w http.ResponseWriter, r *http.Request, id string) {
	w.Header().Set("X-Amzn-RequestId", apigw.NewUUID())
	if g.faultRate > 0 && rand.Float64() < g.faultRate {
		if rand.IntN(2) == 0 {
			writeError(w, http.StatusTooManyRequests, "LimitExceededException", "Rate exceeded")
		} else {
			writeError(w, http.StatusInternalServerError, "InternalServerErrorException", "Internal server error")
		}
		return
	}
	switch r.Method {
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, maxPost+1))
		if errors.Is(err, os.ErrDeadlineExceeded) {
			writeError(w, http.StatusBadRequest, "BadRequestException", fmt.Sprintf("the request body did not arrive within %v", g.reqTimeout))
			return
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "BadRequestException", "reading request body: "+err.Error())
			return
		}
		if len(body) > maxPost {
			writeError(w, http.StatusRequestEntityTooLarge, "PayloadTooLargeException",
				fmt.Sprintf("Data is over the limit of %d bytes", maxPost))
			return
		}
		c := g.lookup(id)
		result := gone
		if c != nil {
			result = c.send(body)
		}
		switch result {
		case gone:
			writeGone(w, id)
		case full:
			writeError(w, http.StatusTooManyRequests, "LimitExceededException", "the WebSocket client side buffer is full")
		default:
			w.WriteHeader(http.StatusOK)
		}
	case http.MethodGet:
		c := g.lookup(id)
		if c == nil || c.isClosing() {
			writeGone(w, id)
			return
		}
		const layout = "2006-01-02T15:04:05.000Z"
		info := struct {
			ConnectedAt string `json:"connectedAt"`
			Identity    struct {
				SourceIP  string `json:"sourceIp"`
				UserAgent string `json:"userAgent"`
			} `json:"identity"`
			LastActiveAt string `json:"lastActiveAt"`
		}{
			ConnectedAt:  c.info.ConnectedAt.UTC().Format(layout),
			LastActiveAt: time.UnixMilli(c.lastActive.Load()).UTC().Format(layout),
		}
		info.Identity.SourceIP = c.info.SourceIP
		info.Identity.UserAgent = c.info.UserAgent
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(info)
	case http.MethodDelete:
		c := g.lookup(id)
		if c == nil || c.isClosing() {
			writeGone(w, id)
			return
		}
		c.requestClose(1000, "")
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, http.StatusForbidden, "ForbiddenException",
			fmt.Sprintf("No method found matching route %s/@connections/%s for http method %s", g.stage, id, r.Method))
	}
}

func writeGone(w http.ResponseWriter, id string) {
	writeError(w, http.StatusGone, "GoneException",
		fmt.Sprintf("connection %q is gone (closed, unknown, or still in $connect)", id))
}

// writeError writes a management API error as API Gateway and the AWS SDKs
// expect it: the type in the X-Amzn-ErrorType header and in a JSON body.
func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{typ, msg})
}
