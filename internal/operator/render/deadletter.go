package render

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/exprsn/ipcmesh/deadletter"
)

// DeadLetters writes a table of dead letters.
func DeadLetters(out io.Writer, list []deadletter.DeadLetter) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tSERVICE\tHANDLER\tEVENT\tEVENT ID\tTRIES\tREASON")
	for _, dl := range list {
		event, id := "(invalid)", "-"
		if dl.Event != nil {
			event, id = dl.Event.Type, dl.Event.ID
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", dl.Sequence, dl.Time.UTC().Format(time.RFC3339),
			dl.Service, dl.Handler, event, id, dl.Deliveries, OneLine(dl.Reason))
	}
	return tw.Flush()
}

// DeadLetter writes one dead letter in full.
func DeadLetter(out io.Writer, dl *deadletter.DeadLetter) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id\t%d\n", dl.Sequence)
	fmt.Fprintf(tw, "dead-lettered\t%s\n", dl.Time.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(tw, "service\t%s\n", dl.Service)
	fmt.Fprintf(tw, "handler\t%s\n", dl.Handler)
	fmt.Fprintf(tw, "tries\t%d\n", dl.Deliveries)
	fmt.Fprintf(tw, "reason\t%s\n", OneLine(dl.Reason))
	fmt.Fprintf(tw, "subject\t%s\n", dl.Subject)
	fmt.Fprintf(tw, "stream sequence\t%d\n", dl.StreamSequence)
	if dl.Omitted != "" {
		fmt.Fprintf(tw, "omitted\t%s (the original is read from the event stream at its sequence)\n", dl.Omitted)
	}
	switch ev := dl.Event; {
	case ev != nil:
		fmt.Fprintf(tw, "event\t%s\n", ev.Type)
		fmt.Fprintf(tw, "event id\t%s\n", ev.ID)
		fmt.Fprintf(tw, "source\t%s\n", ev.Source)
		fmt.Fprintf(tw, "time\t%s\n", ev.Time.UTC().Format(time.RFC3339Nano))
		fmt.Fprintf(tw, "data\t%s\n", Data(ev))
	case dl.Omitted != "":
		fmt.Fprintf(tw, "event\tno longer in the event stream\n")
	default:
		fmt.Fprintf(tw, "event\tnot a valid CloudEvent\n")
		fmt.Fprintf(tw, "body\t%q\n", dl.Data)
	}
	keys := make([]string, 0, len(dl.Header))
	for k := range dl.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(tw, "header %s\t%s\n", k, strings.Join(dl.Header[k], ", "))
	}
	return tw.Flush()
}
