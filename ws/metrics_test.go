package ws_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/lambdaws/lambdaws/internal/emf/emftest"
	"github.com/lambdaws/lambdaws/sender"
	"github.com/lambdaws/lambdaws/ws"
)

// outcomeSender answers a Send by the connection id ("gone", "busy", "bad"
// fail as their names say) and every Broadcast with res.
type outcomeSender struct {
	ws.Sender
	res sender.Result
}

func (o outcomeSender) Send(_ context.Context, id string, _ []byte) error {
	switch id {
	case "gone":
		return fmt.Errorf("post: %w", sender.ErrGone)
	case "busy":
		return fmt.Errorf("post: %w", sender.ErrThrottled)
	case "bad":
		return errors.New("post: 500")
	}
	return nil
}

func (o outcomeSender) Broadcast(context.Context, iter.Seq2[string, error], []byte, *sender.BroadcastOptions) (sender.Result, error) {
	return o.res, nil
}

// emfDocs validates every line of out as an EMF document and returns the
// documents' metric values and raw lines.
func emfDocs(t *testing.T, out string) ([]map[string][]float64, []string) {
	t.Helper()
	var docs []map[string][]float64
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		v, err := emftest.Validate(sc.Bytes())
		if err != nil {
			t.Fatalf("invalid EMF document: %v\n%s", err, sc.Text())
		}
		docs = append(docs, v)
		lines = append(lines, sc.Text())
	}
	return docs, lines
}

func TestMetrics(t *testing.T) {
	t.Setenv("POWERTOOLS_SERVICE_NAME", "chat")
	r, _ := newRouter(true)
	r.MetricsNamespace = "lambdaws-test"
	var out bytes.Buffer
	ws.SetMetricsOutput(r, &out)
	r.Sender = outcomeSender{res: sender.Result{Sent: 40, Gone: 3, Failed: 2, Throttled: 1, NotAttempted: 5}}
	r.OnRoute("sendmessage", func(ctx context.Context, req *ws.Request) error {
		for _, id := range []string{"a", "b", "gone", "busy", "bad"} {
			_ = ws.SendMessage(ctx, id, "hi")
		}
		_, _ = ws.Broadcast(ctx, nil, "hi", nil)
		switch string(req.Body) {
		case "reject":
			return ws.Reject(403, "no")
		case "fail":
			return errors.New("boom")
		}
		return nil
	})
	tests := []struct {
		event, body string
		want        map[string]float64
	}{
		{"sendmessage", "ok", map[string]float64{"Messages": 1, "Rejected": 0, "Errors": 0,
			"Sent": 42, "Gone": 4, "Throttled": 2, "Failed": 4, "NotAttempted": 5}},
		{"sendmessage", "reject", map[string]float64{"Messages": 1, "Rejected": 1, "Errors": 0}},
		{"sendmessage", "fail", map[string]float64{"Messages": 1, "Rejected": 0, "Errors": 1}},
		{"connect", "", map[string]float64{"Connects": 1, "Rejected": 0, "Errors": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.event+" "+tt.body, func(t *testing.T) {
			out.Reset()
			e := event(t, tt.event)
			e.Body = tt.body
			serve(t, r, e)
			docs, lines := emfDocs(t, out.String())
			if len(docs) != 1 {
				t.Fatalf("%d documents for one invocation, want 1:\n%s", len(docs), out.String())
			}
			for name, want := range tt.want {
				if got := docs[0][name]; len(got) != 1 || got[0] != want {
					t.Errorf("%s = %v, want %v\n%s", name, got, want, lines[0])
				}
			}
			if len(docs[0]["Duration"]) != 1 {
				t.Errorf("no Duration: %s", lines[0])
			}
			if strings.Contains(tt.body, "ok") && (len(docs[0]["SendDuration"]) != 5 || len(docs[0]["BroadcastDuration"]) != 1) {
				t.Errorf("want 5 SendDuration and 1 BroadcastDuration values: %s", lines[0])
			}
			route := map[string]string{"connect": "$connect", "sendmessage": "sendmessage"}[tt.event]
			if !strings.Contains(lines[0], `"Dimensions":[["Service","Route"]]`) ||
				!strings.Contains(lines[0], `"Service":"chat"`) || !strings.Contains(lines[0], `"Route":"`+route+`"`) {
				t.Errorf("dimensions are not Service=chat, Route=%s: %s", route, lines[0])
			}
			if id := e.RequestContext.ConnectionID; strings.Contains(lines[0], id) {
				t.Errorf("the connection id %s is in the metrics", id)
			}
		})
	}
}

func TestNoMetricsWithoutNamespace(t *testing.T) {
	t.Setenv("POWERTOOLS_METRICS_NAMESPACE", "")
	r, _ := newRouter(true)
	var out bytes.Buffer
	ws.SetMetricsOutput(r, &out)
	serve(t, r, event(t, "message"))
	if out.Len() != 0 {
		t.Errorf("metrics without a namespace: %s", out.String())
	}
	t.Setenv("POWERTOOLS_METRICS_NAMESPACE", "from-env")
	serve(t, r, event(t, "message"))
	if docs, lines := emfDocs(t, out.String()); len(docs) != 1 || !strings.Contains(lines[0], `"Namespace":"from-env"`) {
		t.Errorf("POWERTOOLS_METRICS_NAMESPACE not used: %s", out.String())
	}
}

// TestMetricsOutsideHandler checks that a Broadcast from a context that is
// not a handler's (an SQS or scheduled function) prints its own document on
// stdout, in a child process.
func TestMetricsOutsideHandler(t *testing.T) {
	if os.Getenv("LAMBDAWS_TEST_EMF_CHILD") == "1" {
		ctx := ws.ContextWithSender(context.Background(), outcomeSender{res: sender.Result{Sent: 7, Gone: 1}})
		_, _ = ws.Broadcast(ctx, nil, "hi", nil)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMetricsOutsideHandler$", "-test.count=1")
	cmd.Env = append(os.Environ(), "LAMBDAWS_TEST_EMF_CHILD=1", "POWERTOOLS_METRICS_NAMESPACE=worker", "POWERTOOLS_SERVICE_NAME=chat")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	docs, lines := emfDocs(t, strings.TrimSuffix(strings.TrimSpace(string(out)), "PASS"))
	if len(docs) != 1 || docs[0]["Sent"][0] != 7 || docs[0]["Gone"][0] != 1 ||
		!strings.Contains(lines[0], `"Dimensions":[["Service"]]`) {
		t.Errorf("got %v\n%s", docs, out)
	}
}
