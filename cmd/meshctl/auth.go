package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/setup"
	"github.com/spf13/cobra"
)

// authCommand prints the least-privilege nats-server users of a mesh.
func (a *app) authCommand() *cobra.Command {
	var durable, guard, once []string
	var shared bool
	var specFile string
	cmd := &cobra.Command{
		Use:   "auth [SERVICE...]",
		Short: "Print least-privilege nats-server users for the services and the operator",
		Long: `auth prints a nats-server authorization block with one user per service,
allowed to emit and request, to receive only what is sent to it and the
broadcasts, to pull from and acknowledge its own durable consumers, and to use
its own reply inboxes (connect it with nats.CustomInboxPrefix("_INBOX_<service>"),
or --shared-inbox), plus the user mesh-operator for the bridge, meshctl setup
and the other commands. No service may create, change or delete a stream, a
consumer or a bucket: apply the same spec with meshctl setup, and set
mesh.StreamConfig.Provisioned in the services' workers. Passwords are read
from environment variables when the server starts (EXPRSN_HERALD_PASSWORD...).
See docs/security.md.

The services come from --spec, the namespace's setup file (see meshctl setup),
or from the arguments and flags.`,
		Example: `  meshctl auth --spec mesh.json
  meshctl auth exprsn-timeline exprsn-herald exprsn-spark exprsn-auth exprsn-moderator \
    --durable exprsn-herald=notification:queued --durable exprsn-moderator=content:submitted \
    --guard exprsn-herald --once exprsn-herald=user:login`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var spec setup.Spec
			var err error
			switch {
			case specFile != "" && len(args) > 0:
				return fmt.Errorf("give the services either with --spec or as arguments")
			case specFile != "":
				spec, err = setup.Load(specFile)
			case len(args) == 0:
				return fmt.Errorf("no services: give --spec FILE or the service names")
			default:
				spec, err = a.specFromFlags(args, durable, guard, once, shared)
			}
			if err != nil {
				return err
			}
			users, err := spec.Users()
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
	f.StringVar(&specFile, "spec", "", "the namespace's setup file (JSON; see meshctl setup)")
	f.StringArrayVar(&durable, "durable", nil, "SERVICE=PATTERN: a durable handler of SERVICE (repeatable)")
	f.StringSliceVar(&guard, "guard", nil, "services using the idempotency guard (comma-separated)")
	f.StringArrayVar(&once, "once", nil, "SERVICE=PATTERN: a broadcast pattern SERVICE handles once per service (repeatable)")
	f.BoolVar(&shared, "shared-inbox", false, `let the services share the reply inboxes "_INBOX.>" (any of them can then read every reply)`)
	return cmd
}

// specFromFlags builds the setup of services named as arguments.
func (a *app) specFromFlags(names, durable, guard, once []string, shared bool) (setup.Spec, error) {
	ns, err := a.namespace()
	if err != nil {
		return setup.Spec{}, err
	}
	spec := setup.Spec{Namespace: ns, Services: make([]setup.Service, len(names))}
	for i, name := range names {
		spec.Services[i] = setup.Service{Name: name, IdempotencyGuard: slices.Contains(guard, name), SharedInbox: shared}
	}
	for _, d := range durable {
		i, pattern, err := servicePattern(spec, "--durable", d)
		if err != nil {
			return setup.Spec{}, err
		}
		spec.Services[i].Durable = append(spec.Services[i].Durable, setup.Handler{Event: pattern})
	}
	for _, o := range once {
		i, pattern, err := servicePattern(spec, "--once", o)
		if err != nil {
			return setup.Spec{}, err
		}
		spec.Services[i].OncePerService = append(spec.Services[i].OncePerService, pattern)
	}
	return spec, spec.Validate()
}

// servicePattern splits a flag's SERVICE=PATTERN and finds the service.
func servicePattern(spec setup.Spec, flag, value string) (int, string, error) {
	name, pattern, ok := strings.Cut(value, "=")
	i := slices.IndexFunc(spec.Services, func(s setup.Service) bool { return s.Name == name })
	if !ok || i < 0 {
		return 0, "", fmt.Errorf("%s %q: want SERVICE=PATTERN for one of the services given", flag, value)
	}
	return i, pattern, nil
}
