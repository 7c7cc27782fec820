package inspect

import (
	"bufio"
	"embed"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

//go:embed page
var pageFiles embed.FS

// Actions are what the page can do to the gateway. Each returns the HTTP
// status the management API would answer.
type Actions struct {
	// Post sends data to connection conn, as PostToConnection does.
	Post func(conn string, data []byte) int
	// Disconnect closes connection conn, as DeleteConnection does.
	Disconnect func(conn string) int
	// Send delivers data to the API as a message from connection conn's
	// client, as if it had sent it.
	Send func(conn string, data []byte) int
}

// maxAction bounds the body of an action: the limit of PostToConnection and
// of a client's message, plus one byte so that the gateway answers 413
// beyond it.
const maxAction = 128<<10 + 1

// Handler serves the inspector under prefix (such as "/@inspector"): the page
// at prefix+"/", its event stream, and the actions. It refuses, with 403 and
// nothing else, a request from a non-loopback peer, with a Host that is not a
// loopback address (DNS rebinding), with an Origin other than its own or a
// Sec-Fetch-Site other than same-origin or none (another site's page); an
// action must also be a POST that carries its own Origin.
func Handler(r *Recorder, prefix string, a Actions) http.Handler {
	files, _ := fs.Sub(pageFiles, "page")
	static := http.StripPrefix(prefix+"/", http.FileServerFS(files))
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"/{$}", func(w http.ResponseWriter, req *http.Request) {
		http.ServeFileFS(w, req, files, "index.html")
	})
	mux.Handle("GET "+prefix+"/{file}", static)
	mux.HandleFunc("GET "+prefix+"/events", func(w http.ResponseWriter, req *http.Request) { serveEvents(w, req, r) })
	mux.HandleFunc("GET "+prefix+"/frames", func(w http.ResponseWriter, req *http.Request) { serveFrames(w, req, r) })
	withBody := func(act func(string, []byte) int) http.HandlerFunc {
		return func(w http.ResponseWriter, req *http.Request) {
			body, err := io.ReadAll(io.LimitReader(req.Body, maxAction))
			if err != nil {
				http.Error(w, "inspect: reading the body: "+err.Error(), http.StatusBadRequest)
				return
			}
			w.WriteHeader(act(req.URL.Query().Get("conn"), body))
		}
	}
	mux.HandleFunc("POST "+prefix+"/post", withBody(a.Post))
	mux.HandleFunc("POST "+prefix+"/send", withBody(a.Send))
	mux.HandleFunc("POST "+prefix+"/disconnect", func(w http.ResponseWriter, req *http.Request) {
		w.WriteHeader(a.Disconnect(req.URL.Query().Get("conn")))
	})
	mux.Handle("GET "+prefix, http.RedirectHandler(prefix+"/", http.StatusFound))
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !Allowed(req) || req.Method != http.MethodGet && !sameOrigin(req) {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws://"+req.Host+" wss://"+req.Host+"; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		mux.ServeHTTP(w, req)
	})
}

// Allowed reports whether req may be served: it comes from a loopback peer,
// names a loopback host (localhost, 127.0.0.0/8, ::1) in Host, and carries
// no Origin but its own and no Sec-Fetch-Site but same-origin or none.
func Allowed(req *http.Request) bool {
	peer, _, err := net.SplitHostPort(req.RemoteAddr)
	if ip := net.ParseIP(peer); err != nil || ip == nil || !ip.IsLoopback() {
		return false
	}
	host, _, err := net.SplitHostPort(req.Host)
	if err != nil {
		host = req.Host
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if ip := net.ParseIP(host); !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
		return false
	}
	if o := req.Header.Values("Origin"); len(o) > 1 || len(o) == 1 && o[0] != "http://"+req.Host && o[0] != "https://"+req.Host {
		return false
	}
	switch req.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}

// sameOrigin reports whether req, which Allowed, carries its own Origin, as
// browsers send on a POST: a request without one did not come from the page.
func sameOrigin(req *http.Request) bool {
	return req.Header.Get("Origin") != ""
}

