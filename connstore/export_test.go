package connstore

import "time"

// SetClock makes s read the time from now: tests move it past TTLs.
func SetClock(s *DynamoDB, now func() time.Time) { s.now = now }

// MemberPK is the partition key of id's membership item in channel.
func MemberPK(s *DynamoDB, id, channel string) string { return s.memberPK(id, channel) }
