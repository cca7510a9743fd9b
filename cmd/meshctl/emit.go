package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/exprsn/ipcmesh/cmd/meshctl/internal/conn"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// defaultSource is the service name meshctl emits and requests as.
const defaultSource = "meshctl"

// emitCommand is meshctl emit EVENT [JSON].
func (a *app) emitCommand() *cobra.Command {
	var to, as string
	var when whenFlags
	cmd := &cobra.Command{
		Use:   "emit EVENT [JSON]",
		Short: "Emit one event, now or scheduled",
		Long: `emit sends one event, as a broadcast or, with --to, to one service. Its
data is the JSON argument, or else standard input when it is not a terminal
("-" reads standard input too); no data sends an event without data.

It prints the event's id and, when the namespace has an event stream, its
sequence in the stream once stored.

Scheduled (one of; needs the namespace's streams, on nats-server 2.12 or
later, 2.14 for --every and --cron):
  --at TIME            deliver at an RFC 3339 time (2025-06-01T12:00:00Z)
  --in DURATION        deliver that long from now (90s, 1h)
  --every DURATION     deliver every DURATION (at least 1s) until cancelled
  --cron EXPR          deliver on a cron schedule with seconds
                       ("0 30 9 * * 1-5", "@hourly") until cancelled,
                       in --tz ZONE (an IANA zone; default UTC)
A scheduled event reaches, at its time, the handlers an emit then would
reach; each firing's id is "<id>@<its time>". emit then prints the
schedule's key, which meshctl schedules list shows and meshctl schedules
cancel takes.

--ttl DURATION (at least 1s) makes the event stream drop the event after
that long (of a scheduled event, each firing), for state that goes stale
such as presence.`,
		Example: `  meshctl emit post:created '{"id":"p1","author":"ada"}'
  meshctl emit notification:trigger --to exprsn-herald < notification.json
  meshctl emit cache:flush --as exprsn-admin
  meshctl emit reminder:due '{"post":"p1"}' --to exprsn-herald --in 1h
  meshctl emit session:expired '{"session":"s1"}' --at 2025-06-01T18:00:00Z
  meshctl emit digest:daily --cron '0 0 8 * * *' --tz Europe/Paris
  meshctl emit user:status '{"userId":"ada","status":"online"}' --ttl 30s`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			opts, scheduled, err := when.options(cmd, a.now())
			if err != nil {
				return err
			}
			w, data, err := a.workerWithData(cmd.Context(), as, args, 1)
			if err != nil {
				return err
			}
			defer conn.CloseWorker(w, &err)
			r, err := w.EmitWithReceipt(cmd.Context(), args[0], payload(data), append(opts, mesh.To(to))...)
			if err != nil {
				return withSchedulingHint(err)
			}
			_, err = fmt.Fprintln(a.stdout, when.describe(r, w.Namespace(), scheduled))
			return err
		},
	}
	cmd.Flags().StringVar(&to, "to", subjects.Broadcast, `service to send the event to; "all" broadcasts`)
	cmd.Flags().StringVar(&as, "as", defaultSource, "service to emit as (the event's source)")
	when.register(cmd)
	return cmd
}

// whenFlags are meshctl emit's flags of when the event is delivered and
// how long it is kept, as given.
type whenFlags struct {
	at        string
	in, every time.Duration
	cron, tz  string
	ttl       time.Duration
}

// register adds the flags to cmd.
func (f *whenFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.at, "at", "", "deliver at this RFC 3339 time")
	fl.DurationVar(&f.in, "in", 0, "deliver this long from now")
	fl.DurationVar(&f.every, "every", 0, "deliver every this long (at least 1s), until cancelled")
	fl.StringVar(&f.cron, "cron", "", `deliver on this cron schedule, with seconds ("0 30 9 * * 1-5"), until cancelled`)
	fl.StringVar(&f.tz, "tz", "", "with --cron: the IANA time zone of the schedule (default UTC)")
	fl.DurationVar(&f.ttl, "ttl", 0, "drop the event from the event stream after this long (at least 1s)")
	cmd.MarkFlagsMutuallyExclusive("at", "in", "every", "cron")
}

