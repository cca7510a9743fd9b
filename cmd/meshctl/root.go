package main

import (
	"context"
	"fmt"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"
)

// rootCommand builds the meshctl command tree, its global flags bound to
// a.conn and a.namespaceFlag and its output going to a.stdout and a.stderr.
func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "meshctl",
		Short: "Operate an ipcmesh event mesh",
		Long: `meshctl operates an ipcmesh event mesh: services that talk by CloudEvents
over NATS, with JetStream keeping every event.

It runs the bridge (meshctl serve: an embedded NATS server with JetStream, and
the stats HTTP API), and, against any NATS server or cluster of the mesh,
emits events (now or scheduled) and requests, tails the live traffic, replays
stored events to a service, manages dead letters, pending schedules and durable
handlers' consumers, and shows statistics.

Every command connects to --server (several URLs, comma-separated, for a
cluster) in --namespace, with the credentials given. Errors are one line on
stderr and a non-zero exit status.`,
		Example: `  meshctl serve
  meshctl emit post:created '{"id":"p1"}'
  meshctl emit reminder:due '{"post":"p1"}' --to exprsn-herald --in 1h
  meshctl tail 'post:*'
  meshctl request exprsn-auth session:validate '{"token":"t"}'
  meshctl replay --since 1h --event 'post:*' --to exprsn-herald
  meshctl dlq list
  meshctl schedules list
  meshctl consumers list
  meshctl stats
  meshctl setup --spec mesh.json`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Suggestions would make the error several lines.
		DisableSuggestions: true,
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w (see '%s --help')", err, cmd.CommandPath())
	})
	f := root.PersistentFlags()
	f.StringVar(&a.conn.Servers, "server", nats.DefaultURL, "NATS server URLs, comma-separated")
	f.StringVar(&a.namespaceFlag, "namespace", subjects.DefaultNamespace, "mesh namespace")
	f.StringVar(&a.conn.Creds, "creds", "", "NATS credentials file (JWT and NKey seed)")
	f.StringVar(&a.conn.User, "user", "", "NATS user name")
	f.StringVar(&a.conn.Password, "password", "", "NATS password, with --user")
	f.StringVar(&a.conn.Token, "token", "", "NATS authentication token")
	f.StringVar(&a.conn.NKey, "nkey", "", "NKey seed file to authenticate with")
	f.StringVar(&a.conn.TLSCA, "tls-ca", "", "CA certificate file (PEM) to verify the servers' TLS certificates")
	f.StringVar(&a.conn.TLSCert, "tls-cert", "", "client certificate file (PEM) for mutual TLS, with --tls-key")
	f.StringVar(&a.conn.TLSKey, "tls-key", "", "client private key file (PEM) for mutual TLS, with --tls-cert")
	f.StringVar(&a.conn.InboxPrefix, "inbox-prefix", "", `reply inbox prefix, for users confined to private inboxes (default "_INBOX")`)
	root.AddCommand(
		a.serveCommand(),
		a.emitCommand(),
		a.tailCommand(),
		a.requestCommand(),
		a.replayCommand(),
		a.dlqCommand(),
		a.schedulesCommand(),
		a.consumersCommand(),
		a.statsCommand(),
		a.authCommand(),
		a.setupCommand(),
	)
	return root
}

// namespace returns the validated --namespace.
func (a *app) namespace() (string, error) {
	if err := subjects.ValidateNamespace(a.namespaceFlag); err != nil {
		return "", fmt.Errorf("--namespace: %w", err)
	}
	return a.namespaceFlag, nil
}

// worker connects a mesh worker for service, for the commands that act as
// one (emit, request). Its warnings and errors go to stderr.
func (a *app) worker(ctx context.Context, service string) (*mesh.Worker, error) {
	ns, err := a.namespace()
	if err != nil {
		return nil, err
	}
	return a.conn.Worker(ctx, ns, service, a.stderr)
}
