package logs

// Fields about the WebSocket event.
const (
	// ConnectionID is the API Gateway connection id.
	ConnectionID = "connectionId"
	// Route is the route key served ("$connect", "$default", "sendmessage").
	Route = "route"
	// GatewayRequestID is API Gateway's id of the request (the event's
	// requestContext.requestId), as clients see it in error frames. It is not
	// the Lambda request id, which Lambda's JSON format calls RequestID.
	GatewayRequestID = "gatewayRequestId"
	// RequestID is the Lambda request id of the invocation (lambdacontext's
	// AwsRequestID), which lambdacontext.NewLogHandler adds to every line.
	RequestID = "requestId"
	// EventType is the event's requestContext.eventType.
	EventType = "eventType"
	// Status is the HTTP status an event is answered with.
	Status = "status"
	// Reason is a rejection's or a close's reason.
	Reason = "reason"
	// Path is an HTTP request's path (package grip).
	Path = "path"
	// Type is a WebSocket-over-HTTP event's type (package grip).
	Type = "type"
)

// Fields about failures.
const (
	// Error is an error's text.
	Error = "error"
	// Stack is the stack of a recovered panic.
	Stack = "stack"
)

// Fields about management API calls and broadcasts.
const (
	Op           = "op"
	Attempt      = "attempt"
	Delay        = "delay"
	Sent         = "sent"
	Gone         = "gone"
	Failed       = "failed"
	NotAttempted = "notAttempted"
)

// Fields about Lambda invocations.
const (
	// Function is the logical name of the function invoked.
	Function = "function"
	// Duration is how long an invocation or a call took.
	Duration = "duration"
	// Start is "cold" or "warm".
	Start = "start"
)
