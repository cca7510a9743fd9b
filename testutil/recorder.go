package testutil

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
)

// DefaultWait is how long the Recorder's waits and Connect's Close wait by
// default: long enough for a loaded CI machine, short enough to fail fast.
const DefaultWait = 15 * time.Second

// Recorder is a mesh.Handler that records the events it receives, so a test
// can wait for them with a deadline instead of sleeping. The zero value is
// ready to use; it is safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	events  []*mesh.Event
	arrived []time.Time   // when each of events arrived
	changed chan struct{} // closed and replaced on every new event
	err     error
}

// Arrival is an event a Recorder received, and when.
type Arrival struct {
	Event *mesh.Event
	At    time.Time
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{} }

// HandleEvent records ev and returns the error set with FailWith, if any.
func (r *Recorder) HandleEvent(_ context.Context, ev *mesh.Event) error {
	r.record(ev)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// record records ev and wakes the waiters.
func (r *Recorder) record(ev *mesh.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	r.arrived = append(r.arrived, time.Now())
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
}

// FailWith makes HandleEvent return err (nil to succeed again), after
// recording the event.
func (r *Recorder) FailWith(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

// Events returns a copy of the events recorded so far, in arrival order.
func (r *Recorder) Events() []*mesh.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// Arrivals returns the events of type eventType received so far, in the
// order received, each with the time it arrived.
func (r *Recorder) Arrivals(eventType string) []Arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Arrival
	for i, ev := range r.events {
		if ev.Type == eventType {
			out = append(out, Arrival{Event: ev, At: r.arrived[i]})
		}
	}
	return out
}

// Len returns the number of events recorded so far.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// wait returns a channel closed on the next event.
func (r *Recorder) wait() <-chan struct{} {
	if r.changed == nil {
		r.changed = make(chan struct{})
	}
	return r.changed
}

// WaitFor waits until cond holds for the recorded events, checking on every
// new event, and fails the test if it does not hold within timeout
// (DefaultWait if zero). It returns the events that satisfied cond.
func (r *Recorder) WaitFor(t testing.TB, timeout time.Duration, cond func([]*mesh.Event) bool) []*mesh.Event {
	t.Helper()
	if timeout == 0 {
		timeout = DefaultWait
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		events := slices.Clone(r.events)
		next := r.wait()
		r.mu.Unlock()
		if cond(events) {
			return events
		}
		select {
		case <-next:
		case <-deadline.C:
			t.Fatalf("testutil: condition not met within %s; %d events recorded: %s", timeout, len(events), describe(events))
			return nil
		}
	}
}

// WaitN waits until at least n events are recorded and returns them; it
// fails the test after timeout (DefaultWait if zero).
func (r *Recorder) WaitN(t testing.TB, n int, timeout time.Duration) []*mesh.Event {
	t.Helper()
	return r.WaitFor(t, timeout, func(evs []*mesh.Event) bool { return len(evs) >= n })
}

// WaitType waits for an event of type eventType and returns it; it fails the
// test after timeout (DefaultWait if zero).
func (r *Recorder) WaitType(t testing.TB, eventType string, timeout time.Duration) *mesh.Event {
	t.Helper()
	evs := r.WaitFor(t, timeout, func(evs []*mesh.Event) bool {
		return slices.ContainsFunc(evs, func(e *mesh.Event) bool { return e.Type == eventType })
	})
	i := slices.IndexFunc(evs, func(e *mesh.Event) bool { return e.Type == eventType })
	return evs[i]
}

func describe(events []*mesh.Event) string {
	const max = 10
	s := ""
	for i, e := range events {
		if i == max {
			return s + " ..."
		}
		if i > 0 {
			s += ", "
		}
		s += e.Type + "@" + e.NATSSubject
	}
	return s
}

// Middleware returns a middleware that records each event once the
// handler it wraps has returned, whatever it returned: a test that waits
// on r knows that the service's state reflects the event. The handler's
// error is passed on; FailWith does not apply.
func (r *Recorder) Middleware() mesh.Middleware {
	return func(next mesh.Handler) mesh.Handler {
		return mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
			err := next.HandleEvent(ctx, ev)
			r.record(ev)
			return err
		})
	}
}
