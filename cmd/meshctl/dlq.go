package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/exprsn/ipcmesh/cmd/meshctl/internal/conn"
	"github.com/exprsn/ipcmesh/deadletter"
	"github.com/exprsn/ipcmesh/internal/operator/render"
	"github.com/exprsn/ipcmesh/internal/operator/stats"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

// dlqSession is an open connection to a namespace's dead letters.
type dlqSession struct {
	js jetstream.JetStream
	ns string
	q  *deadletter.Queue
}

// withDeadLetters connects and runs fn on the namespace's dead letters.
func (a *app) withDeadLetters(fn func(s *dlqSession) error) error {
	ns, err := a.namespace()
	if err != nil {
		return err
	}
	nc, js, err := a.conn.ConnectJetStream("meshctl-dlq")
	if err != nil {
		return err
	}
	defer nc.Close()
	return conn.WithStreamsHint(fn(&dlqSession{js: js, ns: ns, q: deadletter.New(js, ns)}))
}

// dlqCommand is meshctl dlq, the parent of list, show, redrive and purge.
func (a *app) dlqCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "List, show, re-drive and purge dead letters",
		Long: `dlq manages the namespace's dead letters: the events durable handlers could not
handle (after their last try, or on a permanent error), kept in the stream
MESH_<namespace>_DLQ with the reason. A dead letter's ID is its sequence in
that stream, as dlq list shows it.

Re-driving sends a dead letter again to the service that failed it, and only
to it, with its original id, marked as re-driven; then removes it.`,
		Example: `  meshctl dlq list --service exprsn-herald
  meshctl dlq show 42
  meshctl dlq redrive 42 43
  meshctl dlq redrive --all --service exprsn-herald
  meshctl dlq purge --service exprsn-herald`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(a.dlqListCommand(), a.dlqShowCommand(), a.dlqRedriveCommand(), a.dlqPurgeCommand())
	return cmd
}

// dlqListCommand is meshctl dlq list.
func (a *app) dlqListCommand() *cobra.Command {
	var service string
	var limit int
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List dead letters, oldest first",
		Example: "  meshctl dlq list\n  meshctl dlq list --service exprsn-herald --limit 20",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withDeadLetters(func(s *dlqSession) error {
				list, err := s.q.List(cmd.Context(), service, 1, limit)
				if err != nil {
					return err
				}
				if len(list) == 0 {
					_, err := fmt.Fprintln(a.stdout, "no dead letters")
					return err
				}
				return render.DeadLetters(a.stdout, list)
			})
		},
	}
	cmd.Flags().StringVar(&service, "service", "", "only the dead letters of this service")
	cmd.Flags().IntVar(&limit, "limit", 0, "list at most this many (0: all)")
	return cmd
}

// dlqShowCommand is meshctl dlq show ID.
func (a *app) dlqShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "show ID",
		Short:   "Show one dead letter: why, where from, and the event",
		Example: "  meshctl dlq show 42",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			seq, err := parseDeadLetterID(args[0])
			if err != nil {
				return err
			}
			return a.withDeadLetters(func(s *dlqSession) error {
				dl, err := s.q.Get(cmd.Context(), seq)
				if err != nil {
					return err
				}
				return render.DeadLetter(a.stdout, dl)
			})
		},
	}
}

// dlqRedriveCommand is meshctl dlq redrive [ID...|--all].
func (a *app) dlqRedriveCommand() *cobra.Command {
	var all bool
	var service string
	cmd := &cobra.Command{
		Use:   "redrive [ID...]",
		Short: "Send dead letters again to the services that failed them",
		Long: `redrive sends each dead letter named by ID, or with --all every dead letter
(of --service only, if given), again to the service that failed it, and only
to it, with its original id and the Mesh-Redrive header; then removes it.`,
		Example: "  meshctl dlq redrive 42 43\n  meshctl dlq redrive --all --service exprsn-herald",
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case all && len(args) > 0:
				return errors.New("give dead letter IDs or --all, not both")
			case !all && len(args) == 0:
				return errors.New("give the IDs of the dead letters to re-drive, or --all (see meshctl dlq list)")
			case !all && service != "":
				return errors.New("--service goes with --all")
			}
			seqs := make([]uint64, 0, len(args))
			for _, arg := range args {
				seq, err := parseDeadLetterID(arg)
				if err != nil {
					return err
				}
				seqs = append(seqs, seq)
			}
			return a.withDeadLetters(func(s *dlqSession) error {
				if all {
					list, err := s.q.List(cmd.Context(), service, 1, 0)
					if err != nil {
						return err
					}
					for _, dl := range list {
						seqs = append(seqs, dl.Sequence)
					}
				}
				return a.redrive(cmd.Context(), s, seqs)
			})
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "re-drive every dead letter (of --service)")
	cmd.Flags().StringVar(&service, "service", "", "with --all: only the dead letters of this service")
	return cmd
}

// redrive re-drives each dead letter in seqs, going on after a failure, and
// says what it did.
func (a *app) redrive(ctx context.Context, s *dlqSession, seqs []uint64) error {
	var errs []error
	done := 0
	for _, seq := range seqs {
		if err := s.q.Redrive(ctx, seq); err != nil {
			errs = append(errs, err)
			continue
		}
		done++
	}
	fmt.Fprintf(a.stdout, "re-drove %d of %d dead letters\n", done, len(seqs))
	if len(errs) > 0 {
		return fmt.Errorf("%d dead letters not re-driven; the first: %w", len(errs), errs[0])
	}
	return nil
}

// dlqPurgeCommand is meshctl dlq purge.
func (a *app) dlqPurgeCommand() *cobra.Command {
	var service string
	cmd := &cobra.Command{
		Use:     "purge",
		Short:   "Remove dead letters for good",
		Long:    "purge removes every dead letter, or those of --service.",
		Example: "  meshctl dlq purge --service exprsn-herald\n  meshctl dlq purge",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withDeadLetters(func(s *dlqSession) error {
				ctx := cmd.Context()
				before, err := s.count(ctx)
				if err != nil {
					return err
				}
				if err := s.q.Purge(ctx, service); err != nil {
					return err
				}
				after, err := s.count(ctx)
				if err != nil {
					return err
				}
				whose := "all services"
				if service != "" {
					whose = service
				}
				_, err = fmt.Fprintf(a.stdout, "purged %d dead letters of %s\n", before-after, whose)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&service, "service", "", "only the dead letters of this service")
	return cmd
}

// count returns the number of dead letters kept.
func (s *dlqSession) count(ctx context.Context) (uint64, error) {
	info, err := stats.StreamState(ctx, s.js, subjects.DeadLetterStream(s.ns))
	if err != nil {
		return 0, err
	}
	if info == nil {
		return 0, fmt.Errorf("namespace %q has no dead-letter stream %s: %s", s.ns, subjects.DeadLetterStream(s.ns), conn.StreamsHint)
	}
	return info.State.Msgs, nil
}

// parseDeadLetterID reads a dead letter's ID, its sequence number.
func parseDeadLetterID(s string) (uint64, error) {
	seq, err := strconv.ParseUint(s, 10, 64)
	if err != nil || seq == 0 {
		return 0, fmt.Errorf("dead letter ID %q: want its number, as meshctl dlq list shows it", s)
	}
	return seq, nil
}
