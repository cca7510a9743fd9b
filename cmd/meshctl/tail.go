package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"
)

// tailBuffer is how many messages tail holds while it prints.
const tailBuffer = 4096

// tailCommand is meshctl tail [PATTERN].
func (a *app) tailCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "tail [PATTERN]",
		Short: "Print live events as they pass",
		Long: `tail prints every event of the namespace that matches PATTERN (default: all),
whatever its target, as it passes: time, source -> target, type, id and data,
one line each; replayed and re-driven copies are marked. With --json it prints
one JSON object per line: {"subject", "target", "replayed", "event"} where
event is the structured CloudEvent, or {"subject", "error"} for a message that
is not a valid CloudEvent.

It listens to live traffic only (see meshctl replay for stored events) and
does not show requests, whose subjects it must not subscribe to: a listener
there would turn a requester's "no responders" into a timeout. Stop it with
Ctrl-C.`,
		Example: `  meshctl tail
  meshctl tail 'post:*'
  meshctl tail 'user:>' --json | jq .event.data`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pattern := ">"
			if len(args) == 1 {
				pattern = args[0]
			}
			ns, err := a.namespace()
			if err != nil {
				return err
			}
			filter, err := subjects.Filter(ns, "*", pattern)
			if err != nil {
				return err
			}
			nc, err := a.connect("meshctl-tail")
			if err != nil {
				return err
			}
			defer nc.Close()
			msgs := make(chan *nats.Msg, tailBuffer)
			sub, err := nc.ChanSubscribe(filter, msgs)
			if err != nil {
				return fmt.Errorf("subscribe to %s: %w", filter, err)
			}
			defer func() { _ = sub.Unsubscribe() }()
			if err := nc.FlushTimeout(connectTimeout); err != nil {
				return fmt.Errorf("subscribe to %s: %w", filter, err)
			}
			fmt.Fprintf(a.stderr, "meshctl tail: listening on %s\n", filter)
			print := printLine
			if asJSON {
				print = printJSON
			}
			for {
				select {
				case <-cmd.Context().Done():
					return nil
				case m := <-msgs:
					if err := print(a.stdout, m); err != nil {
						return err
					}
				}
			}
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON lines")
	return cmd
}

// tailed is a message as tail sees it.
type tailed struct {
	ev       codec.Event
	target   string
	replayed bool
	err      error
}

// decodeTailed decodes m and where it went.
func decodeTailed(m *nats.Msg) tailed {
	t := tailed{replayed: m.Header.Get(subjects.HeaderReplay) != "" || m.Header.Get(subjects.HeaderRedrive) != ""}
	if a, err := subjects.Parse(m.Subject); err == nil {
		t.target = a.Target
	}
	t.err = codec.DecodeMsg(m, &t.ev)
	return t
}

// printLine prints m as one readable line.
func printLine(out io.Writer, m *nats.Msg) error {
	t := decodeTailed(m)
	if t.err != nil {
		_, err := fmt.Fprintf(out, "%s  invalid message on %s: %v\n", time.Now().UTC().Format(time.RFC3339Nano), m.Subject, t.err)
		return err
	}
	mark := ""
	if t.replayed {
		mark = "  (replayed)"
	}
	ev := &t.ev
	_, err := fmt.Fprintf(out, "%s  %s -> %s  %s  id=%s  %s%s\n",
		ev.Time.UTC().Format(time.RFC3339Nano), ev.Source, t.target, ev.Type, ev.ID, showData(ev), mark)
	return err
}

// showData renders an event's data on one line: compact JSON, or its size
// and type.
func showData(ev *codec.Event) string {
	switch {
	case ev.Data == nil:
		return "-"
	case ev.DataContentType == "" || codec.IsJSONContentType(ev.DataContentType):
		var b bytes.Buffer
		if json.Compact(&b, ev.Data) == nil {
			return b.String()
		}
	}
	return fmt.Sprintf("<%d bytes of %s>", len(ev.Data), ev.DataContentType)
}

// printJSON prints m as one JSON line.
func printJSON(out io.Writer, m *nats.Msg) error {
	t := decodeTailed(m)
	var line any
	if t.err != nil {
		line = struct {
			Subject string `json:"subject"`
			Error   string `json:"error"`
		}{m.Subject, t.err.Error()}
	} else {
		event, err := codec.AppendStructured(nil, &t.ev)
		if err != nil {
			return err
		}
		line = struct {
			Subject  string          `json:"subject"`
			Target   string          `json:"target"`
			Replayed bool            `json:"replayed"`
			Event    json.RawMessage `json:"event"`
		}{m.Subject, t.target, t.replayed, event}
	}
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	_, err = out.Write(append(b, '\n'))
	return err
}
