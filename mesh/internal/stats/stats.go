// Package stats counts what a worker does, for mesh.Stats: events emitted,
// received, handled and failed, in all and by event name (a bounded set of
// names), handler panics and calls in flight, invalid messages, requests,
// failed emits, and each durable handler's counts. It also answers the
// namespace's stats requests (serve.go).
package stats

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exprsn/ipcmesh/mesh/internal/durable"
	"github.com/exprsn/ipcmesh/subjects"
)

// Counters are a worker's counts since Init. Every method is safe for
// concurrent use.
type Counters struct {
	Since                                 time.Time
	Panics, Invalid, Requests, EmitFailed atomic.Uint64
	InFlight                              atomic.Int64
	emits, receives, handles, failures    atomic.Uint64
	// The event names counted apart are at most maxEvents; events past
	// them, and events whose type is longer than an event name may be
	// (subjects.MaxEventLen), are counted under other, so that a sender
	// inventing names cannot grow a worker's memory or its metrics.
	maxEvents  int64
	other      string
	eventNames atomic.Int64
	byEvent    sync.Map // string -> *eventCounters
	byDurable  sync.Map // string -> *Durable
}

// Durable are the counts of one durable handler: the engine's, and the
// events the idempotency guard skipped.
type Durable struct {
	durable.Counters
	Skipped atomic.Uint64
}

type eventCounters struct {
	emitted, received, handled, failed atomic.Uint64
	// handlerTime and maxHandlerTime are the total and the longest of the
	// handler calls' durations, in nanoseconds.
	handlerTime, maxHandlerTime atomic.Int64
}

// took counts a handler call that took d.
func (c *eventCounters) took(d time.Duration) {
	c.handlerTime.Add(int64(d))
	for longest := c.maxHandlerTime.Load(); int64(d) > longest; longest = c.maxHandlerTime.Load() {
		if c.maxHandlerTime.CompareAndSwap(longest, int64(d)) {
			return
		}
	}
}

// Init starts the count now, with at most maxEvents event names counted
// apart and the others under other.
func (s *Counters) Init(maxEvents int, other string) {
	s.Since, s.maxEvents, s.other = time.Now().UTC(), int64(maxEvents), other
}

// Emitted and Received count an event of type name.
func (s *Counters) Emitted(name string)  { s.emits.Add(1); s.event(name).emitted.Add(1) }
func (s *Counters) Received(name string) { s.receives.Add(1); s.event(name).received.Add(1) }

// Handled counts a handler call for an event of type name that returned
// nil after d.
func (s *Counters) Handled(name string, d time.Duration) {
	s.handles.Add(1)
	c := s.event(name)
	c.handled.Add(1)
	c.took(d)
}

// Failed counts a handler call for an event of type name that failed
// after d.
func (s *Counters) Failed(name string, d time.Duration) {
	s.failures.Add(1)
	c := s.event(name)
	c.failed.Add(1)
	c.took(d)
}

// Durable returns the counts of the durable handler name.
func (s *Counters) Durable(name string) *Durable {
	c, _ := s.byDurable.LoadOrStore(name, &Durable{})
	return c.(*Durable)
}

func (s *Counters) event(name string) *eventCounters {
	if len(name) > subjects.MaxEventLen {
		// Not a name the mesh emits; a sender's invention is not kept.
		name = s.other
	}
	if c, ok := s.byEvent.Load(name); ok {
		return c.(*eventCounters)
	}
	if s.eventNames.Add(1) > s.maxEvents {
		s.eventNames.Add(-1)
		name = s.other
	}
	c, loaded := s.byEvent.LoadOrStore(strings.Clone(name), &eventCounters{})
	if loaded && name != s.other {
		s.eventNames.Add(-1)
	}
	return c.(*eventCounters)
}

// Totals are the worker's counts at one time, but for the breakdowns.
type Totals struct {
	Emitted, Received, Handled, Failed, Panics, Invalid, Requests, EmitFailed uint64
	InFlight                                                                  int64
}

// Event are the counts of one event name at one time, and the total and
// longest duration of its handler calls; mesh.EventStats converts from it.
type Event struct {
	Emitted, Received, Handled, Failed uint64
	HandlerTime, MaxHandlerTime        time.Duration
}

// DurableCounts are the counts of one durable handler at one time;
// mesh.DurableStats converts from it.
type DurableCounts struct {
	Acked, Retried, Redelivered, DeadLettered, Skipped, Terminated, Pending uint64
}

// Totals returns the counts now.
func (s *Counters) Totals() Totals {
	return Totals{
		Emitted: s.emits.Load(), Received: s.receives.Load(), Handled: s.handles.Load(), Failed: s.failures.Load(),
		Panics: s.Panics.Load(), Invalid: s.Invalid.Load(), Requests: s.Requests.Load(), EmitFailed: s.EmitFailed.Load(),
		InFlight: s.InFlight.Load(),
	}
}

// Events returns the counts of each event name.
func (s *Counters) Events() map[string]Event {
	m := map[string]Event{}
	s.byEvent.Range(func(k, v any) bool {
		c := v.(*eventCounters)
		m[k.(string)] = Event{
			Emitted: c.emitted.Load(), Received: c.received.Load(), Handled: c.handled.Load(), Failed: c.failed.Load(),
			HandlerTime: time.Duration(c.handlerTime.Load()), MaxHandlerTime: time.Duration(c.maxHandlerTime.Load()),
		}
		return true
	})
	return m
}

// Durables returns the counts of each durable handler.
func (s *Counters) Durables() map[string]DurableCounts {
	m := map[string]DurableCounts{}
	s.byDurable.Range(func(k, v any) bool {
		c := v.(*Durable)
		m[k.(string)] = DurableCounts{
			Acked: c.Acked.Load(), Retried: c.Retried.Load(), Redelivered: c.Redelivered.Load(),
			DeadLettered: c.DeadLettered.Load(), Skipped: c.Skipped.Load(), Terminated: c.Terminated.Load(),
			Pending: c.Pending.Load(),
		}
		return true
	})
	return m
}
