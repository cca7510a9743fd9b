package stats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/exprsn/ipcmesh/internal/operator/consumers"
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

// ServerSource reports the server part of a report.
type ServerSource func(ctx context.Context) (*ServerStats, error)

// Gatherer gathers reports for one namespace over one connection. The
// bridge and meshctl stats --server share it.
type Gatherer struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	ns     string
	server ServerSource
}

// NewGatherer returns a gatherer of namespace ns's reports over nc and its
// JetStream handle js, the server part from server.
func NewGatherer(nc *nats.Conn, js jetstream.JetStream, ns string, server ServerSource) *Gatherer {
	return &Gatherer{nc: nc, js: js, ns: ns, server: server}
}

// Gather builds a report: the server's counts, the streams' state, the
// event stream's consumers, and the stats every connected worker answers
// on subjects.StatsSubject.
func (g *Gatherer) Gather(ctx context.Context) (*Report, error) {
	r := &Report{Time: time.Now().UTC(), Namespace: g.ns, Services: map[string]*ServiceStats{}, Consumers: []consumers.Consumer{}}
	var err error
	if r.Server, err = g.server(ctx); err != nil {
		return nil, err
	}
	events, err := StreamState(ctx, g.js, subjects.EventStream(g.ns))
	if err != nil {
		return nil, err
	}
	if events != nil {
		r.Stream = &StreamStats{
			Name: events.Config.Name, Events: events.State.Msgs, Bytes: events.State.Bytes,
			FirstSeq: events.State.FirstSeq, FirstTime: events.State.FirstTime,
			LastSeq: events.State.LastSeq, LastTime: events.State.LastTime,
			Consumers: events.State.Consumers,
		}
		list, err := consumers.List(ctx, g.js, g.ns, "")
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound): // deleted meanwhile
		case err != nil:
			return nil, err
		default:
			r.Consumers = list
		}
	}
	dead, err := StreamState(ctx, g.js, subjects.DeadLetterStream(g.ns))
	if err != nil {
		return nil, err
	}
	if dead != nil {
		r.DeadLetters = &DeadLetterStats{Name: dead.Config.Name, Count: dead.State.Msgs, Bytes: dead.State.Bytes}
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
			s = &ServiceStats{Stats: mesh.Stats{Service: is.Service, Namespace: is.Namespace, Since: is.Since}}
			r.Services[is.Service] = s
		}
		s.add(is)
	}
	for _, s := range r.Services {
		slices.SortFunc(s.Instances, func(a, b mesh.InstanceStats) int { return strings.Compare(a.Instance, b.Instance) })
	}
	return r, nil
}

// StreamState returns the info of stream name, or nil if there is none.
func StreamState(ctx context.Context, js jetstream.JetStream, name string) (*jetstream.StreamInfo, error) {
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
	// Three tokens: services may answer on "_INBOX.*.*" only (see
	// permissions).
	inbox := nats.NewInbox() + ".stats"
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
