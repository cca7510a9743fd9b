package mesh

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/exprsn/ipcmesh/internal/headers"
	"github.com/exprsn/ipcmesh/mesh/internal/stats"
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

// EventStats are the counts for one event name.
type EventStats struct {
	Emitted  uint64 `json:"emitted"`
	Received uint64 `json:"received"`
	Handled  uint64 `json:"handled"`
	Failed   uint64 `json:"failed"`
	// HandlerTime is the total duration of the Handled+Failed handler
	// calls, from the call to its return or panic (middleware included);
	// HandlerTime/(Handled+Failed) is their mean. A batch handler's call
	// counts for each of its events its share: its duration divided by the
	// batch's size.
	HandlerTime time.Duration `json:"handler_time_ns,omitempty"`
	// MaxHandlerTime is the longest of these calls (or shares).
	MaxHandlerTime time.Duration `json:"max_handler_time_ns,omitempty"`
}

// MaxStatsEvents bounds the event names Stats.Events breaks counts down by;
// events past it, and events whose type is longer than an event name may be
// (subjects.MaxEventLen), are counted under OtherEvents, so that a sender
// inventing names cannot grow a worker's memory (at most MaxStatsEvents
// names of subjects.MaxEventLen bytes) or its metrics.
const MaxStatsEvents = 1000

// OtherEvents is the Stats.Events key of events past MaxStatsEvents names.
const OtherEvents = "_other"

// Stats returns a snapshot of the worker's counters. It is cheap enough to
// serve on every scrape.
func (w *Worker) Stats() Stats {
	t := w.stats.Totals()
	out := Stats{
		Service: w.cfg.Service, Namespace: w.cfg.Namespace, Since: w.stats.Since,
		Emitted: t.Emitted, Received: t.Received, Handled: t.Handled, Failed: t.Failed, Panics: t.Panics,
		Invalid: t.Invalid, Dropped: w.live.Dropped(), Requests: t.Requests, InFlight: t.InFlight, EmitFailed: t.EmitFailed,
		Events: eventStats(w.stats.Events()), Durable: map[string]DurableStats{},
	}
	for name, d := range w.stats.Durables() {
		out.Durable[name] = DurableStats(d)
	}
	return out
}

func eventStats(events map[string]stats.Event) map[string]EventStats {
	m := make(map[string]EventStats, len(events))
	for name, e := range events {
		m[name] = EventStats(e)
	}
	return m
}

// InstanceStats is a worker's answer to a request on
// subjects.StatsSubject, as JSON: the bridge gathers them to serve
// /api/ipc/stats.
type InstanceStats struct {
	// Instance identifies the worker among its service's instances.
	Instance string `json:"instance"`
	Stats
	// Extra are the stats exported with ExportStats, by name.
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
	// ExtraDropped names the exported stats left out of this answer: over
	// 16 KiB, failed to encode, panicked, or left out, the largest
	// first, for the answer to fit in the server's max_payload.
	ExtraDropped []string `json:"extra_dropped,omitempty"`
}

// The bounds of ExportStats.
const (
	maxExports     = 16
	maxExportName  = 64
	maxExportBytes = 16 << 10
	maxExportWait  = 100 * time.Millisecond // well within the operator's wait for answers
)

// ExportStats adds what f returns, encoded as JSON, to this worker's
// answers to stats requests, as InstanceStats.Extra[name], for code running
// beside the worker (an outbox relay, say) to show in the bridge's stats.
// f is called on every stats request, on a goroutine of its own: it must
// be quick and safe for concurrent use. name is 1 to 64 letters, digits,
// '_', '-', '.' or ':'; it replaces an export of the same name. A worker
// exports at most 16 names, each in at most 16 KiB of JSON: a larger one,
// one f panics on, ends its goroutine on (runtime.Goexit) or fails to
// encode, one that takes f over 100 ms, and one whose f is still running
// from an earlier request, is left out and named in
// InstanceStats.ExtraDropped. remove removes the
// export (a replaced export's remove does nothing).
func (w *Worker) ExportStats(name string, f func() any) (remove func(), err error) {
	switch {
	case !validExportName(name):
		return nil, fmt.Errorf("mesh: export stats %q: the name must be 1 to %d bytes of letters, digits, '_', '-', '.' or ':'",
			headers.Truncate(name, maxLoggedField), maxExportName)
	case f == nil:
		return nil, fmt.Errorf("mesh: export stats %q: nil func", name)
	}
	remove, err = w.exports.Add(name, f, maxExports)
	if err != nil {
		return nil, fmt.Errorf("mesh: export stats %q: %w", name, err)
	}
	return remove, nil
}

// validExportName reports whether name is a valid ExportStats name.
func validExportName(name string) bool {
	if name == "" || len(name) > maxExportName {
		return false
	}
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_-.:", c) >= 0) {
			return false
		}
	}
	return true
}

// Instance identifies this worker among its service's instances (a unique
// id made at Connect).
func (w *Worker) Instance() string { return w.instance }

// serveStats answers stats requests for the worker's lifetime, with the
// exported stats, within the server's max_payload (see stats.Fit).
func (w *Worker) serveStats() error {
	return stats.Serve(w.nc, subjects.StatsSubject(w.cfg.Namespace), w.log, func(limit int) ([]byte, error) {
		st := InstanceStats{Instance: w.instance, Stats: w.Stats()}
		extra := w.exports.Collect(maxExportBytes, maxExportWait)
		return stats.Fit(w.stats.Events(), extra, OtherEvents, limit, func(events map[string]stats.Event, extra stats.Extra) ([]byte, error) {
			st.Events, st.Extra, st.ExtraDropped = eventStats(events), extra.Stats, extra.Dropped
			return json.Marshal(st)
		})
	})
}
