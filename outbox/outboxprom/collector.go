package outboxprom

import (
	"maps"

	"github.com/exprsn/ipcmesh/outbox"
	"github.com/prometheus/client_golang/prometheus"
)

// prefix starts every metric name.
const prefix = "ipcmesh_outbox_"

// Option changes the metrics of NewCollector.
type Option func(*options)

type options struct {
	labels prometheus.Labels
}

// WithConstLabels adds labels with fixed values to every metric. Default:
// none. Two outboxes of one service and table registered on one registry
// need a label that tells them apart, such as {"instance": id}. The labels
// service, namespace and table are the package's own and are ignored here.
func WithConstLabels(labels prometheus.Labels) Option {
	return func(o *options) { o.labels = labels }
}

// collector exports an outbox's Stats.
type collector struct {
	o *outbox.Outbox

	pending, lag, published, duplicates, cancels, failures, lastFailure, publish, running, leader, stalled *prometheus.Desc
}

// NewCollector returns a collector of o's relay (outbox.Outbox.Stats),
// read when the registry is scraped. Register it on the service's own
// registry; the doc of the package lists its metrics.
func NewCollector(o *outbox.Outbox, opts ...Option) prometheus.Collector {
	var op options
	for _, opt := range opts {
		opt(&op)
	}
	labels := maps.Clone(op.labels)
	if labels == nil {
		labels = prometheus.Labels{}
	}
	s := o.Stats()
	labels["service"], labels["namespace"], labels["table"] = s.Service, s.Namespace, s.Table
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prefix+name, help, nil, labels)
	}
	return &collector{
		o:           o,
		pending:     desc("pending_rows", "Rows of the service in the outbox table, not yet published or not yet deleted, as of the relay's last look."),
		lag:         desc("lag_seconds", "Age of the oldest pending row, as of the relay's last look; 0 when none is pending."),
		published:   desc("published_total", "Events the relay stored in the event stream, duplicates included."),
		duplicates:  desc("duplicates_total", "Publishes the stream dropped because it already held the event."),
		cancels:     desc("cancels_total", "Schedule cancellations the relay carried out (Outbox.CancelSchedule), the schedules it did not find included."),
		failures:    desc("failures_total", "Failed relay rounds (a publish not acknowledged in time, a database error), each followed by a backoff."),
		lastFailure: desc("last_failure_timestamp_seconds", "Unix time of the relay's last failure; 0 before the first."),
		publish:     desc("publish_duration_seconds", "Time the stream took to acknowledge the relay's publishes."),
		running:     desc("relay_running", "1 while the relay runs, else 0."),
		leader:      desc("relay_leader", "1 while the relay holds the service's lease (the one relay that publishes), else 0."),
		stalled:     desc("relay_stalled", "1 while this relay, on standby, sees the oldest pending row unpublished for 3 lease TTLs under another relay's lease, else 0."),
	}
}

// Describe sends the description of every metric.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.pending, c.lag, c.published, c.duplicates, c.cancels, c.failures, c.lastFailure, c.publish, c.running, c.leader, c.stalled} {
		ch <- d
	}
}

// Collect reads the outbox's Stats and sends its numbers.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.o.Stats()
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	count := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	flag := func(d *prometheus.Desc, on bool) {
		v := 0.0
		if on {
			v = 1
		}
		gauge(d, v)
	}
	gauge(c.pending, float64(s.Pending))
	gauge(c.lag, s.Lag.Seconds())
	count(c.published, s.Published)
	count(c.duplicates, s.Duplicates)
	count(c.cancels, s.Cancels)
	count(c.failures, s.Failures)
	lastFailure := 0.0
	if !s.LastErrorAt.IsZero() {
		lastFailure = float64(s.LastErrorAt.UnixNano()) / 1e9
	}
	gauge(c.lastFailure, lastFailure)
	ch <- prometheus.MustNewConstSummary(c.publish, s.Published, s.PublishTime.Seconds(), nil)
	flag(c.running, s.Running)
	flag(c.leader, s.Leader)
	flag(c.stalled, s.Stalled)
}
