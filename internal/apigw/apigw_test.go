package apigw

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var idRE = regexp.MustCompile(`^[A-Za-z0-9_-]{15}=$`)

func testConn() *Conn {
	return &Conn{
		ID: "R1kmxc2VNjMCFIA=", APIID: "gy415nuibc", Stage: "prod", DomainName: "127.0.0.1:8080",
		SourceIP: "49.105.91.154", UserAgent: "agent", ConnectedAt: time.UnixMilli(1705751697419),
		StageVariables: map[string]string{"table": "t"},
	}
}

// keys returns the JSON object's keys, sorted, and its requestContext's.
func keys(t *testing.T, v any) (top, rc []string) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	json.Unmarshal(b, &m)
	var r map[string]json.RawMessage
	json.Unmarshal(m["requestContext"], &r)
	for k := range m {
		top = append(top, k)
	}
	for k := range r {
		rc = append(rc, k)
	}
	slices.Sort(top)
	slices.Sort(rc)
	return top, rc
}

func TestShapes(t *testing.T) {
	common := "apiId connectedAt connectionId domainName eventType extendedRequestId identity messageDirection requestId requestTime requestTimeEpoch routeKey stage"
	c := testConn()
	tests := []struct {
		name    string
		ev      any
		top, rc string
	}{
		{"connect", Connect(c, map[string][]string{"Host": {"h"}}, url.Values{"a": {"1", "2"}}),
			"headers isBase64Encoded multiValueHeaders multiValueQueryStringParameters queryStringParameters requestContext stageVariables", common},
		{"connect without query", Connect(c, map[string][]string{"Host": {"h"}}, nil),
			"headers isBase64Encoded multiValueHeaders requestContext stageVariables", common},
		{"message", Message(c, "$default", "hi"),
			"body isBase64Encoded requestContext stageVariables", common + " messageId"},
		{"disconnect", Disconnect(c, 1001, ""),
			"headers isBase64Encoded multiValueHeaders requestContext stageVariables", common + " disconnectReason disconnectStatusCode"},
		{"authorizer", Authorizer(c, "arn", map[string][]string{"Host": {"h"}}, nil),
			"headers methodArn multiValueHeaders requestContext stageVariables type", common},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top, rc := keys(t, tt.ev)
			want := strings.Fields(tt.rc)
			slices.Sort(want)
			if strings.Join(top, " ") != tt.top || !slices.Equal(rc, want) {
				t.Errorf("keys %v, requestContext %v; want %s and %v", top, rc, tt.top, want)
			}
		})
	}
}

func TestFields(t *testing.T) {
	c := testConn()
	c.Authorizer = map[string]any{"principalId": "u"}
	ev := Connect(c, map[string][]string{"X": {"1", "2"}}, url.Values{"q": {"a", "b"}})
	rc := ev.RequestContext
	if ev.Headers["X"] != "2" || len(ev.MultiValueHeaders["X"]) != 2 || ev.QueryStringParameters["q"] != "b" ||
		rc.RouteKey != "$connect" || rc.EventType != "CONNECT" || rc.ConnectedAt != 1705751697419 ||
		!idRE.MatchString(rc.RequestID) || rc.ExtendedRequestID != rc.RequestID || rc.MessageDirection != "IN" ||
		!strings.HasSuffix(rc.RequestTime, " +0000") || rc.Authorizer.(map[string]any)["principalId"] != "u" {
		t.Errorf("connect %+v", ev)
	}
	m := Message(c, "join", "x")
	if m.Body != "x" || m.RequestContext.RouteKey != "join" || !idRE.MatchString(m.RequestContext.MessageID.(string)) ||
		m.RequestContext.RequestID == rc.RequestID {
		t.Errorf("message %+v", m)
	}
	d := Disconnect(c, 1006, "")
	if d.Headers["Host"] != c.DomainName || d.RequestContext.DisconnectStatusCode != 1006 || *d.RequestContext.DisconnectReason != "" {
		t.Errorf("disconnect %+v", d)
	}
	if Connect(&Conn{}, nil, nil).RequestContext.Authorizer != nil {
		t.Error("authorizer set without one")
	}
}

func TestConnectHeaders(t *testing.T) {
	c := testConn() // SourceIP 49.105.91.154, DomainName 127.0.0.1:8080
	for _, tt := range []struct {
		name   string
		header http.Header
		proto  string
		want   map[string]string
	}{
		{"plain", http.Header{"Sec-Websocket-Key": {"k"}, "Sec-Websocket-Version": {"13"}, "Origin": {"o"}}, "http", map[string]string{
			"Sec-WebSocket-Key": "k", "Sec-WebSocket-Version": "13", "Origin": "o", "Host": "example.com",
			"X-Forwarded-For": "49.105.91.154", "X-Forwarded-Port": "8080", "X-Forwarded-Proto": "http"}},
		{"behind a proxy", http.Header{"X-Forwarded-For": {"10.0.0.1", "10.0.0.2, 10.0.0.3"}}, "https", map[string]string{
			"Host": "example.com", "X-Forwarded-For": "10.0.0.1, 10.0.0.2, 10.0.0.3, 49.105.91.154", "X-Forwarded-Port": "8080", "X-Forwarded-Proto": "https"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := ConnectHeaders(c, tt.header, "example.com", tt.proto)
			trace := got["X-Amzn-Trace-Id"]
			if len(trace) != 1 || !regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$`).MatchString(trace[0]) {
				t.Errorf("X-Amzn-Trace-Id %q", trace)
			}
			delete(got, "X-Amzn-Trace-Id")
			if len(got) != len(tt.want) {
				t.Errorf("headers %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if vs := got[k]; len(vs) != 1 || vs[0] != v {
					t.Errorf("%s: %q, want %q", k, vs, v)
				}
			}
		})
	}
}

func TestAPIID(t *testing.T) {
	a, b := APIID("local"), APIID("prod")
	if !regexp.MustCompile(`^[a-z0-9]{10}$`).MatchString(a) || a == b || APIID("local") != a {
		t.Errorf("APIID: local %q, prod %q; want 10 lowercase letters and digits, stable, one per stage", a, b)
	}
}
