package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/exprsn/ipcmesh/cmd/meshctl/internal/conn"
	"github.com/exprsn/ipcmesh/cmd/meshctl/internal/progress"
	"github.com/exprsn/ipcmesh/replay"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

// replayFlags are meshctl replay's flags as given.
type replayFlags struct {
	since          time.Duration
	fromTime       string
	fromSeq        uint64
	until          string
	event          string
	target, source string
	to, out        string
	dryRun         bool
	rate           string
}

// replayCommand is meshctl replay.
func (a *app) replayCommand() *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay (--to SERVICE | --out FILE.jsonl) [range] [filters]",
		Short: "Re-deliver stored events to one service, or export them as JSON lines",
		Long: `replay reads a range of the namespace's event stream and either re-delivers
the matching events to one service (--to), and only to it, never as a new
broadcast, or writes them to a file as JSON lines (--out; "-" for standard
output), one structured CloudEvent per line.

Re-delivered events keep their CloudEvents id and time and are marked as
replayed, so idempotent handlers can skip what they already did. Events that
were themselves replayed or re-driven are left out.

Range (by default the whole stream, up to the last event stored now):
  --since DURATION     start that long ago (e.g. 90m, 24h)
  --from-time TIME     start at an RFC 3339 time (2025-06-01T12:00:00Z)
  --from-seq N         start at stream sequence N
  --until VALUE        end, inclusive: a stream sequence if VALUE is a whole
                       number (5000), a duration ago if it parses as one
                       (30m), else an RFC 3339 time

Filters: --event PATTERN (post:created, user:*, content:>), --target SERVICE
(the service the events were sent to; "all" for broadcasts), --source SERVICE
(the emitting service).

--dry-run prints what would be done and counts the matching events, sending
and writing nothing. --rate bounds re-deliveries per second. Progress goes to
stderr (a bar on a terminal), and a summary at the end: matched, delivered,
failed.`,
		Example: `  meshctl replay --since 1h --event 'post:*' --to exprsn-herald
  meshctl replay --from-seq 1200 --until 1300 --to exprsn-moderator --rate 50/s
  meshctl replay --from-time 2025-06-01T00:00:00Z --until 2025-06-02T00:00:00Z --source exprsn-auth --out auth.jsonl
  meshctl replay --since 24h --target exprsn-herald --to exprsn-herald --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runReplay(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&f.since, "since", 0, "start the range this long ago")
	fl.StringVar(&f.fromTime, "from-time", "", "start the range at this RFC 3339 time")
	fl.Uint64Var(&f.fromSeq, "from-seq", 0, "start the range at this stream sequence")
	fl.StringVar(&f.until, "until", "", "end the range (inclusive): a sequence, a duration ago, or an RFC 3339 time")
	fl.StringVar(&f.event, "event", "", "keep the events matching this name or pattern")
	fl.StringVar(&f.target, "target", "", `keep the events sent to this service ("all": broadcasts)`)
	fl.StringVar(&f.source, "source", "", "keep the events emitted by this service")
	fl.StringVar(&f.to, "to", "", "re-deliver to this service")
	fl.StringVar(&f.out, "out", "", `write JSON lines to this file ("-": standard output)`)
	fl.BoolVar(&f.dryRun, "dry-run", false, "count the matching events; send and write nothing")
	fl.StringVar(&f.rate, "rate", "", "at most this many re-deliveries per second, e.g. 100/s")
	cmd.MarkFlagsMutuallyExclusive("since", "from-time", "from-seq")
	cmd.MarkFlagsMutuallyExclusive("to", "out")
	cmd.MarkFlagsOneRequired("to", "out")
	return cmd
}

// query turns the flags into a replay query, relative times counted from
// now.
func (f replayFlags) query(ns string, now time.Time) (replay.Query, error) {
	q := replay.Query{Namespace: ns, FromSeq: f.fromSeq, Event: f.event, Target: f.target, Source: f.source}
	switch {
	case f.since < 0:
		return q, fmt.Errorf("--since %s: want a positive duration", f.since)
	case f.since > 0:
		q.FromTime = now.Add(-f.since)
	case f.fromTime != "":
		t, err := time.Parse(time.RFC3339, f.fromTime)
		if err != nil {
			return q, fmt.Errorf("--from-time %q: want an RFC 3339 time such as 2025-06-01T12:00:00Z", f.fromTime)
		}
		q.FromTime = t
	}
	if f.until != "" {
		var err error
		if q.UntilSeq, q.UntilTime, err = parseUntil(f.until, now); err != nil {
			return q, err
		}
	}
	return q, nil
}

// parseUntil reads --until: a whole number is a stream sequence, a duration
// is that long before now, anything else must be an RFC 3339 time.
func parseUntil(s string, now time.Time) (uint64, time.Time, error) {
	if seq, err := strconv.ParseUint(s, 10, 64); err == nil {
		return seq, time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return 0, time.Time{}, fmt.Errorf("--until %s: want a positive duration", s)
		}
		return 0, now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("--until %q: want a stream sequence (5000), a duration ago (30m) or an RFC 3339 time", s)
	}
	return 0, t, nil
}

// parseRate reads --rate: "N" or "N/s" events per second; "" is no limit.
func parseRate(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	r, err := strconv.ParseFloat(strings.TrimSuffix(s, "/s"), 64)
	if err != nil || r <= 0 {
		return 0, fmt.Errorf("--rate %q: want a positive number of events per second, e.g. 100/s", s)
	}
	return r, nil
}

// runReplay runs meshctl replay with flags f and prints the summary.
func (a *app) runReplay(ctx context.Context, f replayFlags) error {
	ns, err := a.namespace()
	if err != nil {
		return err
	}
	q, err := f.query(ns, a.now())
	if err != nil {
		return err
	}
	rate, err := parseRate(f.rate)
	if err != nil {
		return err
	}
	if f.to != "" {
		if err := subjects.ValidateService(f.to); err != nil {
			return fmt.Errorf("--to: %w", err)
		}
	}
	nc, js, err := a.conn.ConnectJetStream("meshctl-replay")
	if err != nil {
		return err
	}
	defer nc.Close()
	// The summary goes where the events do not.
	summary := a.stdout
	if f.out == "-" {
		summary = a.stderr
	}
	if f.dryRun {
		fmt.Fprintf(summary, "dry run: would %s %s\n", f.action(), describeQuery(q))
	}
	pp := progress.New(a.stderr, "replay", isTerminal(a.stderr))
	p, err := a.doReplay(ctx, js, q, f, rate, pp.Update)
	pp.Finish()
	err = conn.WithStreamsHint(err)
	if err != nil && p == (replay.Progress{}) {
		return err // nothing started
	}
	verb := "delivered"
	switch {
	case f.dryRun:
		fmt.Fprintf(summary, "matched %d events; nothing sent or written (dry run)\n", p.Matched)
		return err
	case f.out != "":
		verb = "written"
	}
	fmt.Fprintf(summary, "matched %d, %s %d, failed %d", p.Matched, verb, p.Delivered, p.Failed)
	if p.Invalid > 0 {
		fmt.Fprintf(summary, " (%d stored messages skipped: not valid CloudEvents)", p.Invalid)
	}
	fmt.Fprintln(summary)
	return err
}

// doReplay re-delivers, exports, or only counts the events of q.
func (a *app) doReplay(ctx context.Context, js jetstream.JetStream, q replay.Query, f replayFlags, rate float64, onProgress func(replay.Progress)) (replay.Progress, error) {
	switch {
	case f.to != "":
		return replay.Replay(ctx, js, q, replay.Options{To: f.to, Rate: rate, DryRun: f.dryRun, OnProgress: onProgress})
	case f.dryRun:
		return replay.Export(ctx, js, q, io.Discard, onProgress)
	case f.out == "-":
		return replay.Export(ctx, js, q, a.stdout, onProgress)
	}
	file, err := os.Create(f.out)
	if err != nil {
		return replay.Progress{}, fmt.Errorf("--out: %w", err)
	}
	p, err := replay.Export(ctx, js, q, file, onProgress)
	if cerr := file.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("--out: %w", cerr))
	}
	return p, err
}

// action says what the replay does with the events.
func (f replayFlags) action() string {
	if f.to != "" {
		return "re-deliver to " + f.to
	}
	if f.out == "-" {
		return "write to standard output"
	}
	return "write to " + f.out
}

// describeQuery says in words which events q selects.
func describeQuery(q replay.Query) string {
	var b strings.Builder
	b.WriteString("the events of stream " + subjects.EventStream(q.Namespace))
	if q.Event != "" {
		b.WriteString(" matching " + q.Event)
	}
	if q.Target != "" {
		b.WriteString(" sent to " + q.Target)
	}
	if q.Source != "" {
		b.WriteString(" from source " + q.Source)
	}
	b.WriteString(", from " + bound(q.FromSeq, q.FromTime, "the first stored"))
	b.WriteString(" until " + bound(q.UntilSeq, q.UntilTime, "the last stored now"))
	return b.String()
}

// bound describes one end of a range: a sequence, a time, or else none.
func bound(seq uint64, t time.Time, none string) string {
	switch {
	case seq > 0:
		return "sequence " + strconv.FormatUint(seq, 10)
	case !t.IsZero():
		return t.UTC().Format(time.RFC3339Nano)
	}
	return none
}
