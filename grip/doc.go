// Package grip serves the handlers of a ws.Router behind a GRIP proxy —
// Pushpin, self-hosted, or Fastly Fanout — through the WebSocket-over-HTTP
// protocol, so that code written for API Gateway WebSocket APIs runs
// unchanged without AWS, or on Lambda behind an HTTP endpoint.
//
// The proxy holds the client's WebSocket and turns its activity into HTTP
// POSTs of events (OPEN, TEXT, BINARY, PING, PONG, CLOSE, DISCONNECT); a
// Handler turns each into the API Gateway event the router expects ($connect
// with the handshake's headers and query, $default with the message, routed
// by its "action" inside the function, $disconnect with the close code) and
// answers with the events to send back:
//
//	h, err := grip.New(ws.DefaultRouter, nil) // GRIP_URL, GRIP_VERIFY_KEY from the environment
//	http.ListenAndServe("127.0.0.1:8080", h)  // behind Pushpin
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
// ws.ContextWithSender(ctx, r.Sender): New sets r.Sender to the proxy's. Info knows only the connection being
// served (the proxy has no lookup); for others it fails with ErrUnsupported.
// Unlike on API Gateway, a Reply from $connect succeeds: it is sent right
// after the handshake. A reply after the connection closed fails with
// sender.ErrGone. Pushpin limits a response body to 1,000,000 bytes.
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
//
// # Meta
//
// GRIP meta is per-connection state kept by the proxy: Meta reads it,
// SetMeta changes it (Set-Meta-* response headers). It is also the event's
// authorizer context, so req.Authorizer()["name"] reads it on every
// transport.
//
// # Security
//
// With a key configured (Options.Key, GRIP_VERIFY_KEY, or verify-key in
// GRIP_URL) every request must carry a valid Grip-Sig JWT: HS256 with a
// shared key (Pushpin's sig_key) or ES256 with a public key, PEM or JWK
// (Fastly Fanout), with the algorithm pinned by the key, "exp" required and
// "iss" checked when configured; anything else gets 401. Without a key,
// requests are not verified, and the back end must be reachable by the proxy
// only.
//
// # HTTP streaming and long-polling
//
// Hold makes the proxy hold a response open on channels (Grip-Hold: stream
// or response); Publisher.Publish with HTTPStream or HTTPResponse items
// feeds it. Serve such handlers through Options.HTTP.
//
// # Running behind Pushpin
//
// Debian's pushpin package (1.36) ships a configuration that expects a
// system-wide zurl, which is not running; this one has pushpin start its own
// (everything on loopback):
//
//	mkdir -p /tmp/pushpin && cat > /tmp/pushpin/pushpin.conf <<'EOF'
//	[global]
//	include={libdir}/internal.conf
//	rundir=/tmp/pushpin/run
//	[runner]
//	services=condure,zurl,pushpin-proxy,pushpin-handler
//	http_port=127.0.0.1:7999
//	logdir=/tmp/pushpin/log
//	[proxy]
//	zurl_out_specs=ipc://{rundir}/{ipc_prefix}zurl-in
//	zurl_out_stream_specs=ipc://{rundir}/{ipc_prefix}zurl-in-stream
//	zurl_in_specs=ipc://{rundir}/{ipc_prefix}zurl-out
//	sig_key=changeme
//	[handler]
//	push_in_http_addr=127.0.0.1
//	push_in_http_port=5561
//	EOF
//	GRIP_VERIFY_KEY=changeme go run ./examples/chat -grip -addr 127.0.0.1:8080 &
//	pushpin --config /tmp/pushpin/pushpin.conf --route '* 127.0.0.1:8080,over_http'
//
// Clients connect to ws://127.0.0.1:7999/ (the page is http://127.0.0.1:7999/).
// The routes line "* 127.0.0.1:8080,over_http" sends every client to the
// back end over WebSocket-over-HTTP; put it in a routes file next to the
// configuration instead of --route to keep it. The back end publishes to
// GRIP_URL (the chat's default is http://localhost:5561/) and, with
// GRIP_VERIFY_KEY set to pushpin's sig_key, refuses requests that did not
// come through pushpin. Choose your own sig_key outside a laptop.
//
// # Roadmap
//
//   - events.go: the WebSocket-over-HTTP event codec (DecodeEvents,
//     AppendEvents, EncodeEvents, CloseEvent).
//   - handler.go: Handler, Options, New, ServeHTTP, the event mapping, Meta
//     and SetMeta.
//   - send.go: the ws.Sender and ws.Channels
//     (Handler.Channels) over the response and the publish API.
//   - lambda.go: Handler.Lambda and Handler.LambdaV2 for API Gateway proxy
//     events.
//   - publish.go: Publisher, GRIP_URL parsing, Item and its formats.
//   - jwt.go: Key, ParseKey, Grip-Sig verification (standard library only).
//   - hold.go: Hold and HoldOptions for HTTP streaming and long-polling.
package grip
