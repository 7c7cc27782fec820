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
// is a cache of Clients, one per endpoint. The AWS configuration is loaded on the first
// call, never at init.
//
// # Calls
//
// A Client from NewForEndpoint or a Pool makes the SDK client's requests
// itself: SigV4 with the SDK's signer and credential chain, the same paths,
// headers and error parsing, over net/http (the AWS configuration's HTTP
// client, or Options.HTTPClient), at a fraction of the SDK client's CPU per
// call. [New] wraps any [API] instead: the
// SDK's *apigatewaymanagementapi.Client or a test fake.
//
// # Errors
//
// Failures are [*Error] values that match the sentinels with errors.Is:
// [ErrGone] (410: the connection is closed; drop it), [ErrThrottled] (429),
// [ErrTooLarge] (413, or a payload over 131072 bytes refused before the
// network), [ErrForbidden] (403) and [ErrInvalidID] (an id that cannot name a
// connection, such as "", refused before the network; see [ValidID]). No SDK types are needed to handle them.
// The status is read from the management API's own response only, never
// from an error nested in it (such as the credential chain's).
//
// # Retries
//
// 429 and 5xx (500-599) responses are retried with jittered exponential backoff, up to
// Options.MaxAttempts calls and never past the context deadline; 403, 410
// and 413 are not retried. The Client owns retrying: the SDK client's own
// retryer is replaced by aws.NopRetryer, so attempts are not multiplied. When
// the context ends during a backoff, or the next backoff would pass its
// deadline, the context's error is returned, wrapping the last attempt's. A send whose connection fails after the
// request went out, before any answer, is not repeated (the message may
// have been delivered): it fails with StatusCode 0, as through the SDK
// client.
//
// # Broadcast
//
// [Client.Broadcast] reads connection ids from an iterator as it sends, with
// bounded concurrency, so memory stays flat however many there are. It can
// skip the originating connection, reports gone connections through a
// callback (to delete them from a store), and returns exact counts:
// Sent + Gone + Failed + NotAttempted equals the number of ids read, with a
// sample of at most 10 failures. It stops early on a failure that would fail
// every send (no credentials, an unknown host), or after 10 answers of 403,
// 404 or a redirect (a missing permission, a wrong endpoint) before any send
// went through; an odd id answered so fails alone.
//
// # Pacing
//
// Management API calls draw on the account's API Gateway quota per Region (a
// token bucket of 10,000 requests per second, burst 5,000, by default;
// 2,500 per second in some Regions), shared with all inbound API traffic of
// the account; past it calls get 429. The calls of a process to one endpoint
// (every Client and broadcast) share one adaptive rate controller on a
// golang.org/x/time/rate bucket: unlimited until the first 429; after each
// 100 ms window with 429s, 95 % of the rate the calls succeeded at since the
// first one (multiplicative decrease, never below 100 per second); after a
// window without, 2 % of the rate set at the decrease + 1 more (additive
// increase, only while the rate is what holds the calls back), doubling
// that step every window, up to a quarter of the rate, once the rate has
// been 10 % over what the bucket gave for a second without a 429 (the room
// a concurrent broadcast from another process left); unlimited again after
// a minute without calls. A 429 is retried after at least
// 200 ms, past the controller's reaction. [Options].Rate and [BroadcastOptions].Rate cap
// the rate a Client or a broadcast may take; [Options].DisablePacing turns
// the controller off.
//
// Bodies of messages are never logged; [Options].Logger receives retries and
// broadcast summaries at debug level.
package sender
