package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// The output of lambdaws local goes to stdout through one *syncWriter, in
// whole lines. With --log-format json every line is one JSON object: the
// command's own lines (warnings, builds, the API's address) and the
// functions' lines that are not JSON objects are wrapped as
// {"timestamp", "level", "message"} (with "function" for a function's), and
// a function's JSON lines pass through as they are, as CloudWatch keeps
// them. In both formats durations are in milliseconds (durationMs=12.5),
// and in text a panic's stack logged by a function (stack="...") is printed
// as its lines.

// newLogger returns the logger of the gateway and the functions'
// environments, writing to out in format ("text" or "json").
func newLogger(format string, out io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			return milliseconds(groups, lambdacontext.ReplaceAttr(groups, a))
		}}))
	}
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{ReplaceAttr: milliseconds}))
}

// milliseconds logs a duration attribute "x" as "xMs", a number of
// milliseconds rounded to the microsecond.
func milliseconds(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindDuration {
		return a
	}
	ms := float64(a.Value.Duration()) / float64(time.Millisecond)
	return slog.Float64(a.Key+"Ms", math.Round(ms*1000)/1000)
}

// jsonLines is the stdout of lambdaws local with --log-format json: it
// wraps each line that is not a JSON object as an INFO object ("warning: "
// lines as WARN, "error: " lines as ERROR).
type jsonLines struct {
	w   io.Writer
	now func() time.Time
}

func (j *jsonLines) Write(p []byte) (int, error) {
	var b []byte
	for line := range bytes.Lines(p) {
		line = bytes.TrimSuffix(line, []byte("\n"))
		if isJSONObject(line) {
			b = append(append(b, line...), '\n')
			continue
		}
		level, msg := "INFO", string(line)
		if rest, ok := strings.CutPrefix(msg, "warning: "); ok {
			level, msg = "WARN", rest
		} else if rest, ok := strings.CutPrefix(msg, "error: "); ok {
			level, msg = "ERROR", rest
		}
		b = appendLine(b, j.now(), level, "", msg)
	}
	if _, err := j.w.Write(b); err != nil {
		return 0, err
	}
	return len(p), nil
}

// appendLine appends a wrapped line as one JSON object.
func appendLine(b []byte, t time.Time, level, function, msg string) []byte {
	line := struct {
		Timestamp string `json:"timestamp"`
		Level     string `json:"level"`
		Function  string `json:"function,omitempty"`
		Message   string `json:"message"`
	}{t.UTC().Format(time.RFC3339Nano), level, function, msg}
	enc, _ := json.Marshal(line) // strings only: it cannot fail
	return append(append(b, enc...), '\n')
}

func isJSONObject(line []byte) bool {
	line = bytes.TrimSpace(line)
	return len(line) > 0 && line[0] == '{' && json.Valid(line)
}

// functionOutput is a function's Output: lambdaenv writes it one whole line
// at a time, prefixed with "name: ".
type functionOutput struct {
	name   string
	format string
	out    io.Writer
	now    func() time.Time
}

func newFunctionOutput(name, format string, out io.Writer) *functionOutput {
	return &functionOutput{name: name, format: format, out: out, now: time.Now}
}

func (f *functionOutput) Write(p []byte) (int, error) {
	prefix := f.name + ": "
	var b []byte
	for line := range bytes.Lines(p) {
		text := strings.TrimSuffix(strings.TrimPrefix(string(line), prefix), "\n")
		if f.format == "json" {
			if isJSONObject([]byte(text)) {
				b = append(append(b, text...), '\n')
			} else {
				b = appendLine(b, f.now(), "INFO", f.name, text)
			}
			continue
		}
		text, stack := cutStack(text)
		b = append(append(append(b, prefix...), text...), '\n')
		for s := range strings.Lines(stack) {
			b = append(append(append(append(b, prefix...), "    "...), strings.TrimSuffix(s, "\n")...), '\n')
		}
	}
	if _, err := f.out.Write(b); err != nil {
		return 0, err
	}
	return len(p), nil
}

// cutStack finds the stack of a panic in a log line: slog's text form
// stack="goroutine 7 [running]:\n..." (which it removes from the line), or a
// JSON object's "stack" string (which stays). It returns the line and the
// stack, "" if none.
func cutStack(line string) (string, string) {
	if i := strings.Index(line, ` stack="`); i >= 0 {
		quoted, err := strconv.QuotedPrefix(line[i+len(` stack=`):])
		if err == nil {
			stack, err := strconv.Unquote(quoted)
			if err == nil && strings.Contains(stack, "\n") {
				return line[:i] + line[i+len(` stack=`)+len(quoted):], stack
			}
		}
	}
	if isJSONObject([]byte(line)) {
		var v struct {
			Stack string `json:"stack"`
		}
		if json.Unmarshal([]byte(line), &v) == nil && strings.Contains(v.Stack, "\n") {
			return line, v.Stack
		}
	}
	return line, ""
}
