package connstore

import "time"

// SetClock makes s read the time from now: tests move it past TTLs.
func SetClock(s *DynamoDB, now func() time.Time) { s.now = now }
