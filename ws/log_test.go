package ws_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/lambdaws/lambdaws/ws"
)

// TestDecodeJSONCauseLogged checks that which JSON field failed DecodeJSON is
// logged with the rejection but never sent to the client.
func TestDecodeJSONCauseLogged(t *testing.T) {
	r, logs := newRouter(true)
	r.OnRoute("sendmessage", func(_ context.Context, req *ws.Request) error {
		var v struct {
			Count int `json:"count"`
		}
		return req.DecodeJSON(&v)
	})
	e := event(t, "sendmessage")
	e.Body = `{"action":"sendmessage","count":"seven"}`
	resp := serve(t, r, e)
	if resp.StatusCode != 400 || resp.Body != "invalid JSON body" {
		t.Errorf("response %d %q, want 400 %q", resp.StatusCode, resp.Body, "invalid JSON body")
	}
	recs := logs.records(t)
	if len(recs) != 1 {
		t.Fatalf("want 1 log record, got %v", recs)
	}
	cause, _ := recs[0]["error"].(string)
	if recs[0]["msg"] != "ws: rejected" || !strings.Contains(cause, "count") {
		t.Errorf("log record %v does not name the field that failed", recs[0])
	}
	if strings.Contains(resp.Body, "count") {
		t.Errorf("the cause reached the client: %q", resp.Body)
	}
}

// TestJSONLogFormat runs the test binary again with Lambda's advanced logging
// controls set, as Lambda starts a function, and checks the lines the default
// logger writes on stdout.
func TestJSONLogFormat(t *testing.T) {
	if os.Getenv("LAMBDAWS_TEST_JSON_CHILD") == "1" {
		jsonLogChild(t)
		return
	}
	for _, tt := range []struct {
		level string
		want  []string // messages, in order
	}{
		{"INFO", []string{"ws: rejected", "ws: handler failed", "mine"}},
		{"ERROR", []string{"ws: handler failed"}},
	} {
		t.Run(tt.level, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestJSONLogFormat$", "-test.count=1")
			cmd.Env = append(os.Environ(), "LAMBDAWS_TEST_JSON_CHILD=1",
				"AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_LAMBDA_LOG_LEVEL="+tt.level)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			var got []string
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				line := sc.Bytes()
				if !bytes.HasPrefix(line, []byte("{")) {
					continue // the test binary's own PASS line
				}
				var rec map[string]any
				if err := json.Unmarshal(line, &rec); err != nil {
					t.Fatalf("line %q is not JSON: %v", line, err)
				}
				for _, k := range []string{"timestamp", "level", "message"} {
					if _, ok := rec[k].(string); !ok {
						t.Errorf("line %s has no %q", line, k)
					}
				}
				if rec["requestId"] != "8f5c0bd4-5e2e-4a2c-9f0f-3c1d4a1e2b3c" {
					t.Errorf("line %s: requestId = %v, want the Lambda request id", line, rec["requestId"])
				}
				if msg := rec["message"]; msg != "mine" && (rec["connectionId"] != "R1kmxc2VNjMCFIA=" ||
					rec["route"] != "sendmessage" || rec["gatewayRequestId"] != "R1kp2H3jNjMFd2g=") {
					t.Errorf("line %s lacks lambdaws's fields", line)
				}
				got = append(got, rec["message"].(string))
				if rec["level"] != map[string]string{"ws: rejected": "INFO", "ws: handler failed": "ERROR", "mine": "INFO"}[rec["message"].(string)] {
					t.Errorf("line %s: wrong level", line)
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("messages %q, want %q\n%s", got, tt.want, out)
			}
		})
	}
}

// jsonLogChild serves three events on a router with no Logger: a rejection,
// a failure and a handler logging through lambdacontext.NewLogger.
func jsonLogChild(t *testing.T) {
	r := ws.NewRouter()
	mine := lambdacontext.NewLogger()
	r.OnRoute("sendmessage", func(ctx context.Context, req *ws.Request) error {
		switch string(req.Body) {
		case "reject":
			return ws.Reject(403, "no")
		case "fail":
			return os.ErrPermission
		}
		mine.InfoContext(ctx, "mine")
		return nil
	})
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "8f5c0bd4-5e2e-4a2c-9f0f-3c1d4a1e2b3c"})
	for _, body := range []string{"reject", "fail", "log"} {
		e := event(t, "sendmessage")
		e.Body = body
		if _, err := r.Handler(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
}
