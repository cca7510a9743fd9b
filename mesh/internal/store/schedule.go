package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/internal/headers"
	"github.com/exprsn/ipcmesh/mesh/internal/outbound"
	"github.com/exprsn/ipcmesh/schedules"
	"github.com/exprsn/ipcmesh/streams"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go/jetstream"
)

// caps is what scheduled, expiring and batch emits can use, found at Open.
type caps struct {
	version   string        // the server's
	schedules bool          // the schedule stream is there, with schedules allowed
	ttl       bool          // the event stream allows per-event TTLs
	firingTTL time.Duration // the event stream's MaxAge
	batch     bool          // the event stream allows fast batches
}

// lookupCaps reads the event and schedule streams' settings, for Check;
// events is the event stream's config, version the server's.
func (s *Stream) lookupCaps(ctx context.Context, version string, events jetstream.StreamConfig) error {
	c := caps{version: version, ttl: events.AllowMsgTTL, firingTTL: events.MaxAge, batch: events.AllowBatchPublish}
	name := subjects.ScheduleStream(s.Namespace)
	stream, err := s.JS.Stream(ctx, name)
	switch {
	case err == nil:
		c.schedules = stream.CachedInfo().Config.AllowMsgSchedules
	case !errors.Is(err, jetstream.ErrStreamNotFound):
		return fmt.Errorf("look up stream %s: %w%s", name, err, streams.Hint(err))
	}
	s.caps.Store(&c)
	return nil
}

// Check refuses a schedule or TTL that cannot be honoured, with what to
// do, wrapping Config.Unsupported.
func (s *Stream) Check(o *outbound.Options) error {
	if !o.Schedule.IsSet() && o.TTL == 0 {
		return nil
	}
	c := s.caps.Load()
	ns, unsupported := s.Namespace, s.Unsupported
	if !s.durable.Load() || c == nil {
		if !o.Schedule.IsSet() {
			return nil // nothing is kept, nothing expires
		}
		return fmt.Errorf("%w: a scheduled event needs the namespace's event stream %s: set Config.Stream.Manage, or create it with streams.Ensure",
			unsupported, subjects.EventStream(ns))
	}
	need := ""
	switch {
	case o.Schedule.Recurring() && !streams.AtLeast(c.version, streams.VersionRecurringSchedules):
		need = streams.VersionRecurringSchedules
	case o.Schedule.IsSet() && !streams.AtLeast(c.version, streams.VersionSchedules):
		need = streams.VersionSchedules
	case o.TTL != 0 && !streams.AtLeast(c.version, streams.VersionMsgTTL):
		need = streams.VersionMsgTTL
	}
	switch {
	case need != "":
		return fmt.Errorf("%w: %s needs nats-server %s or later; the server is %s", unsupported, what(o), need, c.version)
	case o.Schedule.IsSet() && !c.schedules:
		return fmt.Errorf("%w: namespace %q has no schedule stream %s: update its streams with streams.Ensure, or set Config.Stream.Manage",
			unsupported, ns, subjects.ScheduleStream(ns))
	case o.TTL != 0 && !o.Schedule.IsSet() && !c.ttl:
		return fmt.Errorf("%w: the event stream %s does not allow per-event TTLs: update it with streams.Ensure, or set Config.Stream.Manage",
			unsupported, subjects.EventStream(ns))
	}
	return nil
}

func what(o *outbound.Options) string {
	switch {
	case o.Schedule.Recurring():
		return "a recurring schedule (Every, Cron)"
	case o.Schedule.IsSet():
		return "a scheduled event (At, After)"
	}
	return "a per-event TTL"
}

// Schedules lists the namespace's pending scheduled events (see
// schedules.List), waiting until ctx ends, or Config.Timeout without a
// deadline.
func (s *Stream) Schedules(ctx context.Context) ([]schedules.Schedule, error) {
	if s.JS == nil {
		return nil, fmt.Errorf("mesh: schedules: %w: the worker does not use JetStream (Config.Stream.Disable)", s.Unsupported)
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	return schedules.List(ctx, s.JS, s.Namespace)
}

// Cancel cancels the scheduled event service emitted with id (see
// schedules.Cancel), waiting as Schedules does.
func (s *Stream) Cancel(ctx context.Context, service, id string) error {
	if s.JS == nil {
		return fmt.Errorf("mesh: cancel schedule %s: %w: the worker does not use JetStream (Config.Stream.Disable)", headers.Truncate(id, 256), s.Unsupported)
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	if err := schedules.Cancel(ctx, s.JS, s.Namespace, subjects.DuplicateKey(service, id)); err != nil {
		return fmt.Errorf("mesh: %w", err)
	}
	return nil
}

// FiringTTL is the TTL of scheduled firings when the emit sets none: the
// event stream's MaxAge.
func (s *Stream) FiringTTL() time.Duration {
	if c := s.caps.Load(); c != nil {
		return c.firingTTL
	}
	return 0
}
