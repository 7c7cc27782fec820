// Package testenv starts and finds the real components that lambdaws tests run
// against (see DESIGN.md, "Real components"): today dynalite, a local
// DynamoDB-compatible server installed by `npm ci --prefix tools`.
//
// A component that is missing skips the test with a message that says how to
// get it, unless LAMBDAWS_INTEGRATION=1 (set by `make test`), in which case the
// test fails: in CI a missing component is a broken setup, not a reason to
// pass.
package testenv
