package render

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/exprsn/ipcmesh/schedules"
)

// Schedules writes a table of pending schedules, one a line, their next
// firing counted from now (see NextFiring).
func Schedules(out io.Writer, list []schedules.Schedule, now time.Time) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tEVENT\tTARGET\tNEXT\tRECURS\tSOURCE\tID")
	for _, s := range list {
		next := "-"
		if t := NextFiring(s, now); !t.IsZero() {
			next = t.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Key, orDash(s.Event), orDash(s.Target), next,
			recurs(s), orDash(s.Source), orDash(OneLine(s.ID)))
	}
	return tw.Flush()
}

// ScheduleView is a pending schedule as meshctl schedules list --json
// prints it.
type ScheduleView struct {
	Key     string `json:"key"`
	ID      string `json:"id"`
	Source  string `json:"source"`
	Event   string `json:"event"`
	Target  string `json:"target"`
	Subject string `json:"subject"`
	// Schedule is the server's pattern: "@at <time>", "@every <duration>"
	// or a cron expression, in TimeZone.
	Schedule  string `json:"schedule"`
	TimeZone  string `json:"time_zone,omitempty"`
	Recurring bool   `json:"recurring"`
	// Next is NextFiring; absent for cron schedules.
	Next *time.Time `json:"next,omitempty"`
	// TTL is how long the event stream keeps each firing; absent for
	// the stream's MaxAge.
	TTL      string    `json:"ttl,omitempty"`
	Created  time.Time `json:"created"`
	Sequence uint64    `json:"sequence"`
}

// ScheduleViews returns the views of list, their next firing counted from
// now.
func ScheduleViews(list []schedules.Schedule, now time.Time) []ScheduleView {
	out := make([]ScheduleView, len(list))
	for i, s := range list {
		v := ScheduleView{Key: s.Key, ID: s.ID, Source: s.Source, Event: s.Event, Target: s.Target,
			Subject: s.Subject, Schedule: s.Pattern, TimeZone: s.TimeZone, Recurring: s.Recurring(),
			Created: s.Created.UTC(), Sequence: s.Sequence}
		if t := NextFiring(s, now); !t.IsZero() {
			t = t.UTC()
			v.Next = &t
		}
		if s.TTL > 0 {
			v.TTL = s.TTL.String()
		}
		out[i] = v
	}
	return out
}

// NextFiring is when s fires next after now: the time of a one-time
// schedule; for an "@every d" schedule, the first of its creation time
// (to the second) plus a multiple of d that is not before now, as the
// server counts them while it runs (after an outage it fires once, late,
// then counts from then); zero for a cron schedule.
func NextFiring(s schedules.Schedule, now time.Time) time.Time {
	if !s.Recurring() {
		return s.At
	}
	every, ok := strings.CutPrefix(s.Pattern, "@every ")
	if !ok {
		return time.Time{}
	}
	d, err := time.ParseDuration(every)
	if err != nil || d <= 0 {
		return time.Time{}
	}
	next := s.Created.Round(time.Second).Add(d)
	if next.Before(now) {
		next = next.Add(now.Sub(next).Truncate(d))
		if next.Before(now) {
			next = next.Add(d)
		}
	}
	return next
}

// recurs is the RECURS column: "every <d>", the cron expression and its
// zone, or "-" for a one-time schedule.
func recurs(s schedules.Schedule) string {
	switch {
	case !s.Recurring():
		return "-"
	case strings.HasPrefix(s.Pattern, "@every "):
		return strings.TrimPrefix(s.Pattern, "@")
	case s.TimeZone != "":
		return fmt.Sprintf("cron %q %s", s.Pattern, s.TimeZone)
	}
	return fmt.Sprintf("cron %q UTC", s.Pattern)
}
