package stats

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/exprsn/ipcmesh/internal/operator/render"
)

// WriteTable writes r as a readable table.
func WriteTable(out io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "namespace\t%s\n", r.Namespace)
	fmt.Fprintf(tw, "time\t%s\n", r.Time.Format(time.RFC3339))
	if s := r.Server; s != nil {
		fmt.Fprintf(tw, "server\t%d connections; in %d msgs, %s; out %d msgs, %s (%s, %d server(s))\n",
			s.Connections, s.InMsgs, humanBytes(s.InBytes), s.OutMsgs, humanBytes(s.OutBytes), s.Source, s.Servers)
	} else {
		fmt.Fprintf(tw, "server\tunknown (no server answered)\n")
	}
	if s := r.Stream; s != nil {
		fmt.Fprintf(tw, "event stream\t%s: %d events, %s; sequences %d..%d; %s .. %s; consumers %d\n",
			s.Name, s.Events, humanBytes(int64(s.Bytes)), s.FirstSeq, s.LastSeq, shortTime(s.FirstTime), shortTime(s.LastTime), s.Consumers)
	} else {
		fmt.Fprintf(tw, "event stream\tnone (start meshctl serve, or create the streams)\n")
	}
	if d := r.DeadLetters; d != nil {
		fmt.Fprintf(tw, "dead letters\t%s: %d, %s\n", d.Name, d.Count, humanBytes(int64(d.Bytes)))
	} else {
		fmt.Fprintf(tw, "dead letters\tnone (no dead-letter stream)\n")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out)
	if err := writeServices(out, r); err != nil {
		return err
	}
	if r.Stream == nil {
		return nil
	}
	fmt.Fprintln(out)
	if len(r.Consumers) == 0 {
		_, err := fmt.Fprintln(out, "no consumers (no durable handler)")
		return err
	}
	return render.Consumers(out, r.Consumers)
}

// writeServices writes the table of the services' counts.
func writeServices(out io.Writer, r *Report) error {
	if len(r.Services) == 0 {
		_, err := fmt.Fprintln(out, "no service answered")
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tINSTANCES\tEMITTED\tRECEIVED\tHANDLED\tFAILED\tINVALID\tDROPPED\tREQUESTS\tIN FLIGHT")
	names := make([]string, 0, len(r.Services))
	for name := range r.Services {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		s := r.Services[name]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", name, len(s.Instances),
			s.Emitted, s.Received, s.Handled, s.Failed, s.Invalid, s.Dropped, s.Requests, s.InFlight)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeHandlerTimes(out, r, names)
}

// writeHandlerTimes writes the table of the handler calls' durations, by
// service (in the order of names) and event name, for the events handled.
func writeHandlerTimes(out io.Writer, r *Report, names []string) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	rows := 0
	for _, name := range names {
		events := r.Services[name].Events
		for _, event := range slices.Sorted(maps.Keys(events)) {
			e := events[event]
			calls := e.Handled + e.Failed
			if calls == 0 {
				continue
			}
			if rows == 0 {
				fmt.Fprintln(tw, "\nSERVICE\tEVENT\tCALLS\tHANDLER MEAN\tMAX")
			}
			rows++
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", name, event, calls, shortDuration(e.HandlerTime/time.Duration(calls)), shortDuration(e.MaxHandlerTime))
		}
	}
	return tw.Flush()
}

// shortTime formats t for the table, "-" if unset.
func shortTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// shortDuration formats d to three significant digits or so, "-" if 0.
func shortDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return d.Round(time.Microsecond / 10).String()
	case d < time.Second:
		return d.Round(time.Microsecond * 10).String()
	}
	return d.Round(time.Millisecond).String()
}

// humanBytes formats n bytes with a binary unit.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
