package sender

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/encoding/httpbinding"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// octetStream is the Content-Type of every POST, shared by all requests and
// never modified (a constant but for Go's lack of constant slices).
var octetStream = []string{"application/octet-stream"}

// emptyHash is the hex SHA-256 of an empty payload (GET and DELETE).
const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// payloadHash returns the hex SHA-256 of data, the payload hash SigV4 signs.
func payloadHash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// direct calls the management API with the SDK's SigV4 signer, without the
// SDK's middleware stack, over client (the AWS configuration's HTTP client
// or Options.HTTPClient). All requests are built in do. It sends what the SDK client sends (method,
// path, Content-Type, signature) and returns errors of the shapes the SDK
// returns (a smithy.OperationError around an awshttp.ResponseError around
// the modelled exception; a smithyhttp.ResponseError over plain HTTP), so classify treats both alike.
type direct struct {
	scheme, host string
	path         string // unescaped path up to and including "/@connections/"
	rawPath      string // the same, escaped
	canonPath    string // the same, escaped twice (SigV4's canonical URI)
	client       aws.HTTPClient
	creds        aws.CredentialsProvider // nil: unsigned (the local emulator)
	signer       *v4.Signer
	region       string
}

// newDirect prepares calls to endpoint (see ResolveEndpoint) through client,
// signed with creds for region unless creds is nil.
func newDirect(endpoint string, client aws.HTTPClient, creds aws.CredentialsProvider, region string) (*direct, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("sender: invalid management API endpoint %q", endpoint)
	}
	rawPath := strings.TrimRight(u.EscapedPath(), "/") + "/@connections/"
	return &direct{
		scheme:    u.Scheme,
		host:      u.Host,
		path:      strings.TrimRight(u.Path, "/") + "/@connections/",
		rawPath:   rawPath,
		canonPath: httpbinding.EscapePath(rawPath, false),
		client:    client,
		creds:     creds,
		signer:    v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
		region:    region,
	}, nil
}

// paths returns the request's path to connection id: unescaped; escaped
// as the SDK escapes it (httpbinding.EscapePath with separators: everything
// but A-Z a-z 0-9 - . _ ~); and escaped once more, SigV4's canonical URI.
// The three share one allocation.
func (d *direct) paths(id string) (path, rawPath, canonPath string) {
	n := 0 // the bytes to escape
	for i := 0; i < len(id); i++ {
		if !unreserved(id[i]) {
			n++
		}
	}
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(d.path) + len(d.rawPath) + len(d.canonPath) + 3*len(id) + 6*n)
	b.WriteString(d.path)
	b.WriteString(id)
	i := b.Len()
	b.WriteString(d.rawPath)
	for k := 0; k < len(id); k++ {
		if c := id[k]; unreserved(c) {
			b.WriteByte(c)
		} else {
			b.Write([]byte{'%', hexDigits[c>>4], hexDigits[c&15]})
		}
	}
	j := b.Len()
	b.WriteString(d.canonPath)
	for k := 0; k < len(id); k++ {
		if c := id[k]; unreserved(c) {
			b.WriteByte(c)
		} else {
			b.Write([]byte{'%', '2', '5', hexDigits[c>>4], hexDigits[c&15]}) // the "%" escaped too
		}
	}
	all := b.String()
	return all[:i], all[i:j], all[j:]
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// do makes one call and returns the response on 2xx. The body of a non-2xx
// response is read and turned into an error.
func (d *direct) do(ctx context.Context, op, method, id string, data []byte, hash string) (*http.Response, error) {
	fail := func(err error) error {
		return &smithy.OperationError{ServiceID: "ApiGatewayManagementApi", OperationName: op, Err: err}
	}
	var body io.Reader
	if data != nil {
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, "", body)
	if err != nil {
		return nil, fail(err)
	}
	path, rawPath, canonPath := d.paths(id)
	*req.URL = url.URL{Scheme: d.scheme, Host: d.host, Path: path, RawPath: rawPath} // the empty one parsed
	req.Host = d.host
	if method == http.MethodPost {
		req.Header["Content-Type"] = octetStream
	}
	if tid := traceHeader(ctx); tid != "" {
		req.Header["X-Amzn-Trace-Id"] = []string{tid} // not signed, as SigV4 ignores it
	}
	if d.creds != nil {
		creds, err := d.creds.Retrieve(ctx)
		if err != nil {
			return nil, fail(fmt.Errorf("get identity: %w", err))
		}
		if hash == "" {
			hash = emptyHash
			if len(data) > 0 {
				hash = payloadHash(data)
			}
		}
		// The canonical URI of SigV4 (for services other than S3) is the
		// escaped path escaped once more (see paths). The signer takes it from
		// URL.Opaque when set, which saves it escaping the whole path
		// again on every call; the request goes out with the path only.
		req.URL.Opaque = canonPath
		err = d.signer.SignHTTP(ctx, creds, req, hash, "execute-api", d.region, time.Now())
		req.URL.Opaque = ""
		if err != nil {
			return nil, fail(&v4.SigningError{Err: err})
		}
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, fail(d.responseError(&http.Response{}, &smithyhttp.RequestSendError{Err: err}))
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		// The management API never redirects; a redirect is not followed
		// (see Options.HTTPClient), and whatever it says is ignored.
		return nil, fail(d.responseError(resp, &smithy.GenericAPIError{Code: "Redirect",
			Message: "HTTP " + strconv.Itoa(resp.StatusCode) + " redirect not followed: the management API does not redirect"}))
	}
	return nil, fail(d.responseError(resp, apiError(resp)))
}

