// Package sender is the client of the API Gateway management API
// (@connections): it sends messages to WebSocket connections, inspects and
// closes them, and broadcasts to many.
//
// # Endpoints
//
// A [Client] talks to one API stage. [NewForEndpoint] takes its URL, usually
// from [ResolveEndpoint], which derives it from an event's request context
// (environment override, local emulator, execute-api URL, custom domain; see
// its rules). Outside a WebSocket invocation (an SQS or scheduled Lambda)
// pass the endpoint yourself or set WEBSOCKET_API_GATEWAY_ENDPOINT. A [Pool]
// keeps one Client per endpoint. The AWS configuration is loaded on the first
// call, never at init. [New] wraps any [API], such as a test fake.
//
// # Errors
//
// Failures are [*Error] values that match the sentinels with errors.Is:
// [ErrGone] (410: the connection is closed; drop it), [ErrThrottled] (429),
// [ErrTooLarge] (413, or a payload over 131072 bytes refused before the
// network) and [ErrForbidden] (403). No SDK types are needed to handle them.
//
// # Retries
//
// 429 and 5xx responses are retried with jittered exponential backoff, up to
// Options.MaxAttempts calls and never past the context deadline; 403, 410
// and 413 are not retried. The Client owns retrying: the SDK client's own
// retryer is replaced by aws.NopRetryer, so attempts are not multiplied.
//
// # Broadcast
//
// [Client.Broadcast] reads connection ids from an iterator as it sends, with
// bounded concurrency, so memory stays flat however many there are. It can
// skip the originating connection, reports gone connections through a
// callback (to delete them from a store), and returns exact counts:
// Sent + Gone + Failed equals the number of ids read.
//
// Bodies of messages are never logged; [Options].Logger receives retries and
// broadcast summaries at debug level.
package sender
