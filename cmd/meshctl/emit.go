package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

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
	cmd := &cobra.Command{
		Use:   "emit EVENT [JSON]",
		Short: "Emit one event",
		Long: `emit sends one event, as a broadcast or, with --to, to one service. Its
data is the JSON argument, or else standard input when it is not a terminal
("-" reads standard input too); no data sends an event without data.

It prints the event's id and, when the namespace has an event stream, its
sequence in the stream once stored.`,
		Example: `  meshctl emit post:created '{"id":"p1","author":"ada"}'
  meshctl emit notification:trigger --to exprsn-herald < notification.json
  meshctl emit cache:flush --as exprsn-admin`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			w, data, err := a.workerWithData(cmd.Context(), as, args, 1)
			if err != nil {
				return err
			}
			defer conn.CloseWorker(w, &err)
			id, seq, err := emitEvent(cmd.Context(), w, args[0], to, data)
			if err != nil {
				return err
			}
			if seq == 0 {
				fmt.Fprintf(a.stdout, "id %s (not stored: namespace %q has no event stream)\n", id, w.Namespace())
				return nil
			}
			fmt.Fprintf(a.stdout, "id %s sequence %d\n", id, seq)
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", subjects.Broadcast, `service to send the event to; "all" broadcasts`)
	cmd.Flags().StringVar(&as, "as", defaultSource, "service to emit as (the event's source)")
	return cmd
}

// emitEvent emits event with JSON data to target as w's service and
// returns the event's id and stream sequence (0 when there is no event
// stream).
func emitEvent(ctx context.Context, w *mesh.Worker, event, target string, data []byte) (string, uint64, error) {
	r, err := w.EmitWithReceipt(ctx, event, payload(data), mesh.To(target))
	if err != nil {
		return "", 0, err
	}
	return r.ID, r.Sequence, nil
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
