package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// How long a gathering of answers (workers' stats, servers' account stats)
// waits: until quietWindow passes with no new answer, at most maxGather.
const (
	quietWindow = 250 * time.Millisecond
	maxGather   = 2 * time.Second
)

// gatherTimeout bounds a whole report: the servers' and the workers'
// answers, and the streams' state.
const gatherTimeout = 10 * time.Second

// statsReport is what GET /api/ipc/stats serves and meshctl stats shows.
type statsReport struct {
	// Time is when the report was gathered.
	Time      time.Time `json:"time"`
	Namespace string    `json:"namespace"`
	// Server is nil when the servers did not say.
	Server *serverStats `json:"server,omitempty"`
	// Stream and DeadLetters are nil when the namespace has no streams.
	Stream      *streamStats     `json:"stream"`
	DeadLetters *deadLetterStats `json:"dead_letters"`
	// Services are the connected services' own counts, by service name.
	Services map[string]*serviceStats `json:"services"`
}

// serverStats are the NATS server's counts.
type serverStats struct {
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

// streamStats describe the namespace's event stream.
type streamStats struct {
	Name      string    `json:"name"`
	Events    uint64    `json:"events"`
	Bytes     uint64    `json:"bytes"`
	FirstSeq  uint64    `json:"first_seq"`
	FirstTime time.Time `json:"first_time"`
	LastSeq   uint64    `json:"last_seq"`
	LastTime  time.Time `json:"last_time"`
	Consumers int       `json:"consumers"`
}

// deadLetterStats describe the namespace's dead-letter stream.
type deadLetterStats struct {
	Name  string `json:"name"`
	Count uint64 `json:"count"`
	Bytes uint64 `json:"bytes"`
}

// serviceStats are one service's counts: the totals over its instances
// (Service, Since = the oldest instance's, counters summed), and each
// instance's own.
type serviceStats struct {
	mesh.Stats
	Instances []mesh.InstanceStats `json:"instances"`
}

// serverSource reports the server part of a report.
type serverSource func(ctx context.Context) (*serverStats, error)

// statsGatherer gathers reports for one namespace over one connection. The
// bridge and meshctl stats --server share it.
type statsGatherer struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	ns     string
	server serverSource
}

// gather builds a report: the server's counts, the streams' state, and the
// stats every connected worker answers on subjects.StatsSubject.
func (g *statsGatherer) gather(ctx context.Context) (*statsReport, error) {
	r := &statsReport{Time: time.Now().UTC(), Namespace: g.ns, Services: map[string]*serviceStats{}}
	var err error
	if r.Server, err = g.server(ctx); err != nil {
		return nil, err
	}
	events, err := streamState(ctx, g.js, subjects.EventStream(g.ns))
	if err != nil {
		return nil, err
	}
	if events != nil {
		r.Stream = &streamStats{
			Name: events.Config.Name, Events: events.State.Msgs, Bytes: events.State.Bytes,
			FirstSeq: events.State.FirstSeq, FirstTime: events.State.FirstTime,
			LastSeq: events.State.LastSeq, LastTime: events.State.LastTime,
			Consumers: events.State.Consumers,
		}
	}
	dead, err := streamState(ctx, g.js, subjects.DeadLetterStream(g.ns))
	if err != nil {
		return nil, err
	}
	if dead != nil {
		r.DeadLetters = &deadLetterStats{Name: dead.Config.Name, Count: dead.State.Msgs, Bytes: dead.State.Bytes}
	}
	answers, err := gatherReplies(ctx, g.nc, subjects.StatsSubject(g.ns), nil)
	if err != nil {
		return nil, fmt.Errorf("gather the services' stats: %w", err)
	}
	for _, m := range answers {
		var is mesh.InstanceStats
		if json.Unmarshal(m.Data, &is) != nil || is.Service == "" {
			continue // not a worker's answer
		}
		s := r.Services[is.Service]
		if s == nil {
			s = &serviceStats{Stats: mesh.Stats{Service: is.Service, Namespace: is.Namespace, Since: is.Since}}
			r.Services[is.Service] = s
		}
		s.add(is)
	}
	for _, s := range r.Services {
		slices.SortFunc(s.Instances, func(a, b mesh.InstanceStats) int { return strings.Compare(a.Instance, b.Instance) })
	}
	return r, nil
}

// add counts one instance's stats in the service's totals.
func (s *serviceStats) add(is mesh.InstanceStats) {
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

// streamState returns the info of stream name, or nil if there is none.
func streamState(ctx context.Context, js jetstream.JetStream, name string) (*jetstream.StreamInfo, error) {
	s, err := js.Stream(ctx, name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound), errors.Is(err, jetstream.ErrJetStreamNotEnabled),
		errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount), errors.Is(err, nats.ErrNoResponders):
		return nil, nil // no such stream, or no JetStream at all
	}
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	return info, nil
}

// gatherReplies publishes a request with body on subject and collects the
// answers until quietWindow passes without one, maxGather in all, or ctx
// ends. No responders is no answer.
func gatherReplies(ctx context.Context, nc *nats.Conn, subject string, body []byte) ([]*nats.Msg, error) {
	inbox := nats.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.PublishRequest(subject, inbox, body); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, maxGather)
	defer cancel()
	var out []*nats.Msg
	for {
		quiet, stop := context.WithTimeout(ctx, quietWindow)
		m, err := sub.NextMsgWithContext(quiet)
		stop()
		switch {
		case errors.Is(err, nats.ErrNoResponders):
			return out, nil
		case err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
			return out, nil // quiet for quietWindow
		case err != nil && ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
			return out, nil // maxGather passed
		case err != nil:
			return out, err
		}
		out = append(out, m)
	}
}
