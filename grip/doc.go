// Package grip serves the handlers of a ws.Router behind a GRIP proxy —
// Pushpin, self-hosted, or Fastly Fanout — through the WebSocket-over-HTTP
// protocol, so that code written for API Gateway WebSocket APIs runs
// unchanged without AWS, or on Lambda behind an HTTP endpoint.
//
// The proxy holds the client's WebSocket and turns its activity into HTTP
// POSTs of events (OPEN, TEXT, BINARY, PING, PONG, CLOSE, DISCONNECT); a
// Handler turns each into the API Gateway event the router expects ($connect
// with the handshake's headers and query, $default with the message, routed
// by its "action" inside the function, $disconnect with the close code),
// built field by field as the local emulator builds them (package
// internal/apigw), and answers with the events to send back:
//
//	opts, err := grip.OptionsFromEnv()   // GRIP_URL, GRIP_VERIFY_KEY, ... (or fill in grip.Options)
//	h, err := grip.New(ws.DefaultRouter, opts)
//	http.ListenAndServe("127.0.0.1:8080", h)  // behind Pushpin (h.Serve(ctx, ln) stops when ctx is done)
//	lambda.Start(h.Lambda)                    // or behind an API Gateway REST API (h.LambdaV2: HTTP API, function URL)
//
// # Sending
//
// ws.SendMessage, ws.Reply and ws.Close work as on API Gateway. To the
// connection being served, messages ride in the HTTP response (with the "m:"
// prefix Pushpin requires). Any other connection is reached by publishing to
// its own channel, "conn-<id>" (after Options.Prefix), to which every
// connection is subscribed at OPEN; the publish API is GRIP_URL (Pushpin:
// http://localhost:5561/). Outside a request, send with
// ws.ContextWithSender(ctx, h.Sender()).
// Info knows only the connection being served (the proxy has no lookup); for
// others it fails with ErrUnsupported.
// Unlike on API Gateway, a Reply from $connect succeeds: it is sent right
// after the handshake. Once the response is written, a message or a close
// for the connection being served (from a goroutine the handler started, with
// context.WithoutCancel) is published to its own channel like any other; what
// only a response carries (Join, Leave, SetMeta) then fails with
// ErrUnsupported. A reply after the connection closed, or after its $connect
// refused it, fails with sender.ErrGone. Pushpin limits a response body to
// 1,000,000 bytes.
//
// # Channels
//
// Handler.Channels is the GRIP ws.Channels: the proxy keeps channel
// membership, so a broadcast is one publish instead of one call per member.
// Join and Leave apply to the connection being served (a control message in
// the response; the proxy cannot subscribe another connection, so that fails
// with ErrUnsupported). Publish's except uses Pushpin's skip-self filter: the
// subscriptions carry it, the connection's "user" session meta is its id, and
// the item's "sender" meta is except. A subscription is active a moment after
// the response that made it (tens of milliseconds in Pushpin), not at once.
// Channel c is the proxy channel "c" (after Options.Prefix), the name any
// other GRIP publisher (js-grip, Django, a Fanout client) publishes to.
// Names beginning with "conn-", the connections' own channels, fail with
// ErrInvalid: no channel name a client picks reads, writes to or closes
// another connection.
//
// # Meta
//
// GRIP meta is per-connection state kept by the proxy: Meta reads it,
// SetMeta changes it (Set-Meta-* response headers). It is also the event's
// authorizer context, so req.AuthorizerContext()["name"] reads it on every
// transport.
//
// # Security
//
// With a key configured (Options.Key, or the Publisher's verify-key;
// OptionsFromEnv reads GRIP_VERIFY_KEY and GRIP_URL) every request must carry a valid Grip-Sig JWT: HS256 with a
// shared key (Pushpin's sig_key) or ES256 with a public key, PEM or JWK
// (Fastly Fanout), with the algorithm pinned by the key, "exp" required and
// "iss" checked when configured; anything else gets 401. Without a key,
// requests are not verified, and the back end must be reachable by the proxy
// only.
//
// req.SourceIP() is the last X-Forwarded-For entry, the one the proxy
// appended (Pushpin does with x_forwarded_for=truncate:0,append), never one
// the client wrote; Options.TrustedHops counts more proxies in front.
//
// # HTTP streaming and long-polling
//
// Hold makes the proxy hold a response open on channels (Grip-Hold: stream
// or response); Publisher.Publish with HTTPStream or HTTPResponse items
// feeds it. Serve such handlers through Options.HTTP.
//
// # Running behind Pushpin
//
// The repository's docs/grip.md has a Pushpin configuration that runs on loopback and the command lines that
// serve the chat example through it.
package grip
