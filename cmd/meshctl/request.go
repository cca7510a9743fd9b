package main

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/exprsn/ipcmesh/cmd/meshctl/internal/conn"
	"github.com/exprsn/ipcmesh/internal/operator/render"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/spf13/cobra"
)

// requestCommand is meshctl request SERVICE EVENT [JSON].
func (a *app) requestCommand() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "request SERVICE EVENT [JSON]",
		Short: "Send a request to a service and print its reply",
		Long: `request sends EVENT to one instance of SERVICE and waits for its reply. Its
data is the JSON argument, or standard input as for emit.

It prints the reply's data on standard output. A responder's error, no
responder, or no reply within --timeout is one line on stderr and exit
status 1.`,
		Example: `  meshctl request exprsn-auth session:validate '{"token":"abc"}'
  meshctl request exprsn-moderator content:check --timeout 30s < post.json`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			if timeout <= 0 {
				return fmt.Errorf("--timeout %s: want a positive duration", timeout)
			}
			w, data, err := a.workerWithData(cmd.Context(), defaultSource, args, 2)
			if err != nil {
				return err
			}
			defer conn.CloseWorker(w, &err)
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			reply, err := w.Request(ctx, args[0], args[1], payload(data))
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, replyText(reply))
			return err
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", mesh.DefaultRequestTimeout, "how long to wait for the reply")
	return cmd
}

// replyText is a reply's data as printed: as sent when it is text (JSON
// included), described otherwise.
func replyText(ev *mesh.Event) string {
	switch {
	case ev.Data == nil:
		return "null"
	case utf8.Valid(ev.Data):
		return string(ev.Data)
	}
	return render.Data(&ev.Event)
}
