package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/exprsn/ipcmesh/edge"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
)

// patternKey is the context key of an events request's checked pattern,
// as the tokens of its subject filter.
type patternKey struct{}

// events is the events stream's edge.Handler, made at the first request
// and closed when the last stream ends: the bridge reads the event stream
// (with one ordered consumer, which the consumers' list shows with service
// "?") only while someone watches.
type events struct {
	worker *mesh.Worker
	max    int

	mu     sync.Mutex
	h      *edge.Handler
	users  int
	closed bool
}

// acquire returns the handler, made if there is none (waiting at most
// eventsTimeout for the server), and counts a user.
func (e *events) acquire() (*edge.Handler, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errors.New("dashboard: the bridge is shutting down")
	}
	if e.h == nil {
		ctx, cancel := context.WithTimeout(context.Background(), eventsTimeout)
		defer cancel()
		h, err := edge.New(ctx, e.worker, edge.Config{
			Events:         []string{">"},
			Targets:        []string{"*"},
			Authorize:      authorizePattern,
			MaxConnections: e.max,
		})
		if err != nil {
			return nil, fmt.Errorf("dashboard: events stream: %w", err)
		}
		e.h = h
	}
	e.users++
	return e.h, nil
}

// release counts a user gone, and closes the handler after the last
// (waiting at most eventsTimeout).
func (e *events) release() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.users--
	if e.users == 0 && e.h != nil {
		ctx, cancel := context.WithTimeout(context.Background(), eventsTimeout)
		defer cancel()
		if err := e.h.Close(ctx); err != nil {
			e.worker.Logger().Warn("dashboard: close the events stream", "error", err)
		}
		e.h = nil
	}
}

// close ends every open stream with edge's DroppedEvent of reason
// "shutdown", and waits for them until ctx ends.
func (e *events) close(ctx context.Context) error {
	e.mu.Lock()
	e.closed = true
	h := e.h
	e.h = nil
	e.mu.Unlock()
	if h == nil {
		return nil
	}
	return h.Close(ctx)
}

// eventsTimeout bounds the subscription of the events stream's feed, and
// its closing.
const eventsTimeout = 10 * time.Second

// serveEvents answers GET /api/ipc/events?event=<pattern>: the events of
// every target matching the pattern (default ">", all), as edge serves
// them. An invalid pattern, or more than one, is refused with 400.
func (d *Dashboard) serveEvents(w http.ResponseWriter, r *http.Request) {
	tokens, err := eventFilter(d.ns, r.URL.Query()["event"])
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	h, err := d.events.acquire()
	if err != nil {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	defer d.events.release()
	h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), patternKey{}, tokens)))
}

// eventFilter returns the tokens of the NATS subject filter of the one
// pattern in values, in namespace ns, for every target; ">" if values is
// empty.
func eventFilter(ns string, values []string) ([]string, error) {
	pattern := ">"
	switch len(values) {
	case 0:
	case 1:
		pattern = values[0]
	default:
		return nil, errors.New("dashboard: give one event pattern (?event=), not several")
	}
	if err := subjects.ValidatePattern(pattern); err != nil {
		return nil, fmt.Errorf("dashboard: event pattern: %w (a pattern is a mesh event name whose segments may be * and whose last may be >, such as order:* or content:>)", err)
	}
	filter, err := subjects.Filter(ns, "*", pattern)
	if err != nil {
		return nil, fmt.Errorf("dashboard: event pattern: %w", err)
	}
	return strings.Split(filter, "."), nil
}

// authorizePattern is the events stream's edge.Authorize: everyone who
// reaches the bridge's HTTP port may read the events, and each request sees
// those on subjects matching its pattern.
func authorizePattern(r *http.Request) (edge.Filter, error) {
	tokens, ok := r.Context().Value(patternKey{}).([]string)
	if !ok {
		return nil, errors.New("dashboard: events request without a checked pattern")
	}
	return func(ev *mesh.Event) bool { return subjectMatches(tokens, ev.NATSSubject) }, nil
}

// subjectMatches reports whether subject matches the NATS subject filter
// whose tokens are filter: "*" matches one token, a last ">" one or more.
func subjectMatches(filter []string, subject string) bool {
	rest := subject
	for i, f := range filter {
		if rest == "" {
			return false
		}
		if f == ">" && i == len(filter)-1 {
			return true
		}
		token, tail, more := strings.Cut(rest, ".")
		if f != "*" && f != token {
			return false
		}
		if !more {
			return i == len(filter)-1
		}
		rest = tail
	}
	return false
}
