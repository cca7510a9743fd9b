package meshprom

import (
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/prometheus/client_golang/prometheus"
)

// collector exports a worker's Stats.
type collector struct {
	w *mesh.Worker

	// by event name
	emitted, received, handled, failed *prometheus.Desc
	// by worker
	panics, invalid, dropped, requests, emitFailures, inFlight *prometheus.Desc
	// by durable handler
	acked, retried, redelivered, deadLettered, skipped, terminated, pending *prometheus.Desc
}

// NewCollector returns a collector of w's counts (mesh.Worker.Stats), read
// when the registry is scraped, so that nothing is counted twice. Register
// it on the service's own registry. Its metrics have the constant labels
// service and namespace (w's), besides those of WithConstLabels; the doc of
// the package lists them.
func NewCollector(w *mesh.Worker, opts ...Option) prometheus.Collector {
	labels := newOptions(opts).constLabels()
	labels["service"], labels["namespace"] = w.Service(), w.Namespace()
	desc := func(name, help string, variable ...string) *prometheus.Desc {
		return prometheus.NewDesc(prefix+name, help, variable, labels)
	}
	return &collector{
		w:        w,
		emitted:  desc("events_emitted_total", "Events emitted (requests and replies not included), by event name.", "event"),
		received: desc("events_received_total", "Valid events delivered to the worker, by event name; a durable handler's redeliveries count again.", "event"),
		handled:  desc("events_handled_total", "Handler calls that succeeded, by event name; an event with two handlers counts twice.", "event"),
		failed:   desc("events_failed_total", "Handler calls that returned an error or panicked, by event name.", "event"),

		panics:       desc("handler_panics_total", "Handler calls that panicked (also counted as failed)."),
		invalid:      desc("invalid_messages_total", "Messages on mesh subjects that were not valid CloudEvents and reached no handler."),
		dropped:      desc("events_dropped_total", "Events the NATS client dropped because handlers fell behind (slow consumer)."),
		requests:     desc("requests_total", "Requests sent."),
		emitFailures: desc("emit_failures_total", "Emits that failed: every error an emit returned, and every asynchronous emit the event stream did not store."),
		inFlight:     desc("handlers_in_flight", "Handler calls running now."),

		acked:        desc("durable_acked_total", "Events a durable handler handled and acknowledged, by handler.", "handler"),
		retried:      desc("durable_retried_total", "Failed tries of a durable handler scheduled for redelivery, by handler.", "handler"),
		redelivered:  desc("durable_redelivered_total", "Deliveries to a durable handler after the first of an event, by handler.", "handler"),
		deadLettered: desc("durable_dead_lettered_total", "Events a durable handler sent to the dead-letter stream, by handler.", "handler"),
		skipped:      desc("durable_skipped_total", "Events the idempotency guard skipped as already handled, by handler.", "handler"),
		terminated:   desc("durable_terminated_total", "Events given up after their last try because no dead letter could be stored, by handler.", "handler"),
		pending:      desc("durable_pending_events", "Events in the stream not yet delivered to a durable handler, as of its last delivery, by handler.", "handler"),
	}
}

// prefix starts every metric name.
const prefix = "ipcmesh_"

// Describe sends the description of every metric.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.emitted, c.received, c.handled, c.failed,
		c.panics, c.invalid, c.dropped, c.requests, c.emitFailures, c.inFlight,
		c.acked, c.retried, c.redelivered, c.deadLettered, c.skipped, c.terminated, c.pending,
	} {
		ch <- d
	}
}

// Collect reads the worker's Stats and sends its numbers.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.w.Stats()
	send := func(d *prometheus.Desc, kind prometheus.ValueType, v float64, label ...string) {
		ch <- prometheus.MustNewConstMetric(d, kind, v, label...)
	}
	count := func(d *prometheus.Desc, v uint64, label ...string) {
		send(d, prometheus.CounterValue, float64(v), label...)
	}
	for event, e := range s.Events {
		count(c.emitted, e.Emitted, event)
		count(c.received, e.Received, event)
		count(c.handled, e.Handled, event)
		count(c.failed, e.Failed, event)
	}
	count(c.panics, s.Panics)
	count(c.invalid, s.Invalid)
	count(c.dropped, s.Dropped)
	count(c.requests, s.Requests)
	count(c.emitFailures, s.EmitFailed)
	send(c.inFlight, prometheus.GaugeValue, float64(s.InFlight))
	for handler, d := range s.Durable {
		count(c.acked, d.Acked, handler)
		count(c.retried, d.Retried, handler)
		count(c.redelivered, d.Redelivered, handler)
		count(c.deadLettered, d.DeadLettered, handler)
		count(c.skipped, d.Skipped, handler)
		count(c.terminated, d.Terminated, handler)
		send(c.pending, prometheus.GaugeValue, float64(d.Pending), handler)
	}
}
