// Command echo is the smallest lambdaws program, written with the
// package-level (decorator-style) registration of package ws.
//
// Messages are JSON objects routed by their "action" field:
//
//	{"action":"echo","data":X}  →  {"type":"echo","data":X}
//	{"action":"ping"}           →  {"type":"pong"}
//	{"action":"A"}              →  {"type":"error","message":"Unknown action: A"}
//
// A message without an action, or that is not JSON, gets
// {"type":"error","message":"Missing action"}. Every answer is sent with
// ws.Reply (the management API), not as a two-way route response, so it works
// on a deployed API whose routes are one-way (template.yaml).
//
// Inside AWS Lambda (AWS_LAMBDA_RUNTIME_API is set) it serves the API Gateway
// events; anywhere else it serves the same handlers behind the local API
// Gateway emulator:
//
//	go run ./examples/echo -addr 127.0.0.1:8080
package main