// flushEvery is how often the stream writes what happened meanwhile: the
// page renders at most this often, and one write per interval, rather than
// one per event, keeps a busy gateway's stream cheap.
const flushEvery = 100 * time.Millisecond

// serveEvents streams r's events as Server-Sent Events: a "reset" event with
// a snapshot, then one message per event, written every flushEvery. A page
// that falls behind gets a new snapshot.
func serveEvents(w http.ResponseWriter, req *http.Request, r *Recorder) {
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{}) // the stream outlives the gateway's request deadline
	w.Header().Set("Content-Type", "text/event-stream")
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	idle := 0
	for {
		snap, s := r.subscribe()
		if s == nil {
			http.Error(w, "inspect: too many pages open, or the gateway closed", http.StatusServiceUnavailable)
			return
		}
		for i := range snap.Events {
			mask(&snap.Events[i])
		}
		for i := range snap.Conns {
			mask(&snap.Conns[i])
		}
		bw.WriteString("event: reset\ndata: ")
		enc.Encode(snap) // ends with the newline
		bw.WriteString("\n")
	stream:
		for {
			if bw.Flush() != nil || rc.Flush() != nil {
				r.unsubscribe(s)
				return
			}
			select {
			case <-tick.C:
			case <-req.Context().Done():
				r.unsubscribe(s)
				return
			}
			n := 0
			for {
				select {
				case e, ok := <-s.ch:
					if !ok { // lost (then resubscribe), or the Recorder closed
						r.mu.Lock()
						lost := s.lost
						r.mu.Unlock()
						if !lost {
							bw.Flush()
							return
						}
						break stream
					}
					mask(&e)
					bw.WriteString("data: ")
					enc.Encode(e)
					bw.WriteString("\n")
					n++
					continue
				default:
				}
				break
			}
			if idle++; n > 0 {
				idle = 0
			} else if idle < int(15*time.Second/flushEvery) {
				continue // nothing to write: no syscall
			} else {
				idle = 0
				bw.WriteString(": ping\n\n")
			}
		}
	}
}

// serveFrames answers the frames kept of one connection, oldest first.
func serveFrames(w http.ResponseWriter, req *http.Request, r *Recorder) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(r.frames(req.URL.Query().Get("conn")))
}

// secretName matches the names of headers and query parameters whose values
// are credentials.
var secretName = regexp.MustCompile(`(?i)^(authorization|proxy-authorization|cookie|set-cookie|x-amz-security-token)$|token|secret|passw|api-?key|credential|session|signature|auth`)

const masked = "****"

// mask hides the credentials an event shows: in an invocation's event, the
// values of such headers and query parameters; in a connection's query
// string, such parameters.
func mask(e *Event) {
	if e.Query != "" {
		e.Query = maskQuery(e.Query)
	}
	if len(e.Payload) == 0 {
		return
	}
	var ev map[string]any
	if json.Unmarshal(e.Payload, &ev) != nil {
		e.Payload = Body(`"(not shown: cut at ` + strconv.Itoa(BodyPreview) + ` bytes)"`)
		return
	}
	changed := false
	for _, k := range []string{"headers", "multiValueHeaders", "queryStringParameters", "multiValueQueryStringParameters"} {
		m, _ := ev[k].(map[string]any)
		for name, v := range m {
			if secretName.MatchString(name) {
				if _, multi := v.([]any); multi {
					m[name] = []any{masked}
				} else {
					m[name] = masked
				}
				changed = true
			}
		}
	}
	if changed {
		e.Payload, _ = json.Marshal(ev)
	}
}

func maskQuery(q string) string {
	var b strings.Builder
	for i, kv := range strings.Split(q, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		k, _, hasValue := strings.Cut(kv, "=")
		name, err := url.QueryUnescape(k)
		if hasValue && (err != nil || secretName.MatchString(name)) {
			kv = k + "=" + masked
		}
		b.WriteString(kv)
	}
	return b.String()
}
