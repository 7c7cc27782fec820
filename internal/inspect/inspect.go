package inspect

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// What a Recorder keeps (see the package documentation).
const (
	GlobalEvents  = 2000     // events other than frames
	ConnFrames    = 32       // frames per connection
	ClosedConns   = 100      // closed connections, with their frames
	FramePreview  = 1 << 10  // bytes of a text frame
	BinaryPreview = 64       // bytes of a binary frame, shown in hex
	BodyPreview   = 64 << 10 // bytes of an invocation's event and response

	streamBuffer = 4096 // events queued for one page; beyond, the page gets a new snapshot
	maxStreams   = 8    // pages open at once
)

// Kinds of Event.
const (
	KindConn   = "conn"   // a connection opened, is closing or closed
	KindFrame  = "frame"  // a frame in or out
	KindInvoke = "invoke" // an invocation finished
	KindManage = "manage" // a management API call was answered
	KindEnv    = "env"    // an execution environment changed state
	KindLog    = "log"    // a line of a function's output
)

// Directions of a frame, and states of connections and environments.
const (
	In  = "in"
	Out = "out"

	Open    = "open"
	Closing = "closing"
	Closed  = "closed"

	Starting = "starting"
	Busy     = "busy"
	Idle     = "idle"
	Stopped  = "stopped" // with Reason: why (timed out, crashed, reset, closed)
)

// An Event is one thing that happened. Kind says which fields are set.
type Event struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"` // when it happened; of a KindConn event, when the connection opened
	Kind string    `json:"kind"`

	Conn       string         `json:"conn,omitempty"`       // connection id
	State      string         `json:"state,omitempty"`      // conn: Open, Closing, Closed; env: Starting, Busy, Idle, Stopped
	SourceIP   string         `json:"sourceIp,omitempty"`   // conn
	Query      string         `json:"query,omitempty"`      // conn: the handshake's raw query string
	Authorizer map[string]any `json:"authorizer,omitempty"` // conn: principalId and context
	Code       int            `json:"code,omitempty"`       // conn: the close code
	Reason     string         `json:"reason,omitempty"`     // conn: the close reason; env: why it stopped

	Dir    string `json:"dir,omitempty"`    // frame: In or Out
	Binary bool   `json:"binary,omitempty"` // frame
	Size   int    `json:"size,omitempty"`   // frame: bytes; manage: bytes of the request body
	Data   string `json:"data,omitempty"`   // frame: the text, or the hex of a binary frame's first bytes
	Cut    bool   `json:"cut,omitempty"`    // frame, invoke: Data, Payload or Response is cut short
	Note   string `json:"note,omitempty"`   // frame: refused, or not sent; manage: who called
	In     int    `json:"in,omitempty"`     // frame, conn: frames received from the client so far
	Out    int    `json:"out,omitempty"`    // frame, conn: frames sent to the client so far

	Route    string  `json:"route,omitempty"`    // invoke
	Function string  `json:"function,omitempty"` // invoke, env, log
	Request  string  `json:"request,omitempty"`  // invoke, env, log: API Gateway's request id of the invocation
	Cold     bool    `json:"cold,omitempty"`     // invoke, env: a new environment was started for it
	Millis   float64 `json:"ms,omitempty"`       // invoke
	Status   int     `json:"status,omitempty"`   // invoke, manage
	Error    string  `json:"error,omitempty"`    // invoke
	Payload  Body    `json:"event,omitempty"`    // invoke: the event, JSON
	Response Body    `json:"response,omitempty"` // invoke: the function's response, JSON

	Method string `json:"method,omitempty"` // manage

	Env  int64  `json:"env,omitempty"`  // env, log: the environment's number within its function
	Line string `json:"line,omitempty"` // log
}

// Body is JSON text kept as bytes; it is encoded as a JSON string.
type Body []byte

// MarshalJSON encodes b as a string.
func (b Body) MarshalJSON() ([]byte, error) {
	return json.Marshal(string(b))
}

