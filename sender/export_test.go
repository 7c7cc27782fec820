package sender

// ResolveEndpointWith is resolveEndpoint for the tests of package
// sender_test: the fuzzer cannot pass its inputs through the environment
// (t.Setenv refuses NUL bytes).
var ResolveEndpointWith = resolveEndpoint
