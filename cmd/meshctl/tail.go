package main

import (
	"fmt"

	"github.com/exprsn/ipcmesh/cmd/meshctl/internal/conn"
	"github.com/exprsn/ipcmesh/internal/operator/render"
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
			nc, err := a.conn.Connect("meshctl-tail")
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
			if err := nc.FlushTimeout(conn.Timeout); err != nil {
				return fmt.Errorf("subscribe to %s: %w", filter, err)
			}
			fmt.Fprintf(a.stderr, "meshctl tail: listening on %s\n", filter)
			print := render.Line
			if asJSON {
				print = render.JSONLine
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