// UnmarshalJSON decodes a string.
func (b *Body) UnmarshalJSON(data []byte) error {
	var s string
	err := json.Unmarshal(data, &s)
	*b = Body(s)
	return err
}

// Cut returns b, or a copy of its first BodyPreview bytes and true if it
// is longer, so that a ring does not hold large buffers.
func Cut(b []byte) (Body, bool) {
	if len(b) <= BodyPreview {
		return b, false
	}
	return Body(slices.Clone(b[:BodyPreview])), true
}

// A Recorder keeps what the gateway and the Functions publish and streams
// it to the pages open. Its methods are safe for concurrent use, and do
// nothing on a nil *Recorder.
type Recorder struct {
	envs atomic.Int64 // numbers environments

	mu      sync.Mutex
	seq     uint64
	global  ring[Event]
	conns   map[string]*connRec
	closed  []string // ids of closed connections, oldest first
	streams map[*stream]bool
	done    bool
}

type connRec struct {
	state  Event
	frames ring[frame]
}

// frame is a KindFrame event as a connection's ring keeps it, in a fifth of
// an Event's size (80 bytes and the preview), since every connection has a
// ring.
type frame struct {
	seq           uint64
	time          int64 // Unix ns
	size, in, out int
	data, note    string
	dirOut        bool // direction Out
	binary, cut   bool
}

func (f *frame) event(conn string) Event {
	e := Event{Seq: f.seq, Time: time.Unix(0, f.time), Kind: KindFrame, Conn: conn, Dir: In, Binary: f.binary, Size: f.size,
		Data: f.data, Cut: f.cut, Note: f.note, In: f.in, Out: f.out}
	if f.dirOut {
		e.Dir = Out
	}
	return e
}

// stream is one page's subscription.
type stream struct {
	ch   chan Event // closed when the stream ends
	lost bool       // it ended because ch was full; set before ch closes
}

// New returns a Recorder.
func New() *Recorder {
	return &Recorder{global: ring[Event]{max: GlobalEvents}, conns: map[string]*connRec{}, streams: map[*stream]bool{}}
}

// Publish records e, setting its Seq and Time. A KindConn event updates the
// connection's state; KindFrame events are better published with Frame.
func (r *Recorder) Publish(e Event) {
	if r == nil {
		return
	}
	e.Time = time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	e.Seq = r.seq
	switch e.Kind {
	case KindFrame:
		c := r.conn(e.Conn)
		if e.Dir == In {
			c.state.In++
		} else {
			c.state.Out++
		}
		e.In, e.Out = c.state.In, c.state.Out
		c.frames.add(frame{e.Seq, e.Time.UnixNano(), e.Size, e.In, e.Out, e.Data, e.Note, e.Dir == Out, e.Binary, e.Cut})
	case KindConn:
		c := r.conn(e.Conn)
		if c.state.State == Closed {
			return // a late closing after the close
		}
		e.In, e.Out = c.state.In, c.state.Out
		if e.State != Open { // keep what the opening said
			s := c.state
			s.Seq, s.State, s.Code, s.Reason = e.Seq, e.State, e.Code, e.Reason
			e = s
		}
		c.state = e
		if e.State == Closed {
			r.closed = append(r.closed, e.Conn)
			if len(r.closed) > ClosedConns {
				delete(r.conns, r.closed[0])
				r.closed = slices.Delete(r.closed, 0, 1)
			}
		}
		r.global.add(e)
	default:
		r.global.add(e)
	}
	for s := range r.streams {
		select {
		case s.ch <- e:
		default: // the page is behind: it gets a new snapshot
			s.lost = true
			r.end(s)
		}
	}
}

// conn returns the record of connection id, creating it. r.mu is held.
func (r *Recorder) conn(id string) *connRec {
	c := r.conns[id]
	if c == nil {
		c = &connRec{state: Event{Kind: KindConn, Conn: id, State: Open}, frames: ring[frame]{max: ConnFrames}}
		r.conns[id] = c
	}
	return c
}

