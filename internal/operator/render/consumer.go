package render

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/exprsn/ipcmesh/internal/operator/consumers"
)

// Consumers writes a table of the event stream's consumers, one a line.
func Consumers(out io.Writer, list []consumers.Consumer) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tHANDLER\tPATTERN\tPENDING\tACK PENDING\tREDELIVERED\tLAG\tPAUSED")
	for _, c := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", c.Service, c.Handler, orDash(c.Pattern),
			c.Pending, c.AckPending, c.Redelivered, c.Lag, pausedUntil(c))
	}
	return tw.Flush()
}

// Consumer writes one consumer in full.
func Consumer(out io.Writer, d *consumers.Details) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "handler\t%s\n", d.Handler)
	fmt.Fprintf(tw, "service\t%s\n", d.Service)
	fmt.Fprintf(tw, "pattern\t%s\n", orDash(d.Pattern))
	fmt.Fprintf(tw, "description\t%s\n", orDash(d.Description))
	fmt.Fprintf(tw, "stream\t%s\n", d.Stream)
	fmt.Fprintf(tw, "filters\t%s\n", orDash(strings.Join(filters(d), ", ")))
	fmt.Fprintf(tw, "created\t%s\n", d.Created.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "paused\t%s\n", pausedUntil(d.Consumer))
	fmt.Fprintf(tw, "pending\t%d (not yet delivered)\n", d.Pending)
	fmt.Fprintf(tw, "ack pending\t%d (delivered, not yet acknowledged)\n", d.AckPending)
	fmt.Fprintf(tw, "redelivered\t%d (of the ack pending, delivered more than once)\n", d.Redelivered)
	fmt.Fprintf(tw, "lag\t%d (pending + ack pending)\n", d.Lag)
	fmt.Fprintf(tw, "last delivered\tstream sequence %d, %s\n", d.DeliveredSeq, timeOrNever(d.LastDelivered))
	fmt.Fprintf(tw, "acknowledged\tall up to stream sequence %d, last %s\n", d.AckFloorSeq, timeOrNever(d.LastAcked))
	fmt.Fprintf(tw, "stream last\tsequence %d\n", d.StreamLastSeq)
	fmt.Fprintf(tw, "waiting pulls\t%d\n", d.WaitingPulls)
	fmt.Fprintf(tw, "ack wait\t%s\n", d.Config.AckWait)
	fmt.Fprintf(tw, "max ack pending\t%d\n", d.Config.MaxAckPending)
	expiry := "never"
	if d.Config.InactiveThreshold > 0 {
		expiry = "after " + d.Config.InactiveThreshold.String() + " without an instance"
	}
	fmt.Fprintf(tw, "expires\t%s\n", expiry)
	return tw.Flush()
}

// pausedUntil is the PAUSED column: "-", or until when.
func pausedUntil(c consumers.Consumer) string {
	switch {
	case !c.Paused:
		return "-"
	case c.PausedUntil == nil:
		return "yes"
	}
	return "until " + c.PausedUntil.UTC().Format(time.RFC3339)
}

// filters are the subjects the consumer takes.
func filters(d *consumers.Details) []string {
	if d.Config.FilterSubject != "" {
		return []string{d.Config.FilterSubject}
	}
	return d.Config.FilterSubjects
}

// timeOrNever formats t, "never" if nil.
func timeOrNever(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// orDash is s, or "-" if empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
