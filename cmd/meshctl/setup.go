package main

import (
	"fmt"

	"github.com/exprsn/ipcmesh/setup"
	"github.com/spf13/cobra"
)

// setupCommand applies a namespace's setup to a server or cluster.
func (a *app) setupCommand() *cobra.Command {
	var specFile string
	cmd := &cobra.Command{
		Use:   "setup --spec FILE",
		Short: "Create or update the namespace's streams, buckets and durable consumers",
		Long: `setup applies the namespace's setup, read from a JSON spec, to --server as its
operator: the event and dead-letter streams, each service's idempotency bucket
and every durable handler's consumer, made from the handler's options as the
worker would make it. It is idempotent and prints, per resource, whether it
was created, updated or unchanged. Run it with the operator's credentials
(user mesh-operator of meshctl auth, or an administrator); the services then
need no management rights (mesh.StreamConfig.Provisioned).

The spec, whose namespace overrides --namespace:

  {"namespace": "ipc",
   "streams": {"max_age": "72h", "replicas": 3},
   "services": [
     {"name": "exprsn-timeline"},
     {"name": "exprsn-herald",
      "durable": [{"event": "notification:queued", "max_deliver": 8, "ack_wait": "1m"}],
      "idempotency_guard": true, "guard_ttl": "24h",
      "once_per_service": ["user:login"]}]}

A durable handler's fields are its options: name (DurableName), max_deliver,
ack_wait, prefetch, concurrency, ordered_by_key, start ("new" or "first")
and inactive_expiry. See docs/security.md and docs/operations.md.`,
		Example: `  meshctl setup --spec mesh.json --server nats://ops:secret@nats-1:4222`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if specFile == "" {
				return fmt.Errorf("--spec is required")
			}
			spec, err := setup.Load(specFile)
			if err != nil {
				return err
			}
			if spec.Namespace == "" {
				if spec.Namespace, err = a.namespace(); err != nil {
					return err
				}
			}
			nc, js, err := a.conn.ConnectJetStream("meshctl-setup")
			if err != nil {
				return err
			}
			defer nc.Close()
			changes, err := setup.Apply(cmd.Context(), js, spec)
			for _, c := range changes {
				fmt.Fprintln(a.stdout, c)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&specFile, "spec", "", "the namespace's setup file (JSON)")
	return cmd
}
