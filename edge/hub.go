package edge

import (
	"sync"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
)

// hub fans the events of the handler's one feed out to its connections,
// never waiting for any of them: a connection whose buffer is full is
// dropped.
type hub struct {
	mu     sync.Mutex
	conns  map[*conn]struct{}
	closed bool
	// last is the highest stream sequence dispatched, or the event
	// stream's last sequence when the feed started; 0 without a stream.
	last uint64
	// running counts the connections added and not yet removed, for Close.
	running sync.WaitGroup
	stats   *counters
}

// add registers c for the events dispatched from now on and returns the
// sequence they come after; false once the hub is closed.
func (h *hub) add(c *conn) (after uint64, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return 0, false
	}
	h.conns[c] = struct{}{}
	h.running.Add(1)
	return h.last, true
}

// remove unregisters c, which has stopped writing.
func (h *hub) remove(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c)
	h.running.Done()
}

// drop ends c's stream with reason; c stops receiving events at once and
// says why to its browser when it can.
func (h *hub) drop(c *conn, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dropLocked(c, reason)
}

func (h *hub) dropLocked(c *conn, reason string) {
	if _, ok := h.conns[c]; !ok {
		return
	}
	delete(h.conns, c)
	h.stats.dropped(reason)
	c.end(reason)
}

// dispatch offers f to every connection, in the order of calls.
func (h *hub) dispatch(f *frame) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last = max(h.last, f.ev.StreamSequence)
	for c := range h.conns {
		if !c.offer(f) {
			h.dropLocked(c, ReasonSlow)
		}
	}
}

// close drops every connection with ReasonShutdown and refuses new ones.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.conns {
		h.dropLocked(c, ReasonShutdown)
	}
}

// decode reads a message of namespace ns as the *mesh.Event a Filter sees
// and renders its SSE message.
func decode(ns, subject string, hdr nats.Header, body []byte, seq uint64) (*frame, error) {
	ev := &mesh.Event{
		NATSSubject:    subject,
		Target:         subjects.TargetOf(subject, ns),
		StreamSequence: seq,
		Replayed:       hdr.Get(subjects.HeaderReplay) != "" || hdr.Get(subjects.HeaderRedrive) != "",
	}
	if err := codec.DecodeOwned(hdr, body, &ev.Event); err != nil {
		return nil, err
	}
	return eventFrame(ev)
}
