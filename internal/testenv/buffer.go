package testenv

import (
	"bytes"
	"sync"
)

// A LockedBuffer is an io.Writer that a test reads while goroutines or
// processes write to it: a log, a process's output. It keeps the first
// Max bytes written (all if Max is 0) and drops the rest. The zero value
// is ready to use.
type LockedBuffer struct {
	Max int

	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p, up to Max bytes in all; it never fails.
func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := len(p)
	if b.Max > 0 {
		k = min(k, max(0, b.Max-b.buf.Len()))
	}
	b.buf.Write(p[:k])
	return len(p), nil
}

// String returns what was kept so far.
func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
