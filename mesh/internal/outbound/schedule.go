package outbound

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Schedule is when a scheduled event fires: at At, After from the emit, every
// Every, or by the cron expression Cron in TimeZone. The zero value is
// "now": the event is not scheduled.
type Schedule struct {
	At       time.Time
	After    time.Duration
	Every    time.Duration
	Cron     string
	TimeZone string
	set      bool
}

// NewSchedule returns s marked as set, so that a zero At or After is kept
// (and refused) rather than read as "not scheduled".
func NewSchedule(s Schedule) Schedule {
	s.set = true
	return s
}

// IsSet reports whether the event is scheduled.
func (s Schedule) IsSet() bool { return s.set }

// Recurring reports whether the schedule fires more than once.
func (s Schedule) Recurring() bool { return s.Every != 0 || s.Cron != "" }

// errSchedule marks a schedule or TTL the emitter gave wrong.
var errSchedule = errors.New("invalid schedule")

// pattern returns the schedule's Nats-Schedule header value, with the
// time of a one-time schedule, checked.
func (s Schedule) pattern(now time.Time) (string, time.Time, error) {
	switch {
	case s.Every != 0:
		if s.Every < time.Second {
			return "", time.Time{}, fmt.Errorf("%w: Every(%v): want at least 1s", errSchedule, s.Every)
		}
		return "@every " + s.Every.String(), time.Time{}, nil
	case s.Cron != "":
		if s.TimeZone != "" {
			if _, err := time.LoadLocation(s.TimeZone); err != nil {
				return "", time.Time{}, fmt.Errorf("%w: Cron time zone: %w", errSchedule, err)
			}
		}
		return s.Cron, time.Time{}, nil
	case s.After != 0:
		if s.After < 0 {
			return "", time.Time{}, fmt.Errorf("%w: After(%v): want a positive duration", errSchedule, s.After)
		}
		s.At = now.Add(s.After)
	case s.At.IsZero():
		return "", time.Time{}, fmt.Errorf("%w: At of the zero time", errSchedule)
	}
	at := s.At.UTC()
	return "@at " + at.Format(time.RFC3339Nano), at, nil
}

// schedule turns s, prepared as an immediate event for the event stream,
// into the schedule message of its event (see subjects.ScheduleSubject):
// on the schedule subject of its duplicate key, with the Nats-Schedule
// headers, and, for a one-time schedule, the firing's id and
// scheduledtime extension in the event itself. firingTTL is the TTL of
// the firings when the emit sets none; 0 for none.
func (e *Encoder) schedule(s *Scratch, firingTTL time.Duration) error {
	o := &s.Opts
	pattern, at, err := o.Schedule.pattern(time.Now())
	if err != nil {
		return err
	}
	key := subjects.DuplicateKey(s.Event.Source, s.Event.ID)
	h := nats.Header{
		jetstream.MsgIDHeader:          []string{key},
		jetstream.ScheduleHeader:       []string{pattern},
		jetstream.ScheduleTargetHeader: []string{subjects.FireSubject(e.Namespace, s.Msg.Subject)},
	}
	if ttl := cmp.Or(o.TTL, firingTTL); ttl > 0 {
		h.Set(jetstream.ScheduleTTLHeader, ttl.String())
	}
	if o.Schedule.Recurring() {
		h.Set(subjects.HeaderSchedule, pattern)
		if o.Schedule.TimeZone != "" {
			h.Set(jetstream.ScheduleTimeZoneHeader, o.Schedule.TimeZone)
		}
	} else {
		stamp := at.Format(time.RFC3339Nano)
		s.Event.ID += "@" + stamp
		s.Event.Extensions = append(s.Event.Extensions, codec.Extension{Name: subjects.ScheduledTimeExtension, Value: stamp})
	}
	s.Msg.Subject = subjects.ScheduleSubject(e.Namespace, key)
	s.Msg.Header = h
	return nil
}

// checkTTL checks a per-event TTL: the server counts whole seconds, at
// least one.
func checkTTL(ttl time.Duration) error {
	if ttl != 0 && ttl < time.Second {
		return fmt.Errorf("%w: TTL(%v): want at least 1s", errSchedule, ttl)
	}
	return nil
}
