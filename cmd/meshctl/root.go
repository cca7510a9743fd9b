package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
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
	servers     string
	namespace   string
	creds       string
	user        string
	password    string
	token       string
	nkey        string
	tlsCA       string
	tlsCert     string
	tlsKey      string
	inboxPrefix string
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
	f.StringVar(&a.flags.token, "token", "", "NATS authentication token")
	f.StringVar(&a.flags.nkey, "nkey", "", "NKey seed file to authenticate with")
	f.StringVar(&a.flags.tlsCA, "tls-ca", "", "CA certificate file (PEM) to verify the servers' TLS certificates")
	f.StringVar(&a.flags.tlsCert, "tls-cert", "", "client certificate file (PEM) for mutual TLS, with --tls-key")
	f.StringVar(&a.flags.tlsKey, "tls-key", "", "client private key file (PEM) for mutual TLS, with --tls-cert")
	f.StringVar(&a.flags.inboxPrefix, "inbox-prefix", "", `reply inbox prefix, for users confined to private inboxes (default "_INBOX")`)
	root.AddCommand(
		a.serveCommand(),
		a.emitCommand(),
		a.tailCommand(),
		a.requestCommand(),
		a.replayCommand(),
		a.dlqCommand(),
		a.statsCommand(),
		a.authCommand(),
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
	f := a.flags
	if f.password != "" && f.user == "" {
		return nil, errors.New("--password needs --user")
	}
	ways := 0
	for _, set := range []string{f.user, f.creds, f.token, f.nkey} {
		if set != "" {
			ways++
		}
	}
	if ways > 1 {
		return nil, errors.New("--creds, --user, --token and --nkey exclude each other: use one way to authenticate")
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	var opts []nats.Option
	switch {
	case f.user != "":
		opts = append(opts, nats.UserInfo(f.user, f.password))
	case f.creds != "":
		opts = append(opts, nats.UserCredentials(f.creds))
	case f.token != "":
		opts = append(opts, nats.Token(f.token))
	case f.nkey != "":
		opt, err := nats.NkeyOptionFromSeed(f.nkey)
		if err != nil {
			return nil, fmt.Errorf("--nkey: %w", err)
		}
		opts = append(opts, opt)
	}
	if f.tlsCA != "" {
		opts = append(opts, nats.RootCAs(f.tlsCA))
	}
	if f.tlsCert != "" {
		opts = append(opts, nats.ClientCert(f.tlsCert, f.tlsKey))
	}
	if f.inboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(f.inboxPrefix))
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
		return nil, fmt.Errorf("connect to %s: %w (%s)", mesh.RedactURLs(servers), err, connectHint(err))
	}
	return nc, nil
}

// connectHint says which flags to check after a failed connection.
func connectHint(err error) string {
	if h := flagsHint(err); h != "" {
		return h
	}
	return "is nats-server running there and reachable? " + serveStartsOne
}

// serveStartsOne ends the hint of a connection that found no server.
const serveStartsOne = "meshctl serve starts one"

// flagsHint names the flags to check after a connection failed on
// credentials, TLS or a file, or is "" for other errors.
func flagsHint(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return "check the files given with --creds, --nkey, --tls-ca, --tls-cert and --tls-key"
	case errors.Is(err, nats.ErrAuthorization), errors.Is(err, nats.ErrAuthExpired), errors.Is(err, nats.ErrAuthRevoked):
		return "check --creds, --user and --password, --token or --nkey"
	case errors.Is(err, nats.ErrTLS), errors.Is(err, nats.ErrSecureConnWanted), errors.Is(err, nats.ErrSecureConnRequired):
		return "check --tls-ca, --tls-cert and --tls-key, and the server's TLS setup"
	}
	return ""
}

// workerConnectHint adds meshctl's advice to mesh.Connect's error, whose
// own hint names Config fields rather than meshctl's flags.
func workerConnectHint(err error) error {
	if h := flagsHint(err); h != "" {
		return fmt.Errorf("%w (%s)", err, h)
	}
	if errors.Is(err, nats.ErrNoServers) {
		return fmt.Errorf("%w (%s)", err, serveStartsOne)
	}
	return err
}

// streamsHint is meshctl's advice for a namespace without its streams.
const streamsHint = "is the bridge (meshctl serve) running on this server?"

// withStreamsHint adds streamsHint to an error about a missing stream.
func withStreamsHint(err error) error {
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("%w (%s)", err, streamsHint)
	}
	return err
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
	w, err := mesh.Connect(ctx, mesh.Config{
		Service:        service,
		Namespace:      ns,
		Servers:        a.serverList(),
		NATSOptions:    opts,
		ConnectTimeout: connectTimeout,
		Logger:         slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return nil, workerConnectHint(err)
	}
	return w, nil
}

// closeWorker closes w, bounded in time, keeping the first error.
func closeWorker(w *mesh.Worker, err *error) {
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	if cerr := w.Close(ctx); cerr != nil && *err == nil {
		*err = cerr
	}
}
