// Package schedules lists and cancels a namespace's pending scheduled
// events: those emitted with mesh.At, mesh.After, mesh.Every or mesh.Cron
// that have not fired yet, or that recur. It needs only JetStream, so a
// command line or an operator's tool can use it without a mesh.Worker:
//
//	list, err := schedules.List(ctx, js, "ipc")
//	err = schedules.Cancel(ctx, js, "ipc", list[0].Key)
//
// A schedule is the schedule message of its event in the namespace's
// schedule stream (subjects.ScheduleStream), on subjects.ScheduleSubject
// of its key, subjects.DuplicateKey of the event's source and id. The
// server removes a one-time schedule when it fires; Cancel removes any.
package schedules

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrNotFound is returned by Cancel for a schedule that is not pending:
// never made, already fired (one-time schedules), or cancelled.
var ErrNotFound = errors.New("no such pending schedule")

// Schedule is a pending scheduled event.
type Schedule struct {
	// Key identifies the schedule: subjects.DuplicateKey(Source, ID).
	Key string
	// ID is the id the event was emitted with; each firing's id is
	// "<ID>@<scheduled time, RFC 3339>".
	ID string
	// Source is the emitting service, Event the event name.
	Source, Event string
	// Subject is the event subject it fires on, "<ns>.<target>.<event>",
	// and Target its target service, or "all".
	Subject, Target string
	// Pattern is the schedule as the server reads it: "@at <time>",
	// "@every <duration>" or a cron expression; TimeZone the cron's zone.
	Pattern, TimeZone string
	// At is when a one-time schedule fires; zero for a recurring one.
	At time.Time
	// TTL is how long the event stream keeps each firing; 0 for its
	// MaxAge.
	TTL time.Duration
	// Created is when the schedule was stored, Sequence where.
	Created  time.Time
	Sequence uint64
}

// Recurring reports whether the schedule fires more than once.
func (s Schedule) Recurring() bool { return s.At.IsZero() }

// List returns namespace ns's pending schedules, the soonest one-time
// schedules first, then the recurring ones by creation. It asks the
// schedule stream which schedule subjects it holds, then reads the last
// message of each; one that fires or is cancelled meanwhile is left out.
// A namespace without a schedule stream has none (an empty list, no
// error).
func List(ctx context.Context, js jetstream.JetStream, ns string) ([]Schedule, error) {
	stream, err := js.Stream(ctx, subjects.ScheduleStream(ns))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("schedules: list %s: %w", ns, err)
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subjects.ScheduleFilter(ns)))
	if err != nil {
		return nil, fmt.Errorf("schedules: list %s: %w", ns, err)
	}
	out := make([]Schedule, 0, len(info.State.Subjects))
	for subject := range info.State.Subjects {
		msg, err := stream.GetLastMsgForSubject(ctx, subject)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // fired or cancelled since the count
		}
		if err != nil {
			return nil, fmt.Errorf("schedules: list %s: read %s: %w", ns, subject, err)
		}
		if s := parse(ns, msg); s.Pattern != "" {
			out = append(out, s)
		}
	}
	sortSchedules(out)
	return out, nil
}

func sortSchedules(list []Schedule) {
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.Recurring() != b.Recurring() {
			return !a.Recurring()
		}
		if !a.Recurring() && !a.At.Equal(b.At) {
			return a.At.Before(b.At)
		}
		return a.Sequence < b.Sequence
	})
}

// parse reads a schedule message; its Pattern is "" when it is not one.
func parse(ns string, msg *jetstream.RawStreamMsg) Schedule {
	h := msg.Header
	s := Schedule{
		Key:      subjects.ScheduleKey(ns, msg.Subject),
		Pattern:  h.Get(jetstream.ScheduleHeader),
		TimeZone: h.Get(jetstream.ScheduleTimeZoneHeader),
		Subject:  subjects.EventSubjectOfFire(ns, h.Get(jetstream.ScheduleTargetHeader)),
	}
	s.Target = subjects.TargetOf(s.Subject, ns)
	if at, ok := strings.CutPrefix(s.Pattern, "@at "); ok {
		s.At, _ = time.Parse(time.RFC3339Nano, at)
	}
	if ttl := h.Get(jetstream.ScheduleTTLHeader); ttl != "" {
		s.TTL, _ = time.ParseDuration(ttl)
	}
	s.Created, s.Sequence = msg.Time, msg.Sequence
	var ev codec.Event
	if codec.Decode(h, msg.Data, &ev) == nil {
		s.ID, s.Source, s.Event = ev.ID, ev.Source, ev.Type
		if !s.At.IsZero() {
			// A one-time schedule's event has its firing's id.
			s.ID = strings.TrimSuffix(s.ID, "@"+s.At.UTC().Format(time.RFC3339Nano))
		}
	}
	return s
}

// Cancel removes namespace ns's schedule key, so that it never fires
// again. It fails with ErrNotFound when there is no such pending schedule;
// for about a second after a cancel, cancelling the same key again
// returns nil instead. A firing already stored is not undone.
//
// It needs only what a service that schedules may do: the schedule
// stream's info, and a publish on the schedule's subject of a marker that
// rolls the subject up (Nats-Rollup: sub), replacing the schedule, and
// expires after cancelMarkerTTL. Reading the stream or purging it would
// let a service see or remove every service's schedules.
func Cancel(ctx context.Context, js jetstream.JetStream, ns, key string) error {
	if key == "" || strings.ContainsAny(key, ".*> \t") {
		return fmt.Errorf("schedules: cancel %q: %w", key, ErrNotFound)
	}
	stream, err := js.Stream(ctx, subjects.ScheduleStream(ns))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("schedules: cancel %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("schedules: cancel %s: %w", key, err)
	}
	subject := subjects.ScheduleSubject(ns, key)
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return fmt.Errorf("schedules: cancel %s: %w", key, err)
	}
	if info.State.Subjects[subject] == 0 {
		return fmt.Errorf("schedules: cancel %s: %w", key, ErrNotFound)
	}
	marker := nats.NewMsg(subject)
	marker.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	marker.Header.Set(jetstream.MsgTTLHeader, cancelMarkerTTL)
	if _, err := js.PublishMsg(ctx, marker); err != nil {
		return fmt.Errorf("schedules: cancel %s: %w", key, err)
	}
	return nil
}

// cancelMarkerTTL is how long Cancel's marker stays on a cancelled
// schedule's subject: the shortest TTL the server keeps.
const cancelMarkerTTL = "1s"
