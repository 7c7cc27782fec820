package grip

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Lambda serves a request that an API Gateway REST API (or a Lambda proxy
// integration of any kind) passes as a version 1.0 proxy event, as ServeHTTP
// would:
//
//	lambda.Start(h.Lambda)
//
// A body with isBase64Encoded set is decoded; the response body is always
// base64 (isBase64Encoded true), so add application/websocket-events as a
// binary media type of a REST API.
func (h *Handler) Lambda(ctx context.Context, e events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	hdr := http.Header{}
	for k, vs := range e.MultiValueHeaders {
		for _, v := range vs {
			hdr.Add(k, v)
		}
	}
	for k, v := range e.Headers {
		if _, ok := e.MultiValueHeaders[k]; !ok {
			hdr.Set(k, v)
		}
	}
	q := url.Values{}
	for k, vs := range e.MultiValueQueryStringParameters {
		q[k] = vs
	}
	for k, v := range e.QueryStringParameters {
		if _, ok := q[k]; !ok {
			q.Set(k, v)
		}
	}
	rec, status := h.serveEvent(ctx, e.HTTPMethod, e.Path, q.Encode(), hdr, e.Body, e.IsBase64Encoded, e.RequestContext.Identity.SourceIP)
	resp := events.APIGatewayProxyResponse{StatusCode: status, Headers: map[string]string{}, MultiValueHeaders: map[string][]string{}}
	for k, vs := range rec.hdr {
		resp.Headers[k] = vs[0]
		resp.MultiValueHeaders[k] = vs
	}
	resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString(rec.body.Bytes()), true
	return resp, nil
}

// LambdaV2 serves a request that an API Gateway HTTP API or a Lambda
// function URL passes as a version 2.0 event, as Lambda does.
func (h *Handler) LambdaV2(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	hdr := http.Header{}
	for k, v := range e.Headers {
		// Version 2.0 joins repeated headers with commas.
		hdr.Set(k, v)
	}
	for _, c := range e.Cookies {
		hdr.Add("Cookie", c)
	}
	rec, status := h.serveEvent(ctx, e.RequestContext.HTTP.Method, e.RawPath, e.RawQueryString, hdr, e.Body, e.IsBase64Encoded, e.RequestContext.HTTP.SourceIP)
	resp := events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{}}
	for k, vs := range rec.hdr {
		if k == "Set-Cookie" {
			resp.Cookies = vs
			continue
		}
		resp.Headers[k] = strings.Join(vs, ",")
	}
	resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString(rec.body.Bytes()), true
	return resp, nil
}

func (h *Handler) serveEvent(ctx context.Context, method, path, rawQuery string, hdr http.Header, body string, b64 bool, sourceIP string) (*recorder, int) {
	rec := &recorder{hdr: http.Header{}}
	var raw []byte
	if b64 {
		var err error
		if raw, err = base64.StdEncoding.DecodeString(body); err != nil {
			rec.hdr.Set("Content-Type", "text/plain; charset=utf-8")
			rec.body.WriteString("body is not valid base64\n")
			return rec, http.StatusBadRequest
		}
	} else {
		raw = []byte(body)
	}
	if path == "" {
		path = "/"
	}
	req, err := http.NewRequestWithContext(ctx, method, (&url.URL{Path: path, RawQuery: rawQuery}).RequestURI(), bytes.NewReader(raw))
	if err != nil {
		rec.body.WriteString("bad request\n")
		return rec, http.StatusBadRequest
	}
	req.Header = hdr
	req.Host = hdr.Get("Host")
	// API Gateway is the TCP peer, not a hop: drop the address it appended to
	// X-Forwarded-For (its own peer, sourceIP) so that Options.TrustedHops
	// counts as behind ServeHTTP.
	req.RemoteAddr = sourceIP
	if vs := req.Header.Values("X-Forwarded-For"); len(vs) > 0 {
		before, entry := "", vs[len(vs)-1]
		if i := strings.LastIndexByte(entry, ','); i >= 0 {
			before, entry = entry[:i], entry[i+1:]
		}
		if strings.TrimSpace(entry) == sourceIP {
			vs[len(vs)-1] = before // Values returns the header's own slice
		}
	}
	h.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec, rec.status
}

// recorder is the http.ResponseWriter behind the Lambda entry points.
type recorder struct {
	hdr    http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.hdr }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}
