// Package inspect is the inspector of `lambdaws local`: a page that shows the
// local API live (connections, their frames, invocations, management API
// calls, execution environments) and acts on it.
//
// A [Recorder] is an observer. The gateway (package local) and the Functions
// (package lambdaenv) publish events to it when their Options.Inspector is
// set; publishing takes a mutex for a few copies into bounded rings and never
// waits for a reader, so a page that is slow, or none, does not slow the
// serving path. With no Recorder the cost is a nil check. What is kept:
//
//   - the last [GlobalEvents] events other than frames (connections,
//     invocations, management API calls, environments, log lines);
//   - per connection, the last [ConnFrames] frames, each cut to
//     [FramePreview] bytes (text) or its first [BinaryPreview] bytes (binary,
//     shown in hex), and its frame counts; the last [ClosedConns] closed
//     connections are kept, older ones forgotten;
//   - of each invocation, its event and response cut to [BodyPreview] bytes.
//
// [Handler] serves the page (files embedded from page/, no build step), an
// event stream (Server-Sent Events: a snapshot, then each event as it
// happens) and the actions (post to a connection, disconnect it). It serves
// only loopback peers, and only requests whose Host is a loopback address
// and which no other site sent (Origin, Sec-Fetch-Site): no web page can
// read it or act through it, by DNS rebinding or cross-site requests.
// Secrets are masked in what it shows: the values of headers that carry
// credentials (Authorization, Cookie, X-Api-Key and the like) and of query
// parameters named like credentials.
package inspect
