package sender

import "time"

// ResolveEndpointWith is resolveEndpoint for the tests of package
// sender_test: the fuzzer cannot pass its inputs through the environment
// (t.Setenv refuses NUL bytes).
var ResolveEndpointWith = resolveEndpoint

// SetJitter makes the backoffs of s deterministic: f replaces the random
// choice in [0, ceil].
func SetJitter(s *Client, f func(ceil time.Duration) time.Duration) { s.jitter = f }
