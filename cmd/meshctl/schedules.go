package main

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/exprsn/ipcmesh/internal/operator/render"
	"github.com/exprsn/ipcmesh/schedules"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

// schedulesCommand is meshctl schedules, the parent of list and cancel.
func (a *app) schedulesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedules",
		Short: "List and cancel pending scheduled events",
		Long: `schedules manages the namespace's pending scheduled events: those emitted with
meshctl emit --at, --in, --every or --cron (mesh.At, After, Every, Cron) that
have not fired yet, or that recur. Each is a schedule message in the stream
MESH_<namespace>_SCHED, named by its key: a hash of the emitting service and
the event's id, as meshctl emit prints it and schedules list shows it.

A one-time schedule is gone once it fired; a recurring one stays until it is
cancelled. Cancelling never undoes a firing already delivered.`,
		Example: `  meshctl schedules list
  meshctl schedules list --event 'reminder:*' --to exprsn-herald
  meshctl schedules cancel 3q2-7wEXAMPLEkeyAbCdEf`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(a.schedulesListCommand(), a.schedulesCancelCommand())
	return cmd
}

// withSchedules connects and runs fn with JetStream in the namespace.
func (a *app) withSchedules(fn func(js jetstream.JetStream, ns string) error) error {
	ns, err := a.namespace()
	if err != nil {
		return err
	}
	nc, js, err := a.conn.ConnectJetStream("meshctl-schedules")
	if err != nil {
		return err
	}
	defer nc.Close()
	return fn(js, ns)
}

// schedulesListCommand is meshctl schedules list.
func (a *app) schedulesListCommand() *cobra.Command {
	var event, to string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the pending scheduled events, soonest first",
		Long: `list shows the pending scheduled events: the one-time ones by their time,
soonest first, then the recurring ones by creation. Per schedule: its KEY
(what cancel takes), the EVENT and its TARGET service ("all" for a
broadcast), NEXT, when it fires next (for --every schedules counted from
their creation, as the server does; "-" for cron schedules, which the
server alone computes), RECURS (every DURATION, or the cron expression and
its zone; "-" for one-time), the SOURCE service that emitted it and the
event's ID (each firing's id is "<ID>@<its time>").

--json prints them as a JSON array.`,
		Example: "  meshctl schedules list\n  meshctl schedules list --event 'reminder:*'\n  meshctl schedules list --to exprsn-herald --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withSchedules(func(js jetstream.JetStream, ns string) error {
				filter, err := subjects.Filter(ns, cmp.Or(to, "*"), cmp.Or(event, ">"))
				if err != nil {
					return err
				}
				list, err := schedules.List(cmd.Context(), js, ns)
				if err != nil {
					return err
				}
				list = matching(list, filter)
				switch {
				case asJSON:
					return a.writeJSON(render.ScheduleViews(list, a.now()))
				case len(list) == 0:
					_, err := fmt.Fprintln(a.stdout, "no pending schedules")
					return err
				}
				return render.Schedules(a.stdout, list, a.now())
			})
		},
	}
	cmd.Flags().StringVar(&event, "event", "", "only the schedules of events matching this name or pattern")
	cmd.Flags().StringVar(&to, "to", "", `only the schedules of events sent to this service ("all": broadcasts)`)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the schedules as a JSON array")
	return cmd
}

// matching returns the schedules of list whose event subject matches the
// subject filter.
func matching(list []schedules.Schedule, filter string) []schedules.Schedule {
	out := list[:0]
	for _, s := range list {
		if server.SubjectMatchesFilter(s.Subject, filter) {
			out = append(out, s)
		}
	}
	return out
}

// schedulesCancelCommand is meshctl schedules cancel KEY|SUBJECT|ID.
func (a *app) schedulesCancelCommand() *cobra.Command {
	var source string
	cmd := &cobra.Command{
		Use:   "cancel KEY|SUBJECT|ID",
		Short: "Cancel a pending scheduled event, so that it never fires (again)",
		Long: `cancel removes one pending schedule, named by its key (as meshctl emit prints
it and schedules list shows it), its schedule subject (_sched.<ns>.at.<key>,
a mesh.Receipt's Subject), or the id it was emitted with: the id of one
service's event, or, when several services scheduled events with that id,
of --source's.

It fails when no such schedule is pending: never made, cancelled, or a
one-time schedule that already fired. A key is 22 base64url characters and
may start with '-': give it after --, so that it is not read as a flag.`,
		Example: "  meshctl schedules cancel 3q2-7wEXAMPLEkeyAbCdEf\n  meshctl schedules cancel -- -xJm6v0PmSFUAHgFYET51g\n  meshctl schedules cancel nudge/p1 --source exprsn-herald",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withSchedules(func(js jetstream.JetStream, ns string) error {
				s, err := findSchedule(cmd.Context(), js, ns, args[0], source)
				if err != nil {
					return err
				}
				if err := schedules.Cancel(cmd.Context(), js, ns, s.Key); err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "cancelled schedule %s: %s to %s from %s (id %s)\n", s.Key, s.Event, s.Target, s.Source, s.ID)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "with an id: the service that emitted the event")
	return cmd
}

// findSchedule returns the pending schedule of namespace ns that ref
// names: its key, its schedule subject, or its event's id (of source, if
// given).
func findSchedule(ctx context.Context, js jetstream.JetStream, ns, ref, source string) (schedules.Schedule, error) {
	key := ref
	if strings.HasPrefix(ref, subjects.SchedulePrefix+".") {
		if key = subjects.ScheduleKey(ns, ref); key == "" {
			return schedules.Schedule{}, fmt.Errorf("%q is not a schedule subject of namespace %s (want %s)", ref, ns, subjects.ScheduleSubject(ns, "<key>"))
		}
	}
	list, err := schedules.List(ctx, js, ns)
	if err != nil {
		return schedules.Schedule{}, err
	}
	var byID []schedules.Schedule
	for _, s := range list {
		switch {
		case s.Key == key:
			return s, nil
		case s.ID == ref && (source == "" || s.Source == source):
			byID = append(byID, s)
		}
	}
	switch len(byID) {
	case 0:
		return schedules.Schedule{}, fmt.Errorf("cancel %s: %w in namespace %s (see meshctl schedules list)", ref, schedules.ErrNotFound, ns)
	case 1:
		return byID[0], nil
	}
	sources := make([]string, len(byID))
	for i, s := range byID {
		sources[i] = s.Source + " (key " + s.Key + ")"
	}
	return schedules.Schedule{}, fmt.Errorf("id %s names schedules of several services: %s; give the key, or --source", ref, strings.Join(sources, ", "))
}
