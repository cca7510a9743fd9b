package mesh

import (
	"strings"

	"sync"
	"sync/atomic"
	"time"

	"github.com/exprsn/ipcmesh/mesh/internal/durable"
	"github.com/exprsn/ipcmesh/subjects"
)

// Stats is a snapshot of a worker's counters since it connected. Counts of
// handler calls (Handled, Failed) count each handler once per event, so an
// event with two handlers counts twice; Received counts it once.
type Stats struct {
	Service   string    `json:"service"`
	Namespace string    `json:"namespace"`
	Since     time.Time `json:"since"`
	// Emitted counts events sent with Emit (requests are counted in
	// Requests).
	Emitted uint64 `json:"emitted"`
	// Received counts valid events delivered to the worker.
	Received uint64 `json:"received"`
	// Handled counts handler calls that returned nil.
	Handled uint64 `json:"handled"`
	// Failed counts handler calls that returned an error or panicked.
	Failed uint64 `json:"failed"`
	// Panics counts handler calls that panicked (also counted in Failed).
	Panics uint64 `json:"panics"`
	// Invalid counts messages on mesh subjects that were not valid
	// CloudEvents and reached no handler.
	Invalid uint64 `json:"invalid"`
	// Dropped counts the live events the NATS client dropped because
	// handlers fell behind (slow consumer; see PendingLimits), every one of
	// them, read from the client's subscriptions when Stats is called.
	Dropped uint64 `json:"dropped"`
	// Requests counts requests sent.
	Requests uint64 `json:"requests"`
	// InFlight is the number of handler calls running now.
	InFlight int64 `json:"in_flight"`
	// EmitFailed counts failed emits, one for each error that Emit,
	// EmitWithReceipt or EmitAsync returned (refusals at the call included),
	// each TryEmit that returned false (each also reported to
	// Config.OnError), and each EmitAsync future that failed (also
	// reported).
	EmitFailed uint64 `json:"emit_failed"`
	// Events breaks the counts down by event name, for up to
	// MaxStatsEvents names; the rest are counted under OtherEvents.
	Events map[string]EventStats `json:"events"`
	// Durable has the counts of each durable handler, by consumer name.
	Durable map[string]DurableStats `json:"durable,omitempty"`
}

// DurableStats are the counts of one durable handler in this instance.
type DurableStats struct {
	// Acked counts events handled and acknowledged.
	Acked uint64 `json:"acked"`
	// Retried counts failed tries that were scheduled for redelivery.
	Retried uint64 `json:"retried"`
	// Redelivered counts deliveries after the first of an event.
	Redelivered uint64 `json:"redelivered"`
	// DeadLettered counts events sent to the dead-letter stream.
	DeadLettered uint64 `json:"dead_lettered"`
	// Skipped counts events the idempotency guard skipped as already
	// handled.
	Skipped uint64 `json:"skipped"`
	// Terminated counts events given up after their last try without a
	// dead letter, because none could be stored; each was reported with
	// its stream sequence.
	Terminated uint64 `json:"terminated,omitempty"`
	// Pending is the number of events in the stream not yet delivered to the
	// handler, as of its last delivery.
	Pending uint64 `json:"pending"`
}

// durableCounters are the counts of one durable handler: the engine's and
// the events the idempotency guard skipped.
type durableCounters struct {
	durable.Counters
	skipped atomic.Uint64
}

// EventStats are the counts for one event name.
type EventStats struct {
	Emitted  uint64 `json:"emitted"`
	Received uint64 `json:"received"`
	Handled  uint64 `json:"handled"`
	Failed   uint64 `json:"failed"`
}

type eventCounters struct {
	emitted, received, handled, failed atomic.Uint64
}

type stats struct {
	since                                               time.Time
	emits, receives, handles, failures, panics, invalid atomic.Uint64
	droppedGone, requests                               atomic.Uint64 // droppedGone: by removed subscriptions
	inFlight                                            atomic.Int64
	eventNames                                          atomic.Int64
	byEvent                                             sync.Map // string -> *eventCounters
	byDurable                                           sync.Map // string -> *durableCounters
	emitFailed                                          atomic.Uint64
}

func (s *stats) durable(name string) *durableCounters {
	c, _ := s.byDurable.LoadOrStore(name, &durableCounters{})
	return c.(*durableCounters)
}

func (s *stats) init() { s.since = time.Now().UTC() }

// MaxStatsEvents bounds the event names Stats.Events breaks counts down by;
// events past it, and events whose type is longer than an event name may be
// (subjects.MaxEventLen), are counted under OtherEvents, so that a sender
// inventing names cannot grow a worker's memory (at most MaxStatsEvents
// names of subjects.MaxEventLen bytes) or its metrics.
const MaxStatsEvents = 1000

// OtherEvents is the Stats.Events key of events past MaxStatsEvents names.
const OtherEvents = "_other"

func (s *stats) event(name string) *eventCounters {
	if len(name) > subjects.MaxEventLen {
		// Not a name the mesh emits; a sender's invention is not kept.
		name = OtherEvents
	}
	if c, ok := s.byEvent.Load(name); ok {
		return c.(*eventCounters)
	}
	if s.eventNames.Add(1) > MaxStatsEvents {
		s.eventNames.Add(-1)
		name = OtherEvents
	}
	c, loaded := s.byEvent.LoadOrStore(strings.Clone(name), &eventCounters{})
	if loaded && name != OtherEvents {
		s.eventNames.Add(-1)
	}
	return c.(*eventCounters)
}

func (s *stats) emitted(name string)  { s.emits.Add(1); s.event(name).emitted.Add(1) }
func (s *stats) received(name string) { s.receives.Add(1); s.event(name).received.Add(1) }
func (s *stats) handled(name string)  { s.handles.Add(1); s.event(name).handled.Add(1) }
func (s *stats) failed(name string)   { s.failures.Add(1); s.event(name).failed.Add(1) }

// Stats returns a snapshot of the worker's counters. It is cheap enough to
// serve on every scrape.
func (w *Worker) Stats() Stats {
	s := &w.stats
	out := Stats{
		Service:    w.cfg.Service,
		Namespace:  w.cfg.Namespace,
		Since:      s.since,
		Emitted:    s.emits.Load(),
		Received:   s.receives.Load(),
		Handled:    s.handles.Load(),
		Failed:     s.failures.Load(),
		Panics:     s.panics.Load(),
		Invalid:    s.invalid.Load(),
		Dropped:    w.droppedTotal(),
		Requests:   s.requests.Load(),
		InFlight:   s.inFlight.Load(),
		EmitFailed: s.emitFailed.Load(),
		Events:     map[string]EventStats{},
		Durable:    map[string]DurableStats{},
	}
	s.byDurable.Range(func(k, v any) bool {
		c := v.(*durableCounters)
		out.Durable[k.(string)] = DurableStats{
			Acked:        c.Acked.Load(),
			Retried:      c.Retried.Load(),
			Redelivered:  c.Redelivered.Load(),
			DeadLettered: c.DeadLettered.Load(),
			Skipped:      c.skipped.Load(),
			Terminated:   c.Terminated.Load(),
			Pending:      c.Pending.Load(),
		}
		return true
	})
	s.byEvent.Range(func(k, v any) bool {
		c := v.(*eventCounters)
		out.Events[k.(string)] = EventStats{
			Emitted:  c.emitted.Load(),
			Received: c.received.Load(),
			Handled:  c.handled.Load(),
			Failed:   c.failed.Load(),
		}
		return true
	})
	return out
}