// Frame publishes a frame of connection conn in direction dir, keeping a
// preview of data; size is the frame's length when data is not all of it,
// else 0; note marks a refused frame.
func (r *Recorder) Frame(conn, dir string, binary bool, data []byte, size int, note string) {
	if r == nil {
		return
	}
	e := Event{Kind: KindFrame, Conn: conn, Dir: dir, Binary: binary, Size: max(size, len(data)), Note: note}
	switch {
	case binary || !utf8.Valid(data):
		e.Binary = true
		e.Data = hex.EncodeToString(data[:min(len(data), BinaryPreview)])
		e.Cut = e.Size > BinaryPreview
	default:
		e.Data = string(data[:min(len(data), FramePreview)])
		e.Cut = e.Size > len(e.Data)
	}
	r.Publish(e)
}

// Env returns a new number for an environment of a function.
func (r *Recorder) Env() int64 {
	if r == nil {
		return 0
	}
	return r.envs.Add(1)
}

// Close ends the streams of the pages open and refuses new ones.
func (r *Recorder) Close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = true
	for s := range r.streams {
		r.end(s)
	}
}

// end removes s and closes its channel. r.mu is held.
func (r *Recorder) end(s *stream) {
	if r.streams[s] {
		delete(r.streams, s)
		close(s.ch)
	}
}

// A snapshot is what a page receives first: the connections' states and
// the other events kept. It fetches a connection's frames when it shows
// them.
type snapshot struct {
	Conns  []Event `json:"conns"`
	Events []Event `json:"events"`
}

// subscribe returns a snapshot and a stream of the events after it, or a
// nil stream if the Recorder is closed or too many pages are open.
func (r *Recorder) subscribe() (snapshot, *stream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done || len(r.streams) >= maxStreams {
		return snapshot{}, nil
	}
	snap := snapshot{Events: r.global.all(), Conns: make([]Event, 0, len(r.conns))}
	for _, c := range r.conns {
		snap.Conns = append(snap.Conns, c.state)
	}
	slices.SortFunc(snap.Conns, func(a, b Event) int { return a.Time.Compare(b.Time) })
	s := &stream{ch: make(chan Event, streamBuffer)}
	r.streams[s] = true
	return snap, s
}

// Events returns the events kept other than frames, oldest first.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.global.all()
}

// frames returns the frames kept of connection id, oldest first.
func (r *Recorder) frames(id string) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.conns[id]
	if c == nil {
		return []Event{}
	}
	frames := c.frames.all()
	events := make([]Event, len(frames))
	for i := range frames {
		events[i] = frames[i].event(id)
	}
	return events
}

// unsubscribe ends s.
func (r *Recorder) unsubscribe(s *stream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.end(s)
}

// ring keeps the last max values.
type ring[T any] struct {
	buf  []T
	next int // where the next event goes once buf is full
	max  int
}

func (r *ring[T]) add(e T) {
	if len(r.buf) < r.max {
		r.buf = append(r.buf, e)
		return
	}
	r.buf[r.next] = e
	r.next = (r.next + 1) % r.max
}

// all returns the values, oldest first.
func (r *ring[T]) all() []T {
	return append(slices.Clone(r.buf[r.next:]), r.buf[:r.next]...)
}

type requestKey struct{}

// WithRequest returns ctx carrying id, API Gateway's request id of an
// invocation, for the Function that runs it to tag its events with.
func WithRequest(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestKey{}, id)
}

// RequestOf returns the request id WithRequest put in ctx, or "".
func RequestOf(ctx context.Context) string {
	id, _ := ctx.Value(requestKey{}).(string)
	return id
}

// Path is where the gateway serves the inspector: a path no stage can have
// (API Gateway's stage names are letters, digits, hyphens and underscores),
// and where only WebSocket handshakes could otherwise arrive.
const Path = "/@inspector"
