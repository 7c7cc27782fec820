package emf_test

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdaws/lambdaws/internal/emf"
	"github.com/lambdaws/lambdaws/internal/emf/emftest"
)

// write returns the documents s writes, each validated.
func write(t *testing.T, s *emf.Set) []map[string][]float64 {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Write(&buf, "lambdaws", time.UnixMilli(1764614400123)); err != nil {
		t.Fatal(err)
	}
	var docs []map[string][]float64
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		v, err := emftest.Validate(sc.Bytes())
		if err != nil {
			t.Fatalf("invalid EMF document: %v\n%s", err, sc.Bytes())
		}
		docs = append(docs, v)
	}
	return docs
}

func TestShape(t *testing.T) {
	s := emf.NewSet("Service", "chat", "Route", "sendmessage")
	s.Count("Messages", 1)
	s.Count("Sent", 3)
	s.Count("Sent", 4)
	s.Count("Errors", 0)
	s.Duration("Duration", 1500*time.Microsecond)
	var buf bytes.Buffer
	if err := s.Write(&buf, "lambdaws", time.UnixMilli(1764614400123)); err != nil {
		t.Fatal(err)
	}
	want := `{"Duration":1.5,"Errors":0,"Messages":1,"Route":"sendmessage","Sent":7,"Service":"chat","_aws":{"Timestamp":1764614400123,` +
		`"CloudWatchMetrics":[{"Namespace":"lambdaws","Dimensions":[["Service","Route"]],"Metrics":[{"Name":"Messages","Unit":"Count"},` +
		`{"Name":"Sent","Unit":"Count"},{"Name":"Errors","Unit":"Count"},{"Name":"Duration","Unit":"Milliseconds"}]}]}}` + "\n"
	if buf.String() != want {
		t.Errorf("got  %s\nwant %s", buf.String(), want)
	}
	if _, err := emftest.Validate(buf.Bytes()); err != nil {
		t.Error(err)
	}
}

func TestManyMetricsSplitOverDirectives(t *testing.T) {
	s := emf.NewSet("Service", "chat")
	for i := range 250 {
		s.Count(fmt.Sprintf("M%03d", i), i)
	}
	docs := write(t, s)
	if len(docs) != 1 || len(docs[0]) != 250 {
		t.Fatalf("got %d documents, the first with %d metrics; want 1 with 250", len(docs), len(docs[0]))
	}
	if docs[0]["M249"][0] != 249 {
		t.Errorf("M249 = %v", docs[0]["M249"])
	}
}

func TestManyValuesSplitOverDocuments(t *testing.T) {
	s := emf.NewSet("Service", "chat")
	s.Count("Sent", 250)
	for i := range 250 {
		s.Duration("SendDuration", time.Duration(i)*time.Millisecond)
	}
	docs := write(t, s)
	if len(docs) != 3 {
		t.Fatalf("%d documents, want 3", len(docs))
	}
	var all []float64
	sent := 0.0
	for _, d := range docs {
		all = append(all, d["SendDuration"]...)
		for _, v := range d["Sent"] {
			sent += v
		}
	}
	if len(all) != 250 || all[249] != 249 || sent != 250 {
		t.Errorf("%d durations (last %v), Sent %v: values lost or counted twice", len(all), all[len(all)-1], sent)
	}
}

func TestDimensionLimits(t *testing.T) {
	long := strings.Repeat("é", 600) // 1200 bytes
	docs := write(t, NewSetCounted(long))
	if len(docs) != 1 {
		t.Fatal("no document")
	}
	defer func() {
		if recover() == nil {
			t.Error("NewSet with 31 dimensions did not panic")
		}
	}()
	dims := make([]string, 62)
	for i := range dims {
		dims[i] = fmt.Sprint("D", i)
	}
	emf.NewSet(dims...)
}

// newSetCounted is a Set with a Route dimension of value route and one count.
func NewSetCounted(route string) *emf.Set {
	s := emf.NewSet("Service", "chat", "Route", route)
	s.Count("Messages", 1)
	return s
}

func TestEmptySetWritesNothing(t *testing.T) {
	if docs := write(t, emf.NewSet("Service", "chat")); len(docs) != 0 {
		t.Errorf("wrote %v", docs)
	}
}

func TestConcurrentCounts(t *testing.T) {
	s := emf.NewSet("Service", "chat")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				s.Count("Sent", 1)
				s.Duration("SendDuration", time.Millisecond)
			}
		}()
	}
	wg.Wait()
	docs := write(t, s)
	if docs[0]["Sent"][0] != 800 || len(docs) != 8 {
		t.Errorf("Sent %v in %d documents, want 800 in 8", docs[0]["Sent"], len(docs))
	}
}

func TestValidateCatchesBrokenDocuments(t *testing.T) {
	bad := []string{
		`{"Sent":1}`,
		`{"_aws":{"CloudWatchMetrics":[]},"Sent":1}`,
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["Service"]],"Metrics":[{"Name":"Sent"}]}]},"Sent":1}`,
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"Sent"}]}]},"Sent":"1"}`,
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"Sent","Unit":"Things"}]}]},"Sent":1}`,
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"","Dimensions":[[]],"Metrics":[]}]}}`,
	}
	for _, b := range bad {
		if _, err := emftest.Validate([]byte(b)); err == nil {
			t.Errorf("accepted %s", b)
		}
	}
}