// responseError wraps the error of a call as the SDK does over HTTPS (an
// awshttp.ResponseError, with the request id); over plain HTTP in a
// smithyhttp.ResponseError, whose message does not say "https".
func (d *direct) responseError(resp *http.Response, err error) error {
	re := &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: resp}, Err: err}
	if d.scheme == "http" {
		return re
	}
	return &awshttp.ResponseError{ResponseError: re, RequestID: resp.Header.Get("X-Amzn-Requestid")}
}

// apiError parses an error response as the SDK's rest-json protocol does:
// the code is the X-Amzn-ErrorType header, else the body's "__type" or
// "code", without any "namespace#" prefix or ":suffix"; the message is the
// body's "message". Codes the management API models become their SDK types.
// An empty or non-JSON body leaves the header and the status to go by.
func apiError(resp *http.Response) error {
	var info struct {
		Type    string `json:"__type"`
		Code    any
		Message string
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(b, &info)
	code := resp.Header.Get("X-Amzn-ErrorType")
	if code == "" {
		code = info.Type
	}
	if s, ok := info.Code.(string); ok && code == "" {
		code = s
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if i := strings.IndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	var msg *string
	if info.Message != "" {
		msg = &info.Message
	}
	// As in the SDK, only PayloadTooLargeException models a message.
	switch code {
	case "GoneException":
		return &types.GoneException{}
	case "LimitExceededException":
		return &types.LimitExceededException{}
	case "PayloadTooLargeException":
		return &types.PayloadTooLargeException{Message: msg}
	case "ForbiddenException":
		return &types.ForbiddenException{}
	case "":
		code = "UnknownError"
	}
	if msg == nil {
		msg = &code
	}
	return &smithy.GenericAPIError{Code: code, Message: *msg}
}

// traceHeader returns the X-Ray trace header of the Lambda invocation of
// ctx, which aws-lambda-go puts in the context under "x-amzn-trace-id" (from
// Lambda-Runtime-Trace-Id), or "" when there is none or it is not a valid
// header value.
func traceHeader(ctx context.Context) string {
	tid, _ := ctx.Value("x-amzn-trace-id").(string)
	for i := 0; i < len(tid); i++ {
		if tid[i] < ' ' || tid[i] > '~' {
			return ""
		}
	}
	return tid
}

// discard reads what is left of a short response body and closes it, so
// that its connection is reused.
func discard(resp *http.Response) {
	if resp.ContentLength >= 0 && resp.ContentLength <= 64<<10 {
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
}

func (d *direct) post(ctx context.Context, id string, data []byte, hash string) error {
	if data == nil {
		data = []byte{}
	}
	resp, err := d.do(ctx, "PostToConnection", http.MethodPost, id, data, hash)
	if err != nil {
		return err
	}
	discard(resp)
	return nil
}

func (d *direct) delete(ctx context.Context, id string) error {
	resp, err := d.do(ctx, "DeleteConnection", http.MethodDelete, id, nil, emptyHash)
	if err != nil {
		return err
	}
	discard(resp)
	return nil
}

func (d *direct) get(ctx context.Context, id string) (*Info, error) {
	resp, err := d.do(ctx, "GetConnection", http.MethodGet, id, nil, emptyHash)
	if err != nil {
		return nil, err
	}
	defer discard(resp)
	var out struct {
		ConnectedAt  time.Time `json:"connectedAt"`
		LastActiveAt time.Time `json:"lastActiveAt"`
		Identity     struct {
			SourceIP  string `json:"sourceIp"`
			UserAgent string `json:"userAgent"`
		} `json:"identity"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&out); err != nil {
		return nil, &smithy.OperationError{ServiceID: "ApiGatewayManagementApi", OperationName: "GetConnection",
			Err: &smithy.DeserializationError{Err: err}}
	}
	return &Info{ConnectedAt: out.ConnectedAt, LastActiveAt: out.LastActiveAt,
		SourceIP: out.Identity.SourceIP, UserAgent: out.Identity.UserAgent}, nil
}