// options checks the flags set on cmd and returns their emit options, the
// times relative to now, and when the event is scheduled in words ("" if
// it is sent now).
func (f *whenFlags) options(cmd *cobra.Command, now time.Time) (opts []mesh.EmitOption, when string, err error) {
	fl := cmd.Flags()
	switch {
	case fl.Changed("at"):
		t, err := time.Parse(time.RFC3339, f.at)
		if err != nil {
			return nil, "", fmt.Errorf("--at %q: want an RFC 3339 time such as 2025-06-01T12:00:00Z", f.at)
		}
		opts, when = append(opts, mesh.At(t)), "for "+t.UTC().Format(time.RFC3339)
	case fl.Changed("in"):
		if f.in <= 0 {
			return nil, "", fmt.Errorf("--in %s: want a positive duration", f.in)
		}
		t := now.Add(f.in)
		opts, when = append(opts, mesh.At(t)), "for "+t.UTC().Format(time.RFC3339)
	case fl.Changed("every"):
		if f.every <= 0 {
			return nil, "", fmt.Errorf("--every %s: want a positive duration", f.every)
		}
		opts, when = append(opts, mesh.Every(f.every)), "every "+f.every.String()
	case fl.Changed("cron"):
		if strings.TrimSpace(f.cron) == "" {
			return nil, "", errors.New(`--cron: want a cron expression such as "0 30 9 * * 1-5"`)
		}
		opts, when = append(opts, mesh.Cron(f.cron, f.tz)), fmt.Sprintf("on cron %q in %s", f.cron, cmp.Or(f.tz, "UTC"))
	}
	if fl.Changed("tz") && !fl.Changed("cron") {
		return nil, "", errors.New("--tz goes with --cron")
	}
	if fl.Changed("ttl") {
		if f.ttl <= 0 {
			return nil, "", fmt.Errorf("--ttl %s: want a positive duration", f.ttl)
		}
		opts = append(opts, mesh.TTL(f.ttl))
	}
	return opts, when, nil
}

// describe is emit's output line for the event emitted with receipt r in
// namespace ns, scheduled when (see options).
func (f *whenFlags) describe(r mesh.Receipt, ns, when string) string {
	var kept string
	if f.ttl > 0 {
		kept = ", kept " + f.ttl.String()
	}
	switch {
	case when != "":
		return fmt.Sprintf("id %s scheduled %s, schedule %s%s", r.ID, when, subjects.ScheduleKey(ns, r.Subject), kept)
	case r.Sequence == 0:
		return fmt.Sprintf("id %s (not stored: namespace %q has no event stream)", r.ID, ns)
	}
	return fmt.Sprintf("id %s sequence %d%s", r.ID, r.Sequence, kept)
}

// withSchedulingHint adds meshctl's advice to an emit the server or the
// namespace's streams cannot take.
func withSchedulingHint(err error) error {
	if errors.Is(err, mesh.ErrUnsupported) {
		return fmt.Errorf("%w (meshctl serve and meshctl setup create the namespace's streams)", err)
	}
	return err
}

// workerWithData reads the JSON data given as args[i] (see readData), then
// connects a worker for service.
func (a *app) workerWithData(ctx context.Context, service string, args []string, i int) (*mesh.Worker, []byte, error) {
	data, err := a.readData(args, i)
	if err != nil {
		return nil, nil, err
	}
	w, err := a.worker(ctx, service)
	return w, data, err
}

// payload is JSON data as Emit and Request take it: embedded as is, or
// nil for no data.
func payload(data []byte) any {
	if data == nil {
		return nil
	}
	return json.RawMessage(data)
}

// readData returns the JSON data given as args[i], or read from stdin when
// args[i] is absent (unless stdin is a terminal) or "-"; nil for no data.
func (a *app) readData(args []string, i int) ([]byte, error) {
	var data []byte
	switch {
	case len(args) > i && args[i] != "-":
		data = []byte(args[i])
	case len(args) > i || !isTerminal(a.stdin):
		b, err := io.ReadAll(a.stdin)
		if err != nil {
			return nil, fmt.Errorf("read data from standard input: %w", err)
		}
		data = b
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("data is not valid JSON: %w", err)
	}
	return data, nil
}

// isTerminal reports whether f is a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}
