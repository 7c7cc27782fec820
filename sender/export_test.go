package sender

import "time"

// ResolveEndpointWith is resolveEndpoint for the tests of package
// sender_test: the fuzzer cannot pass its inputs through the environment
// (t.Setenv refuses NUL bytes).
var ResolveEndpointWith = resolveEndpoint

// SetJitter makes backoffs deterministic for a test: f replaces the random
// choice in [0, ceil] until the test ends.
func SetJitter(t interface{ Cleanup(func()) }, f func(ceil time.Duration) time.Duration) {
	old := jitter
	jitter = f
	t.Cleanup(func() { jitter = old })
}
