package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/exprsn/ipcmesh/cmd/meshctl/internal/conn"
	"github.com/exprsn/ipcmesh/internal/operator/consumers"
	"github.com/exprsn/ipcmesh/internal/operator/render"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

// consumersSession is an open connection to a namespace's event stream.
type consumersSession struct {
	js jetstream.JetStream
	ns string
}

// withConsumers connects and runs fn on the namespace's event stream.
func (a *app) withConsumers(fn func(s *consumersSession) error) error {
	ns, err := a.namespace()
	if err != nil {
		return err
	}
	nc, js, err := a.conn.ConnectJetStream("meshctl-consumers")
	if err != nil {
		return err
	}
	defer nc.Close()
	return conn.WithStreamsHint(fn(&consumersSession{js: js, ns: ns}))
}

// lagHelp says what the figures of a consumer mean; list and info show it.
const lagHelp = `PENDING counts the handler's events not yet delivered to any instance;
ACK PENDING those delivered and not yet acknowledged (running, queued in an
instance, or waiting for a retry); REDELIVERED those of ACK PENDING delivered
more than once. LAG is PENDING + ACK PENDING: the handler's events not yet
done (handled, or dead-lettered). It counts only the events the handler takes,
not the stream's other events. A lag that keeps growing means the handler
falls behind, or no instance of it is running: alert on it.`

// consumersCommand is meshctl consumers, the parent of list, info, pause,
// resume and delete.
func (a *app) consumersCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "consumers",
		Short: "List, inspect, pause, resume and delete durable handlers' consumers",
		Long: `consumers manages the consumers of the namespace's event stream MESH_<namespace>:
one per durable handler of each service, shared by the service's instances,
which keeps where the handler stands in the stream while no instance runs. A
consumer is named by its handler (by default <service>_<pattern>_<hash>, or
the handler's DurableName); the HANDLER column of consumers list shows it.
Consumers made by something other than an ipcmesh durable handler are shown
with service "?".

` + lagHelp,
		Example: `  meshctl consumers list
  meshctl consumers list --service exprsn-herald --json
  meshctl consumers info exprsn-herald_mail_send_9a2a7ea2
  meshctl consumers pause exprsn-herald_mail_send_9a2a7ea2 --for 30m
  meshctl consumers resume exprsn-herald_mail_send_9a2a7ea2
  meshctl consumers delete exprsn-herald_mail_send_9a2a7ea2`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(a.consumersListCommand(), a.consumersInfoCommand(), a.consumersPauseCommand(),
		a.consumersResumeCommand(), a.consumersDeleteCommand())
	return cmd
}

// consumersListCommand is meshctl consumers list.
func (a *app) consumersListCommand() *cobra.Command {
	var service string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the consumers with their pending, ack pending, redelivered and lag",
		Long: `list shows every consumer of the event stream, by service then handler, with
the handler's pattern, its figures and whether it is paused (until when).

` + lagHelp,
		Example: "  meshctl consumers list\n  meshctl consumers list --service exprsn-herald\n  meshctl consumers list --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withConsumers(func(s *consumersSession) error {
				list, err := consumers.List(cmd.Context(), s.js, s.ns, service)
				if err != nil {
					return err
				}
				switch {
				case asJSON:
					return a.writeJSON(list)
				case len(list) == 0 && service != "":
					_, err := fmt.Fprintf(a.stdout, "no consumers of service %s\n", service)
					return err
				case len(list) == 0:
					_, err := fmt.Fprintln(a.stdout, "no consumers")
					return err
				}
				return render.Consumers(a.stdout, list)
			})
		},
	}
	cmd.Flags().StringVar(&service, "service", "", "only the consumers of this service's handlers")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the consumers as a JSON array")
	return cmd
}

// consumersInfoCommand is meshctl consumers info HANDLER.
func (a *app) consumersInfoCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "info HANDLER",
		Short: "Show one consumer in full: figures, position in the stream, settings",
		Long: `info shows the consumer HANDLER (as consumers list names it): its service and
pattern, its figures, where it stands in the stream (the last event delivered,
the sequence up to which all are acknowledged, the stream's last), whether it
is paused, and its settings (filters, ack wait, max ack pending, expiry).

` + lagHelp,
		Example: "  meshctl consumers info exprsn-herald_mail_send_9a2a7ea2\n  meshctl consumers info exprsn-herald_mail_send_9a2a7ea2 --json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withConsumers(func(s *consumersSession) error {
				d, err := consumers.Get(cmd.Context(), s.js, s.ns, args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return a.writeJSON(d)
				}
				return render.Consumer(a.stdout, d)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the consumer as JSON")
	return cmd
}

