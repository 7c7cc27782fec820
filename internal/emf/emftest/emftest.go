// Package emftest checks CloudWatch Embedded Metric Format documents against
// the specification's rules, for the tests of packages that write them.
package emftest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/lambdaws/lambdaws/internal/emf"
)

// units are the units the EMF specification allows (CloudWatch's StandardUnit).
var units = map[string]bool{
	"Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true, "Kilobytes": true,
	"Megabytes": true, "Gigabytes": true, "Terabytes": true, "Bits": true, "Kilobits": true, "Megabits": true,
	"Gigabits": true, "Terabits": true, "Percent": true, "Count": true, "Bytes/Second": true,
	"Kilobytes/Second": true, "Megabytes/Second": true, "Gigabytes/Second": true, "Terabytes/Second": true,
	"Bits/Second": true, "Kilobits/Second": true, "Megabits/Second": true, "Gigabits/Second": true,
	"Terabits/Second": true, "Count/Second": true, "None": true,
}

// Validate checks one EMF document (a line of output) against the rules of
// the specification
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html)
// and returns its metric values by name: an object with an _aws member
// holding an integer Timestamp and CloudWatchMetrics directives, each with a
// Namespace, dimension sets of at most 30 keys naming string members of 1 to
// 1024 bytes, and at most 100 metric definitions naming number or array (at
// most 100) members, with CloudWatch units; no name both a dimension and a
// metric, no metric defined twice.
func Validate(line []byte) (map[string][]float64, error) {
	var root map[string]json.RawMessage
	if err := json.Unmarshal(line, &root); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	var meta struct {
		Timestamp         *json.Number
		CloudWatchMetrics []struct {
			Namespace  *string
			Dimensions *[][]string
			Metrics    []struct {
				Name              *string
				Unit              *string
				StorageResolution *int
			}
		}
	}
	raw, ok := root["_aws"]
	if !ok {
		return nil, fmt.Errorf("no _aws member")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&meta); err != nil {
		return nil, fmt.Errorf("_aws: %v", err)
	}
	if meta.Timestamp == nil {
		return nil, fmt.Errorf("_aws.Timestamp missing")
	}
	if ms, err := meta.Timestamp.Int64(); err != nil || ms <= 0 {
		return nil, fmt.Errorf("_aws.Timestamp %v is not a positive integer of milliseconds", meta.Timestamp)
	}
	if meta.CloudWatchMetrics == nil {
		return nil, fmt.Errorf("_aws.CloudWatchMetrics missing")
	}
	values := map[string][]float64{}
	for i, d := range meta.CloudWatchMetrics {
		if d.Namespace == nil || len(*d.Namespace) < 1 || len(*d.Namespace) > 1024 {
			return nil, fmt.Errorf("directive %d: Namespace missing or not 1–1024 characters", i)
		}
		if d.Dimensions == nil {
			return nil, fmt.Errorf("directive %d: Dimensions missing", i)
		}
		dims := map[string]bool{}
		for _, set := range *d.Dimensions {
			if len(set) > emf.MaxDimensions {
				return nil, fmt.Errorf("directive %d: a dimension set has %d keys, over 30", i, len(set))
			}
			for _, k := range set {
				var v string
				if err := json.Unmarshal(root[k], &v); err != nil {
					return nil, fmt.Errorf("dimension %q: no string member at the root", k)
				}
				if v == "" || len(v) > emf.MaxDimensionValue || !utf8.ValidString(v) {
					return nil, fmt.Errorf("dimension %q: value of %d bytes, want 1–1024 of UTF-8", k, len(v))
				}
				dims[k] = true
			}
		}
		if len(d.Metrics) > emf.MaxMetrics {
			return nil, fmt.Errorf("directive %d: %d metrics, over 100", i, len(d.Metrics))
		}
		for _, m := range d.Metrics {
			if m.Name == nil || *m.Name == "" || len(*m.Name) > 1024 {
				return nil, fmt.Errorf("directive %d: metric without a name of 1–1024 characters", i)
			}
			name := *m.Name
			if dims[name] {
				return nil, fmt.Errorf("%q is both a metric and a dimension", name)
			}
			if m.Unit != nil && !units[*m.Unit] {
				return nil, fmt.Errorf("metric %q: unit %q is not a CloudWatch unit", name, *m.Unit)
			}
			if m.StorageResolution != nil && *m.StorageResolution != 1 && *m.StorageResolution != 60 {
				return nil, fmt.Errorf("metric %q: StorageResolution %d", name, *m.StorageResolution)
			}
			var one float64
			var many []float64
			if err := json.Unmarshal(root[name], &one); err == nil {
				many = []float64{one}
			} else if err := json.Unmarshal(root[name], &many); err != nil || len(many) == 0 {
				return nil, fmt.Errorf("metric %q: no number or array of numbers at the root", name)
			}
			if len(many) > emf.MaxValues {
				return nil, fmt.Errorf("metric %q: %d values, over 100", name, len(many))
			}
			if _, dup := values[name]; dup {
				return nil, fmt.Errorf("metric %q defined twice", name)
			}
			values[name] = many
		}
	}
	return values, nil
}
