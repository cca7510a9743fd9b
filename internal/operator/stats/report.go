// Package stats is the mesh's statistics report, as GET /api/ipc/stats of
// the bridge serves it and meshctl stats shows it: what it holds, how it is
// gathered over NATS (the servers' counts, the streams' state, the event
// stream's consumers, and each connected worker's own counts), and how it
// is printed as a table.
package stats

import (
	"time"

	"github.com/exprsn/ipcmesh/internal/operator/consumers"
	"github.com/exprsn/ipcmesh/mesh"
)

// Timeout bounds a whole report: the servers' and the workers' answers,
// and the streams' state.
const Timeout = 10 * time.Second

// Report is what GET /api/ipc/stats serves and meshctl stats shows.
type Report struct {
	// Time is when the report was gathered.
	Time      time.Time `json:"time"`
	Namespace string    `json:"namespace"`
	// Server is nil when the servers did not say.
	Server *ServerStats `json:"server,omitempty"`
	// Stream and DeadLetters are nil when the namespace has no streams.
	Stream      *StreamStats     `json:"stream"`
	DeadLetters *DeadLetterStats `json:"dead_letters"`
	// Consumers are the event stream's consumers (one per durable handler
	// of each service, whether or not an instance is connected) with their
	// pending, ack pending, redelivered, lag and pause, by service then
	// handler; empty when the namespace has no event stream.
	Consumers []consumers.Consumer `json:"consumers"`
	// Services are the connected services' own counts, by service name.
	Services map[string]*ServiceStats `json:"services"`
}

// ServerStats are the NATS server's counts.
type ServerStats struct {
	// Source is "varz" for the bridge's embedded server (server-wide
	// counts), "account" for the totals of the caller's account over the
	// servers that answered.
	Source      string `json:"source"`
	Servers     int    `json:"servers"`
	Connections int    `json:"connections"`
	InMsgs      int64  `json:"in_msgs"`
	OutMsgs     int64  `json:"out_msgs"`
	InBytes     int64  `json:"in_bytes"`
	OutBytes    int64  `json:"out_bytes"`
}

// StreamStats describe the namespace's event stream.
type StreamStats struct {
	Name      string    `json:"name"`
	Events    uint64    `json:"events"`
	Bytes     uint64    `json:"bytes"`
	FirstSeq  uint64    `json:"first_seq"`
	FirstTime time.Time `json:"first_time"`
	LastSeq   uint64    `json:"last_seq"`
	LastTime  time.Time `json:"last_time"`
	Consumers int       `json:"consumers"`
}

// DeadLetterStats describe the namespace's dead-letter stream.
type DeadLetterStats struct {
	Name  string `json:"name"`
	Count uint64 `json:"count"`
	Bytes uint64 `json:"bytes"`
}

// ServiceStats are one service's counts: the totals over its instances
// (Service, Since = the oldest instance's, counters summed), and each
// instance's own.
type ServiceStats struct {
	mesh.Stats
	Instances []mesh.InstanceStats `json:"instances"`
}

// add counts one instance's stats in the service's totals.
func (s *ServiceStats) add(is mesh.InstanceStats) {
	s.Instances = append(s.Instances, is)
	t := &s.Stats
	if is.Since.Before(t.Since) {
		t.Since = is.Since
	}
	t.Emitted += is.Emitted
	t.Received += is.Received
	t.Handled += is.Handled
	t.Failed += is.Failed
	t.Panics += is.Panics
	t.Invalid += is.Invalid
	t.Dropped += is.Dropped
	t.Requests += is.Requests
	t.InFlight += is.InFlight
	t.EmitFailed += is.EmitFailed
	if t.Events == nil {
		t.Events = map[string]mesh.EventStats{}
	}
	for name, e := range is.Events {
		sum := t.Events[name]
		sum.Emitted += e.Emitted
		sum.Received += e.Received
		sum.Handled += e.Handled
		sum.Failed += e.Failed
		sum.HandlerTime += e.HandlerTime
		sum.MaxHandlerTime = max(sum.MaxHandlerTime, e.MaxHandlerTime)
		t.Events[name] = sum
	}
	if len(is.Durable) > 0 && t.Durable == nil {
		t.Durable = map[string]mesh.DurableStats{}
	}
	for name, d := range is.Durable {
		sum := t.Durable[name]
		sum.Acked += d.Acked
		sum.Retried += d.Retried
		sum.Redelivered += d.Redelivered
		sum.DeadLettered += d.DeadLettered
		sum.Skipped += d.Skipped
		sum.Terminated += d.Terminated
		// Instances share the consumer: its pending count is one number.
		sum.Pending = max(sum.Pending, d.Pending)
		t.Durable[name] = sum
	}
}

// HandlerTime returns the total duration of the service's handler calls
// (Handled+Failed of them) and the longest, over its event names.
func (s *ServiceStats) HandlerTime() (total, longest time.Duration) {
	for _, e := range s.Events {
		total += e.HandlerTime
		longest = max(longest, e.MaxHandlerTime)
	}
	return total, longest
}
