package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/exprsn/ipcmesh/permissions"
	"github.com/spf13/cobra"
)

// authCommand prints the least-privilege nats-server users of a mesh.
func (a *app) authCommand() *cobra.Command {
	var durable, guard, once []string
	var shared bool
	cmd := &cobra.Command{
		Use:   "auth SERVICE...",
		Short: "Print least-privilege nats-server users for the services and the operator",
		Long: `auth prints a nats-server authorization block with one user per service,
allowed to emit and request, to receive only what is sent to it and the
broadcasts, and to use its own reply inboxes (connect it with
nats.CustomInboxPrefix("_INBOX_<service>"), or --shared-inbox), plus the user
mesh-operator for the bridge and meshctl. Passwords are read from environment
variables when the server starts (EXPRSN_HERALD_PASSWORD...). See
docs/security.md.`,
		Example: `  meshctl auth exprsn-timeline exprsn-herald exprsn-spark exprsn-auth exprsn-moderator \
    --durable exprsn-herald,exprsn-moderator --guard exprsn-herald --once exprsn-herald=user:login`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, err := a.namespace()
			if err != nil {
				return err
			}
			services := make([]permissions.Service, len(args))
			for i, name := range args {
				services[i] = permissions.Service{
					Name:             name,
					Durable:          slices.Contains(durable, name),
					IdempotencyGuard: slices.Contains(guard, name),
					SharedInbox:      shared,
				}
			}
			for _, o := range once {
				name, pattern, ok := strings.Cut(o, "=")
				i := slices.IndexFunc(services, func(s permissions.Service) bool { return s.Name == name })
				if !ok || i < 0 {
					return fmt.Errorf("--once %q: want SERVICE=PATTERN for one of the services given", o)
				}
				services[i].OncePerService = append(services[i].OncePerService, pattern)
			}
			users, err := permissions.ForServices(ns, services...)
			if err != nil {
				return err
			}
			config, err := permissions.Config(users)
			if err != nil {
				return err
			}
			_, err = io.WriteString(a.stdout, config)
			return err
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&durable, "durable", nil, "services with durable handlers (comma-separated)")
	f.StringSliceVar(&guard, "guard", nil, "services using the idempotency guard (comma-separated)")
	f.StringArrayVar(&once, "once", nil, "SERVICE=PATTERN: a broadcast pattern SERVICE handles once per service (repeatable)")
	f.BoolVar(&shared, "shared-inbox", false, `let the services share the reply inboxes "_INBOX.>" (any of them can then read every reply)`)
	return cmd
}
