//go:build unix

package integration

import (
	"encoding/json"
	"github.com/lambdaws/lambdaws/internal/testenv"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/internal/emf/emftest"
)

// TestLocalLogsAndMetrics serves a lambdaws function whose template sets
// LoggingConfig LogFormat JSON and POWERTOOLS_METRICS_NAMESPACE, with
// `lambdaws local --log-format json`, and checks end to end: the function's
// log lines are Lambda's JSON format with its request id and lambdaws's
// fields at the configured level, a DecodeJSON failure's cause is logged but
// not sent, each invocation prints a valid EMF document, and lambdaws's own
// per-invocation lines are JSON too.
func TestLocalLogsAndMetrics(t *testing.T) {
	testenv.Integration(t, "the lambdaws command")
	p := startLocal(t, nil, "--log-format", "json", "--template", repoPath(t, "integration/testdata/obs/template.yaml"))
	ctx := testContext(t, time.Minute)
	c := dial(t, ctx, "client", p.URL, nil)
	c.send(ctx, `{"count":"seven"}`) // fails DecodeJSON: 400, nothing sent back
	c.send(ctx, `{"count":3}`)
	if got := c.next(); got != "ok" {
		t.Fatalf("reply %q, want ok", got)
	}
	// Two EMF documents, one per invocation, once both invocations ended.
	// With --log-format json the function's JSON lines pass through as they
	// are, as CloudWatch keeps them: its log lines carry Lambda's requestId,
	// lambdaws's own lines do not.
	if _, err := p.waitLog(regexp.MustCompile(`(?m)^\{.*"_aws"`), 2, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := p.waitLog(regexp.MustCompile(`(?m)^\{.*"message":"local: message"`), 2, 30*time.Second); err != nil {
		t.Fatal(err)
	}

	var fnLogs, docs, cliLines []map[string]any
	for _, line := range strings.Split(p.out.String(), "\n") {
		rest := line
		if !strings.HasPrefix(rest, "{") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(rest), &m); err != nil {
			t.Errorf("line %q is not JSON: %v", line, err)
			continue
		}
		_, isEMF := m["_aws"]
		_, fromFn := m["requestId"]
		fromFn = fromFn || isEMF
		switch {
		case fromFn && isEMF:
			if _, err := emftest.Validate([]byte(rest)); err != nil {
				t.Errorf("invalid EMF document: %v\n%s", err, rest)
			}
			docs = append(docs, m)
		case fromFn:
			fnLogs = append(fnLogs, m)
		default:
			cliLines = append(cliLines, m)
		}
	}

	// The function's lines: Lambda's JSON format, the level honoured.
	byMsg := map[string]map[string]any{}
	for _, m := range fnLogs {
		for _, k := range []string{"timestamp", "level", "message", "requestId"} {
			if s, _ := m[k].(string); s == "" {
				t.Errorf("function line %v has no %s", m, k)
			}
		}
		byMsg[m["message"].(string)] = m
	}
	if _, ok := byMsg["below the level"]; ok {
		t.Error("a DEBUG line was written at ApplicationLogLevel INFO")
	}
	rej, counted := byMsg["ws: rejected"], byMsg["counted"]
	if rej == nil || counted == nil {
		t.Fatalf("function lines %v lack ws: rejected or counted", fnLogs)
	}
	if rej["level"] != "INFO" || rej["route"] != "$default" || rej["status"] != 400.0 || rej["connectionId"] == nil ||
		!strings.Contains(rej["error"].(string), "count") {
		t.Errorf("rejection line %v lacks the route, status, connection id or the cause", rej)
	}
	if rej["requestId"] == counted["requestId"] {
		t.Errorf("two invocations logged the same requestId %v", rej["requestId"])
	}

	// lambdaws local's own lines are JSON, and name the same gateway request.
	var sawRejected bool
	for _, m := range cliLines {
		if m["message"] != "local: message" {
			continue
		}
		if m["level"] == nil || m["timestamp"] == nil || m["connectionId"] != rej["connectionId"] {
			t.Errorf("lambdaws line %v lacks level, timestamp or the connection id", m)
		}
		if m["status"] == 400.0 && m["gatewayRequestId"] == rej["gatewayRequestId"] {
			sawRejected = true
		}
	}
	if !sawRejected {
		t.Errorf("no lambdaws line for the rejected message's gateway request %v in %v", rej["gatewayRequestId"], cliLines)
	}

	// One EMF document per invocation, dimensions Service and Route.
	var rejected, sent, messages float64
	for _, d := range docs {
		if d["Service"] != "obs" || d["Route"] != "$default" {
			t.Errorf("document dimensions Service=%v Route=%v", d["Service"], d["Route"])
		}
		meta, _ := json.Marshal(d["_aws"])
		if !strings.Contains(string(meta), `"Namespace":"lambdaws-test"`) {
			t.Errorf("namespace: %s", meta)
		}
		rejected += d["Rejected"].(float64)
		messages += d["Messages"].(float64)
		if v, ok := d["Sent"].(float64); ok {
			sent += v
		}
	}
	if len(docs) != 2 || messages != 2 || rejected != 1 || sent != 1 {
		t.Errorf("%d documents with Messages %v, Rejected %v, Sent %v; want 2, 2, 1, 1", len(docs), messages, rejected, sent)
	}
}
