// Package testenv starts and finds the real components that lambdaws tests run
// against: dynalite (a DynamoDB-compatible server installed by
// `npm ci --prefix tools`), Pushpin and Chromium (Debian packages installed by
// scripts/deps.sh).
//
// Tests that start processes are integration tests: they run only with
// LAMBDAWS_INTEGRATION=1 (set by `make test`), and skip otherwise with a
// message that says so (see Integration), so that plain `go test ./...` runs
// the fast unit tests whatever is installed. Under LAMBDAWS_INTEGRATION=1 a
// missing component fails the test: in CI a missing component is a broken
// setup, not a reason to pass. LockedBuffer collects what tests read while
// others write.
package testenv
