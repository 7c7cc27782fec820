package inspect

import (
	"strconv"
	"testing"
)

// BenchmarkPublish measures what the serving path pays per event with an
// inspector: a frame of a 45-byte message to one of 200 connections, and a
// management API call, with no page open and with one page's stream (whose
// queue a reader drains).
//
//	go test -run '^$' -bench Publish -benchmem ./internal/inspect
func BenchmarkPublish(b *testing.B) {
	data := []byte(`{"action":"message","text":"hello, everyone"}`)
	ids := make([]string, 200)
	for i := range ids {
		ids[i] = "conn-" + strconv.Itoa(i) + "="
	}
	for _, page := range []bool{false, true} {
		name := "no-page"
		if page {
			name = "one-page"
		}
		r := New()
		if page {
			_, s := r.subscribe()
			go func() {
				for range s.ch {
				}
			}()
		}
		b.Run("frame/"+name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				r.Frame(ids[i%len(ids)], Out, false, data, 0, "")
				i++
			}
		})
		b.Run("manage/"+name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				r.Publish(Event{Kind: KindManage, Method: "POST", Conn: ids[i%len(ids)], Status: 200, Size: len(data)})
				i++
			}
		})
		r.Close()
	}
}
