package emf

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"sync"
	"time"
	"unicode/utf8"
)

// Limits of the EMF specification.
const (
	MaxMetrics        = 100  // metric definitions per directive
	MaxDimensions     = 30   // dimension keys per dimension set
	MaxValues         = 100  // values of one metric in one document
	MaxDimensionValue = 1024 // bytes of a dimension value
)

// Units used by lambdaws.
const (
	Count        = "Count"
	Milliseconds = "Milliseconds"
)

// Set accumulates metrics sharing one dimension set until written. Counts
// add up; durations keep every value. It is safe for concurrent use.
type Set struct {
	mu     sync.Mutex
	dims   []string // name, value, name, value…
	names  []string // metrics in the order first recorded
	units  map[string]string
	values map[string][]float64
}

// NewSet returns an empty Set with the dimensions given as name, value
// pairs. It panics for an odd count or more than MaxDimensions dimensions;
// values are cut to MaxDimensionValue bytes.
func NewSet(dims ...string) *Set {
	if len(dims)%2 != 0 || len(dims)/2 > MaxDimensions {
		panic("emf: NewSet needs name, value pairs, at most 30")
	}
	d := make([]string, len(dims))
	for i, v := range dims {
		if i%2 == 1 {
			v = truncate(v, MaxDimensionValue)
		}
		d[i] = v
	}
	return &Set{dims: d, units: map[string]string{}, values: map[string][]float64{}}
}

// Count adds n to the count metric name.
func (s *Set) Count(name string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.define(name, Count) {
		s.values[name] = []float64{0}
	}
	s.values[name][0] += float64(n)
}

// Duration records d, in milliseconds, as a value of metric name.
func (s *Set) Duration(name string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.define(name, Milliseconds)
	s.values[name] = append(s.values[name], float64(d.Microseconds())/1000)
}

// define records name's unit the first time it is seen and reports whether it
// was new.
func (s *Set) define(name, unit string) bool {
	if _, ok := s.units[name]; ok {
		return false
	}
	s.names = append(s.names, name)
	s.units[name] = unit
	return true
}

type metricDef struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type directive struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []metricDef `json:"Metrics"`
}

type metadata struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

// Write writes the recorded metrics to w as EMF documents in namespace, one
// per line, timestamped now: one document, or more when a metric has more
// than MaxValues values. Each line is one Write call. A Set with nothing
// recorded writes nothing.
func (s *Set) Write(w io.Writer, namespace string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for i := 0; i < len(s.dims); i += 2 {
		keys = append(keys, s.dims[i])
	}
	for chunk := 0; ; chunk++ {
		root := map[string]any{}
		var defs []metricDef
		for _, name := range s.names {
			v := s.values[name]
			lo := chunk * MaxValues
			if lo >= len(v) {
				continue
			}
			v = v[lo:min(lo+MaxValues, len(v))]
			defs = append(defs, metricDef{name, s.units[name]})
			if len(v) == 1 {
				root[name] = v[0]
			} else {
				root[name] = v
			}
		}
		if len(defs) == 0 {
			return nil
		}
		meta := metadata{Timestamp: now.UnixMilli()}
		for len(defs) > 0 {
			n := min(len(defs), MaxMetrics)
			meta.CloudWatchMetrics = append(meta.CloudWatchMetrics,
				directive{Namespace: namespace, Dimensions: [][]string{keys}, Metrics: defs[:n]})
			defs = defs[n:]
		}
		for i := 0; i < len(s.dims); i += 2 {
			root[s.dims[i]] = s.dims[i+1]
		}
		root["_aws"] = meta
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(root); err != nil { // one line, ending in \n
			return err
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
	}
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Namespace returns the namespace configured by POWERTOOLS_METRICS_NAMESPACE,
// as Powertools for AWS Lambda reads it, or "" for none.
func Namespace() string { return os.Getenv("POWERTOOLS_METRICS_NAMESPACE") }

// Service returns the Service dimension's value: POWERTOOLS_SERVICE_NAME, as
// Powertools reads it, else the function's name (AWS_LAMBDA_FUNCTION_NAME),
// else "service_undefined" as Powertools says.
func Service() string {
	for _, k := range []string{"POWERTOOLS_SERVICE_NAME", "AWS_LAMBDA_FUNCTION_NAME"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return "service_undefined"
}
