package mesh

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/mesh/internal/outbound"
	"github.com/exprsn/ipcmesh/schedules"
	"github.com/exprsn/ipcmesh/streams"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrUnsupported is returned by an emit that asks for what the server or
// the namespace's streams cannot do: a schedule or a TTL on a server too
// old (the error names the version needed), or without the streams that
// hold them. Nothing is sent.
var ErrUnsupported = errors.New("not supported by the server or the namespace's streams")

// emitOnly is an option of emits alone.
type emitOnly func(*sendOptions)

func (o emitOnly) applyEmit(s *sendOptions) { o(s) }

// At delivers the event at t instead of now: it reaches, at t, exactly the
// handlers an emit of it at t would reach, live and durable. Emit returns
// once the schedule is stored; the receipt's ID cancels it
// (Worker.CancelSchedule). The delivered event's id is "<id>@<t>" (t in
// RFC 3339, UTC, with nanoseconds) and its extension scheduledtime is t.
// The server fires within about a second after t; a t in the past fires
// at once. Needs the namespace's streams on nats-server 2.12 or later
// (ErrUnsupported otherwise). Default: now.
func At(t time.Time) EmitOption {
	return emitOnly(func(o *sendOptions) { o.Schedule = outbound.NewSchedule(outbound.Schedule{At: t}) })
}

// After is At(time.Now().Add(d)), the time taken when the event is
// emitted. d must be positive.
func After(d time.Duration) EmitOption {
	return emitOnly(func(o *sendOptions) { o.Schedule = outbound.NewSchedule(outbound.Schedule{After: d}) })
}

// Every delivers the event every d (at least 1 s; the server keeps whole
// seconds) from its emit on, until the schedule is cancelled. Each firing
// has id "<id>@<its scheduled time>" and extension scheduledtime. After a
// server outage a recurring schedule fires once, late, not once per
// missed time. Needs nats-server 2.14 or later.
func Every(d time.Duration) EmitOption {
	return emitOnly(func(o *sendOptions) { o.Schedule = outbound.NewSchedule(outbound.Schedule{Every: d}) })
}

// Cron delivers the event on the server's cron schedule expr (six fields,
// with seconds: "0 30 9 * * 1-5", or "@hourly", "@daily"...) in the time
// zone tz ("" for UTC), until cancelled. The server checks expr: a bad one
// fails the emit. Each firing's scheduledtime is when it was stored,
// truncated to the second (the scheduled time while the server fires
// less than a second late). Needs nats-server 2.14 or later.
func Cron(expr, tz string) EmitOption {
	return emitOnly(func(o *sendOptions) {
		o.Schedule = outbound.NewSchedule(outbound.Schedule{Cron: expr, TimeZone: tz})
	})
}

// TTL makes the event stream remove the event after d (at least 1 s;
// whole seconds), for events whose value goes stale (presence, typing), so
// that a replay or a durable handler that comes late does not act on them.
// With a schedule, each firing is kept d. It has no effect without an
// event stream, where nothing is kept. Needs nats-server 2.11 or later and
// an event stream updated by streams.Ensure (ErrUnsupported otherwise).
// Default: the stream's MaxAge.
func TTL(d time.Duration) EmitOption { return emitOnly(func(o *sendOptions) { o.TTL = d }) }

// scheduling is what the worker found at Connect about scheduled events.
type scheduling struct {
	version   string        // the server's
	stream    bool          // the schedule stream is there, with schedules allowed
	ttl       bool          // the event stream allows per-event TTLs
	firingTTL time.Duration // the event stream's MaxAge
}

// lookupScheduling reads the event and schedule streams' settings, for
// checkSchedule; events is the event stream's config.
func (w *Worker) lookupScheduling(ctx context.Context, events jetstream.StreamConfig) error {
	s := scheduling{version: w.nc.ConnectedServerVersion(), ttl: events.AllowMsgTTL, firingTTL: events.MaxAge}
	stream, err := w.js.Stream(ctx, subjects.ScheduleStream(w.cfg.Namespace))
	switch {
	case err == nil:
		s.stream = stream.CachedInfo().Config.AllowMsgSchedules
	case !errors.Is(err, jetstream.ErrStreamNotFound):
		return fmt.Errorf("look up stream %s: %w%s", subjects.ScheduleStream(w.cfg.Namespace), err, streams.Hint(err))
	}
	w.scheduling.Store(&s)
	return nil
}

