package bridge

import (
	"context"
	"log/slog"

	"github.com/exprsn/ipcmesh/internal/operator/consumers"
	"github.com/exprsn/ipcmesh/internal/operator/stats"
	"github.com/prometheus/client_golang/prometheus"
)

// metric is one exported number, read from a T.
type metric[T any] struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*T) float64
}

// meshCollector exports a stats report gathered on every scrape: the
// server's, the streams', each consumer's and each service's counts.
type meshCollector struct {
	gather    func(context.Context) (*stats.Report, error)
	up        *prometheus.Desc
	server    []metric[stats.ServerStats]
	stream    []metric[stats.StreamStats]
	dead      []metric[stats.DeadLetterStats]
	services  []metric[stats.ServiceStats]
	consumers []metric[consumers.Consumer]
}

// newMeshCollector returns a collector of the reports gather returns for
// namespace ns.
func newMeshCollector(ns string, gather func(context.Context) (*stats.Report, error)) *meshCollector {
	labels := prometheus.Labels{"namespace": ns}
	desc := func(name, help string, variable ...string) *prometheus.Desc {
		return prometheus.NewDesc("ipcmesh_"+name, help, variable, labels)
	}
	svc := func(name, help string, kind prometheus.ValueType, v func(*stats.ServiceStats) float64) metric[stats.ServiceStats] {
		return metric[stats.ServiceStats]{desc("service_"+name, help, "service"), kind, v}
	}
	counter, gauge := prometheus.CounterValue, prometheus.GaugeValue
	cons := func(name, help string, v func(*consumers.Consumer) float64) metric[consumers.Consumer] {
		return metric[consumers.Consumer]{desc("consumer_"+name, help, "service", "handler"), gauge, v}
	}
	return &meshCollector{
		gather: gather,
		up:     desc("stats_up", "1 if the last gathering of the mesh's stats succeeded, 0 otherwise."),
		server: []metric[stats.ServerStats]{
			{desc("server_connections", "Client connections to the NATS server."), gauge, func(s *stats.ServerStats) float64 { return float64(s.Connections) }},
			{desc("server_in_messages_total", "Messages the NATS server received."), counter, func(s *stats.ServerStats) float64 { return float64(s.InMsgs) }},
			{desc("server_out_messages_total", "Messages the NATS server sent."), counter, func(s *stats.ServerStats) float64 { return float64(s.OutMsgs) }},
			{desc("server_in_bytes_total", "Bytes the NATS server received."), counter, func(s *stats.ServerStats) float64 { return float64(s.InBytes) }},
			{desc("server_out_bytes_total", "Bytes the NATS server sent."), counter, func(s *stats.ServerStats) float64 { return float64(s.OutBytes) }},
		},
		stream: []metric[stats.StreamStats]{
			{desc("stream_events", "Events kept in the event stream."), gauge, func(s *stats.StreamStats) float64 { return float64(s.Events) }},
			{desc("stream_bytes", "Bytes kept in the event stream."), gauge, func(s *stats.StreamStats) float64 { return float64(s.Bytes) }},
			{desc("stream_first_sequence", "Sequence of the oldest event kept."), gauge, func(s *stats.StreamStats) float64 { return float64(s.FirstSeq) }},
			{desc("stream_last_sequence", "Sequence of the newest event."), gauge, func(s *stats.StreamStats) float64 { return float64(s.LastSeq) }},
			{desc("stream_last_event_timestamp_seconds", "When the newest event was stored, in Unix seconds."), gauge, func(s *stats.StreamStats) float64 { return unixSeconds(s) }},
			{desc("stream_consumers", "Consumers of the event stream (durable handlers, readers)."), gauge, func(s *stats.StreamStats) float64 { return float64(s.Consumers) }},
		},
		dead: []metric[stats.DeadLetterStats]{
			{desc("dead_letters", "Dead letters kept."), gauge, func(s *stats.DeadLetterStats) float64 { return float64(s.Count) }},
			{desc("dead_letter_bytes", "Bytes of dead letters kept."), gauge, func(s *stats.DeadLetterStats) float64 { return float64(s.Bytes) }},
		},
		services: []metric[stats.ServiceStats]{
			svc("instances", "Connected instances of the service.", gauge, func(s *stats.ServiceStats) float64 { return float64(len(s.Instances)) }),
			svc("emitted_total", "Events the service emitted.", counter, func(s *stats.ServiceStats) float64 { return float64(s.Emitted) }),
			svc("received_total", "Events delivered to the service.", counter, func(s *stats.ServiceStats) float64 { return float64(s.Received) }),
			svc("handled_total", "Handler calls that succeeded.", counter, func(s *stats.ServiceStats) float64 { return float64(s.Handled) }),
			svc("failed_total", "Handler calls that failed or panicked.", counter, func(s *stats.ServiceStats) float64 { return float64(s.Failed) }),
			svc("panics_total", "Handler calls that panicked.", counter, func(s *stats.ServiceStats) float64 { return float64(s.Panics) }),
			svc("invalid_total", "Messages that were not valid CloudEvents.", counter, func(s *stats.ServiceStats) float64 { return float64(s.Invalid) }),
			svc("dropped_total", "Events dropped because handlers fell behind.", counter, func(s *stats.ServiceStats) float64 { return float64(s.Dropped) }),
			svc("requests_total", "Requests the service sent.", counter, func(s *stats.ServiceStats) float64 { return float64(s.Requests) }),
			svc("emit_failed_total", "Asynchronous emits the stream did not store.", counter, func(s *stats.ServiceStats) float64 { return float64(s.EmitFailed) }),
			svc("in_flight", "Handler calls running now.", gauge, func(s *stats.ServiceStats) float64 { return float64(s.InFlight) }),
			svc("handler_seconds_total", "Time spent in handler calls (handled_total plus failed_total of them).", counter, func(s *stats.ServiceStats) float64 {
				total, _ := s.HandlerTime()
				return total.Seconds()
			}),
			svc("handler_max_seconds", "The longest handler call of a connected instance.", gauge, func(s *stats.ServiceStats) float64 {
				_, longest := s.HandlerTime()
				return longest.Seconds()
			}),
		},
		// Per durable handler, from its consumer on the event stream, so a
		// handler with no instance connected is counted too.
		consumers: []metric[consumers.Consumer]{
			cons("lag", "Events of the durable handler not yet acknowledged: pending plus ack pending.", func(c *consumers.Consumer) float64 { return float64(c.Lag) }),
			cons("pending", "Events of the durable handler not yet delivered to an instance.", func(c *consumers.Consumer) float64 { return float64(c.Pending) }),
			cons("ack_pending", "Events delivered to an instance of the durable handler and not yet acknowledged.", func(c *consumers.Consumer) float64 { return float64(c.AckPending) }),
			cons("redelivered", "Events not yet acknowledged that were delivered more than once.", func(c *consumers.Consumer) float64 { return float64(c.Redelivered) }),
			cons("paused", "1 if the durable handler's consumer is paused, 0 otherwise.", func(c *consumers.Consumer) float64 { return boolValue(c.Paused) }),
		},
	}
}

