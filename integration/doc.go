// Package integration holds the end-to-end tests of lambdaws: real WebSocket
// clients (github.com/coder/websocket, headless Chromium) talk to the example
// programs, built once by TestMain and run as separate processes behind the
// local API Gateway emulator, and to small routers served in-process; the
// chat also runs against dynalite (a DynamoDB-compatible server) and the
// management API is called with the real aws-sdk-go-v2 client.
//
// Missing external components (node, dynalite, chromium) skip their tests,
// or fail them under LAMBDAWS_INTEGRATION=1, which `make test` sets.
package integration
