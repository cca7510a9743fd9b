package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

// connectTimeout bounds connecting to the NATS servers.
const connectTimeout = 5 * time.Second

// globalFlags are the flags every command takes.
type globalFlags struct {
	servers   string
	namespace string
	creds     string
	user      string
	password  string
	tlsCA     string
}

// rootCommand builds the meshctl command tree, its global flags bound to
// a.flags and its output going to a.stdout and a.stderr.
func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "meshctl",
		Short: "Operate an ipcmesh event mesh",
		Long: `meshctl operates an ipcmesh event mesh: services that talk by CloudEvents
over NATS, with JetStream keeping every event.

It runs the bridge (meshctl serve: an embedded NATS server with JetStream, and
the stats HTTP API), and, against any NATS server or cluster of the mesh,
emits events and requests, tails the live traffic, replays stored events to a
service, manages dead letters and shows statistics.

Every command connects to --server (several URLs, comma-separated, for a
cluster) in --namespace, with the credentials given. Errors are one line on
stderr and a non-zero exit status.`,
		Example: `  meshctl serve
  meshctl emit post:created '{"id":"p1"}'
  meshctl tail 'post:*'
  meshctl request exprsn-auth session:validate '{"token":"t"}'
  meshctl replay --since 1h --event 'post:*' --to exprsn-herald
  meshctl dlq list
  meshctl stats`,
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
	f.StringVar(&a.flags.servers, "server", nats.DefaultURL, "NATS server URLs, comma-separated")
	f.StringVar(&a.flags.namespace, "namespace", subjects.DefaultNamespace, "mesh namespace")
	f.StringVar(&a.flags.creds, "creds", "", "NATS credentials file (JWT and NKey seed)")
	f.StringVar(&a.flags.user, "user", "", "NATS user name")
	f.StringVar(&a.flags.password, "password", "", "NATS password, with --user")
	f.StringVar(&a.flags.tlsCA, "tls-ca", "", "CA certificate file (PEM) to verify the servers' TLS certificates")
	root.AddCommand(
		a.serveCommand(),
		a.emitCommand(),
		a.tailCommand(),
		a.requestCommand(),
		a.replayCommand(),
		a.dlqCommand(),
		a.statsCommand(),
		a.demoCommand(),
	)
	return root
}

// namespace returns the validated --namespace.
func (a *app) namespace() (string, error) {
	if err := subjects.ValidateNamespace(a.flags.namespace); err != nil {
		return "", fmt.Errorf("--namespace: %w", err)
	}
	return a.flags.namespace, nil
}

// serverList returns the --server URLs.
func (a *app) serverList() []string {
	var out []string
	for _, s := range strings.Split(a.flags.servers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// natsOptions maps the credentials flags to nats.go options.
func (a *app) natsOptions() ([]nats.Option, error) {
	var opts []nats.Option
	if a.flags.password != "" && a.flags.user == "" {
		return nil, errors.New("--password needs --user")
	}
	if a.flags.user != "" {
		if a.flags.creds != "" {
			return nil, errors.New("--creds and --user exclude each other: use one way to authenticate")
		}
		opts = append(opts, nats.UserInfo(a.flags.user, a.flags.password))
	}
	if a.flags.creds != "" {
		opts = append(opts, nats.UserCredentials(a.flags.creds))
	}
	if a.flags.tlsCA != "" {
		opts = append(opts, nats.RootCAs(a.flags.tlsCA))
	}
	return opts, nil
}

// connect opens a plain NATS connection named name, for the commands that
// do not act as a service.
func (a *app) connect(name string) (*nats.Conn, error) {
	opts, err := a.natsOptions()
	if err != nil {
		return nil, err
	}
	opts = append([]nats.Option{nats.Name(name), nats.Timeout(connectTimeout)}, opts...)
	servers := strings.Join(a.serverList(), ",")
	nc, err := nats.Connect(servers, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w (is nats-server running there and reachable? meshctl serve starts one)", servers, err)
	}
	return nc, nil
}

// connectJetStream opens a plain NATS connection and its JetStream handle.
func (a *app) connectJetStream(name string) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := a.connect(name)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("JetStream: %w", err)
	}
	return nc, js, nil
}

// worker connects a mesh worker for service, for the commands that act as
// one (emit, request). Its warnings and errors go to stderr.
func (a *app) worker(ctx context.Context, service string) (*mesh.Worker, error) {
	ns, err := a.namespace()
	if err != nil {
		return nil, err
	}
	opts, err := a.natsOptions()
	if err != nil {
		return nil, err
	}
	return mesh.Connect(ctx, mesh.Config{
		Service:        service,
		Namespace:      ns,
		Servers:        a.serverList(),
		NATSOptions:    opts,
		ConnectTimeout: connectTimeout,
		Logger:         slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
}

// closeWorker closes w, bounded in time, keeping the first error.
func closeWorker(w *mesh.Worker, err *error) {
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	if cerr := w.Close(ctx); cerr != nil && *err == nil {
		*err = cerr
	}
}