// unixSeconds is when the stream's newest event was stored, 0 if never.
func unixSeconds(s *stats.StreamStats) float64 {
	if s.LastTime.IsZero() {
		return 0
	}
	return float64(s.LastTime.UnixNano()) / 1e9
}

// boolValue is 1 for true, 0 for false.
func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Describe sends the descriptions of every metric.
func (c *meshCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	describe(ch, c.server)
	describe(ch, c.stream)
	describe(ch, c.dead)
	describe(ch, c.services)
	describe(ch, c.consumers)
}

// describe sends the descriptions of ms.
func describe[T any](ch chan<- *prometheus.Desc, ms []metric[T]) {
	for _, m := range ms {
		ch <- m.desc
	}
}

// Collect gathers a report and sends its numbers. A part the report lacks
// (no stream, no server counts) is left out.
func (c *meshCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), stats.Timeout)
	defer cancel()
	r, err := c.gather(ctx)
	if err != nil {
		slog.Warn("meshctl serve: gather metrics", "error", err)
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	collect(ch, c.server, r.Server)
	collect(ch, c.stream, r.Stream)
	collect(ch, c.dead, r.DeadLetters)
	for name, s := range r.Services {
		collect(ch, c.services, s, name)
	}
	for i := range r.Consumers {
		cs := &r.Consumers[i]
		collect(ch, c.consumers, cs, cs.Service, cs.Handler)
	}
}

// collect sends the metrics ms read from v, if v is not nil, with the
// values of their variable labels.
func collect[T any](ch chan<- prometheus.Metric, ms []metric[T], v *T, labels ...string) {
	if v == nil {
		return
	}
	for _, m := range ms {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(v), labels...)
	}
}