// consumersPauseCommand is meshctl consumers pause HANDLER.
func (a *app) consumersPauseCommand() *cobra.Command {
	var pauseFor time.Duration
	var until string
	cmd := &cobra.Command{
		Use:   "pause HANDLER (--for DURATION | --until TIME)",
		Short: "Hold a handler's events on the server for a while",
		Long: `pause makes the server stop delivering the events of the consumer HANDLER for
--for, or until --until (an RFC 3339 time), using the server's consumer pause
(nats-server 2.11 or later). Its instances stay connected and get nothing; new
events wait in the stream and count as PENDING, so the lag grows meanwhile.
Events already delivered finish. The pause ends at that time by itself, or
earlier with meshctl consumers resume; it holds while instances restart.`,
		Example: "  meshctl consumers pause exprsn-herald_mail_send_9a2a7ea2 --for 30m\n  meshctl consumers pause exprsn-herald_mail_send_9a2a7ea2 --until 2025-06-01T08:00:00Z",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var end time.Time
			switch {
			case cmd.Flags().Changed("for") && pauseFor <= 0:
				return fmt.Errorf("--for %s: want a positive duration", pauseFor)
			case pauseFor > 0:
				end = a.now().Add(pauseFor)
			default:
				t, err := time.Parse(time.RFC3339, until)
				if err != nil {
					return fmt.Errorf("--until %q: want an RFC 3339 time such as 2025-06-01T08:00:00Z", until)
				}
				end = t
			}
			return a.withConsumers(func(s *consumersSession) error {
				got, err := consumers.Pause(cmd.Context(), s.js, s.ns, args[0], end)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "paused %s until %s\n", args[0], got.Format(time.RFC3339))
				return err
			})
		},
	}
	cmd.Flags().DurationVar(&pauseFor, "for", 0, "pause for this long, e.g. 30m")
	cmd.Flags().StringVar(&until, "until", "", "pause until this RFC 3339 time")
	cmd.MarkFlagsMutuallyExclusive("for", "until")
	cmd.MarkFlagsOneRequired("for", "until")
	return cmd
}

// consumersResumeCommand is meshctl consumers resume HANDLER.
func (a *app) consumersResumeCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "resume HANDLER",
		Short:   "Deliver a paused handler's events again",
		Long:    "resume ends the pause of the consumer HANDLER: the server delivers its events again,\nthose that waited first. Resuming a consumer that is not paused does nothing.",
		Example: "  meshctl consumers resume exprsn-herald_mail_send_9a2a7ea2",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withConsumers(func(s *consumersSession) error {
				if err := consumers.Resume(cmd.Context(), s.js, s.ns, args[0]); err != nil {
					return err
				}
				_, err := fmt.Fprintf(a.stdout, "resumed %s\n", args[0])
				return err
			})
		},
	}
}

// consumersDeleteCommand is meshctl consumers delete HANDLER.
func (a *app) consumersDeleteCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete HANDLER",
		Short: "Delete a consumer, after asking",
		Long: `delete removes the consumer HANDLER from the event stream, and with it where the
handler stands: its events not yet acknowledged (the lag) will not be
delivered to it. Delete the consumers of handlers that are gone: a handler
registered again gets a new consumer, which starts at the handler's start
position (new events only, by default).

delete says what it will delete and asks for "y" on standard input; any
other answer, or none (standard input at its end, as in a script), deletes
nothing and fails. --yes deletes without asking.`,
		Example: "  meshctl consumers delete exprsn-herald_mail_send_9a2a7ea2\n  meshctl consumers delete exprsn-herald_mail_send_9a2a7ea2 --yes",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			handler := args[0]
			return a.withConsumers(func(s *consumersSession) error {
				ctx := cmd.Context()
				d, err := consumers.Get(ctx, s.js, s.ns, handler)
				if err != nil {
					return err
				}
				if !yes {
					if err := a.confirm(deleteQuestion(d)); err != nil {
						return fmt.Errorf("consumer %s not deleted: %w", handler, err)
					}
				}
				if err := consumers.Delete(ctx, s.js, s.ns, handler); err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "deleted consumer %s\n", handler)
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "delete without asking")
	return cmd
}

// deleteQuestion asks whether to delete the consumer d.
func deleteQuestion(d *consumers.Details) string {
	var b strings.Builder
	fmt.Fprintf(&b, "delete consumer %s", d.Handler)
	if d.Pattern != "" {
		fmt.Fprintf(&b, " (%s handler for %s)", d.Service, d.Pattern)
	}
	fmt.Fprintf(&b, ", with %d event%s not yet acknowledged", d.Lag, plural(d.Lag))
	if d.WaitingPulls > 0 {
		b.WriteString(", while an instance is pulling from it")
	}
	b.WriteString("?")
	return b.String()
}

// plural is "s" unless n is 1.
func plural(n uint64) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// errNotConfirmed is the answer to a question that was not "y".
var errNotConfirmed = errors.New("not confirmed (answer y, or give --yes)")

// confirm asks question on stderr and reads the answer, one line, from
// stdin: nil for "y" or "yes", an error otherwise, and when stdin ends
// without an answer.
func (a *app) confirm(question string) error {
	fmt.Fprintf(a.stderr, "%s [y/N] ", question)
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	if !isTerminal(a.stdin) {
		fmt.Fprintln(a.stderr) // the answer was not echoed
	}
	switch {
	case err != nil && !errors.Is(err, io.EOF):
		return fmt.Errorf("read the answer from standard input: %w", err)
	case err != nil && strings.TrimSpace(line) == "":
		return errors.New("no answer on standard input (give --yes to delete without asking)")
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errNotConfirmed
}

// writeJSON prints v as indented JSON.
func (a *app) writeJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