// checkSchedule refuses a schedule or TTL that cannot be honoured, with
// what to do.
func (w *Worker) checkSchedule(o *sendOptions) error {
	if !o.Schedule.IsSet() && o.TTL == 0 {
		return nil
	}
	s := w.scheduling.Load()
	if !w.durable.Load() || s == nil {
		if !o.Schedule.IsSet() {
			return nil // nothing is kept, nothing expires
		}
		return fmt.Errorf("%w: a scheduled event needs the namespace's event stream %s: set Config.Stream.Manage, or create it with streams.Ensure",
			ErrUnsupported, subjects.EventStream(w.cfg.Namespace))
	}
	need := ""
	switch {
	case o.Schedule.Recurring() && !streams.AtLeast(s.version, streams.VersionRecurringSchedules):
		need = streams.VersionRecurringSchedules
	case o.Schedule.IsSet() && !streams.AtLeast(s.version, streams.VersionSchedules):
		need = streams.VersionSchedules
	case o.TTL != 0 && !streams.AtLeast(s.version, streams.VersionMsgTTL):
		need = streams.VersionMsgTTL
	}
	switch {
	case need != "":
		return fmt.Errorf("%w: %s needs nats-server %s or later; the server is %s", ErrUnsupported, what(o), need, s.version)
	case o.Schedule.IsSet() && !s.stream:
		return fmt.Errorf("%w: namespace %q has no schedule stream %s: update its streams with streams.Ensure, or set Config.Stream.Manage",
			ErrUnsupported, w.cfg.Namespace, subjects.ScheduleStream(w.cfg.Namespace))
	case o.TTL != 0 && !o.Schedule.IsSet() && !s.ttl:
		return fmt.Errorf("%w: the event stream %s does not allow per-event TTLs: update it with streams.Ensure, or set Config.Stream.Manage",
			ErrUnsupported, subjects.EventStream(w.cfg.Namespace))
	}
	return nil
}

func what(o *sendOptions) string {
	switch {
	case o.Schedule.Recurring():
		return "a recurring schedule (Every, Cron)"
	case o.Schedule.IsSet():
		return "a scheduled event (At, After)"
	}
	return "a per-event TTL"
}

// firingTTL is the TTL of scheduled firings when the emit sets none.
func (w *Worker) firingTTL() time.Duration {
	if s := w.scheduling.Load(); s != nil {
		return s.firingTTL
	}
	return 0
}

// setFiring gives the firing of a recurring schedule, read with headers h,
// its id "<id>@<scheduled time>" and its scheduledtime extension. stored
// is when the firing was stored, for cron schedules. A one-time schedule's
// event has them already.
func setFiring(ev *codec.Event, h nats.Header, stored func() time.Time) {
	pattern := h.Get(subjects.HeaderSchedule)
	if pattern == "" || h.Get(jetstream.SchedulerHeader) == "" {
		return
	}
	var at time.Time
	if every, ok := strings.CutPrefix(pattern, "@every "); ok {
		d, err1 := time.ParseDuration(every)
		next, err2 := time.Parse(time.RFC3339Nano, h.Get(jetstream.ScheduleNextHeader))
		if err1 != nil || err2 != nil {
			return
		}
		// The server sets the next time to this one plus the interval.
		at = next.Add(-d)
	} else {
		at = stored().Truncate(time.Second)
	}
	stamp := at.UTC().Format(time.RFC3339Nano)
	ev.ID += "@" + stamp
	ev.Extensions = append(ev.Extensions, codec.Extension{Name: subjects.ScheduledTimeExtension, Value: stamp})
}

// liveStored is when a republished firing was stored (Nats-Time-Stamp), or
// now.
func liveStored(h nats.Header) func() time.Time {
	return func() time.Time {
		if t, err := time.Parse(time.RFC3339Nano, h.Get("Nats-Time-Stamp")); err == nil {
			return t
		}
		return time.Now()
	}
}

// Schedules returns the namespace's pending scheduled events, of every
// service (see schedules.List).
func (w *Worker) Schedules(ctx context.Context) ([]schedules.Schedule, error) {
	if w.js == nil {
		return nil, fmt.Errorf("mesh: schedules: %w: the worker does not use JetStream (Config.Stream.Disable)", ErrUnsupported)
	}
	ctx, cancel := w.bounded(ctx)
	defer cancel()
	return schedules.List(ctx, w.js, w.cfg.Namespace)
}

// CancelSchedule cancels the scheduled event this service emitted with id
// (the Receipt's ID), so that it fires no more. It fails with an error
// matching schedules.ErrNotFound when no such schedule is pending (never
// made, fired, or cancelled). Events of another service are cancelled
// with schedules.Cancel and the schedule's Key.
func (w *Worker) CancelSchedule(ctx context.Context, id string) error {
	if w.js == nil {
		return fmt.Errorf("mesh: cancel schedule %s: %w: the worker does not use JetStream (Config.Stream.Disable)", id, ErrUnsupported)
	}
	ctx, cancel := w.bounded(ctx)
	defer cancel()
	if err := schedules.Cancel(ctx, w.js, w.cfg.Namespace, subjects.DuplicateKey(w.cfg.Service, id)); err != nil {
		return fmt.Errorf("mesh: %w", err)
	}
	return nil
}
