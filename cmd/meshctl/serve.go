package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/exprsn/ipcmesh/internal/operator/bridge"
	"github.com/exprsn/ipcmesh/setup"
	"github.com/exprsn/ipcmesh/streams"
	"github.com/spf13/cobra"
)

// serveLong is meshctl serve's help.
const serveLong = `serve runs the bridge: an embedded nats-server with JetStream (its data in
--store), provisions the namespace's event and dead-letter streams, and serves
HTTP:

  GET /                  the live dashboard: services, events per second by
                         type, durable consumers, dead letters, schedules
                         and a live tail
  GET /api/ipc/stats     the server, the event stream, the dead letters and
                         every connected service's own counts (see meshctl
                         stats), JSON
  GET /api/ipc/stats/stream
                         the same report as server-sent events, every second
  GET /api/ipc/events?event=PATTERN
                         the namespace's events as server-sent events (curl
                         -N reads them; Last-Event-ID resumes)
  GET /healthz           200 when the server and JetStream are ready, 503
                         otherwise
  GET /metrics           the same numbers in Prometheus text format

The dashboard's actions (re-drive and purge dead letters, cancel scheduled
events) are refused unless --dashboard-actions allows them: then from this
machine only (loopback clients), or, with --dashboard-token, from anyone who
sends the token (open the page as http://HOST:PORT/#token=TOKEN).

With --spec, it applies the namespace's setup (see meshctl setup) instead of
creating the streams only. With --auth DIR as well, the server accepts only
the spec's services and the operator, each with its least-privilege
permissions (see meshctl auth) and a password generated at each start,
written to DIR/credentials.env as EXPRSN_HERALD_PASSWORD=... lines; connect
each service as the user named after it, with mesh.StreamConfig.Provisioned.

With --websocket, browsers connect straight to NATS over WebSocket with the
NATS JavaScript client, as the spec's browser users (see docs/browser.md):
without TLS the listener must be on a loopback address.

It stops cleanly on SIGINT or SIGTERM, flushing the store. The global --server
and credentials flags do not apply: the bridge is the server. For production,
run a nats-server cluster instead (see docs/operations.md).`

// serveCommand is meshctl serve, the bridge.
func (a *app) serveCommand() *cobra.Command {
	cfg := bridge.Config{}
	var specFile, authDir string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the bridge: an embedded NATS server with JetStream, the stats HTTP API and the dashboard",
		Long:  serveLong,
		Example: `  meshctl serve
  meshctl serve --listen 0.0.0.0:4222 --http 127.0.0.1:8222 --store /var/lib/ipcmesh --max-age 72h
  meshctl serve --spec mesh.json --auth ./credentials
  meshctl serve --dashboard-actions
  meshctl serve --spec mesh.json --auth ./credentials --websocket 127.0.0.1:9222
  meshctl serve --http 0.0.0.0:8222 --dashboard-actions --dashboard-token "$(openssl rand -hex 16)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ns, err := a.namespace()
			if err != nil {
				return err
			}
			cfg.Namespace = ns
			if cfg.StoreDir == "" {
				cfg.StoreDir = bridge.DefaultStoreDir()
			}
			if cfg.Dashboard.Token != "" && !cfg.Dashboard.Enabled {
				return errors.New("--dashboard-token needs --dashboard-actions: without it the dashboard allows no action")
			}
			if err := a.serveSetup(&cfg, specFile, authDir); err != nil {
				return err
			}
			b, err := bridge.Start(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "meshctl serve: NATS on %s, HTTP on %s, store %s, namespace %q\n",
				b.NATSURL(), b.HTTPURL(), cfg.StoreDir, ns)
			fmt.Fprintf(a.stdout, "meshctl serve: dashboard on %s/ (actions: %s)\n", b.HTTPURL(), cfg.Dashboard.Mode())
			if u := b.WebSocketURL(); u != "" {
				fmt.Fprintf(a.stdout, "meshctl serve: WebSocket for browsers on %s\n", u)
			}
			if cfg.Auth != nil {
				fmt.Fprintf(a.stdout, "meshctl serve: users' passwords in %s\n", filepath.Join(authDir, bridge.CredentialsFile))
			}
			if a.served != nil {
				a.served(b)
			}
			err = b.Wait(cmd.Context())
			ctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), bridge.ShutdownTimeout)
			defer cancel()
			err = errors.Join(err, b.Close(ctx))
			if err == nil {
				fmt.Fprintln(a.stdout, "meshctl serve: stopped")
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:4222", "host:port for NATS clients")
	f.StringVar(&cfg.HTTP, "http", "127.0.0.1:8222", "host:port of the HTTP API")
	f.StringVar(&cfg.StoreDir, "store", "", "JetStream store directory (default $XDG_DATA_HOME/ipcmesh, or ~/.local/share/ipcmesh)")
	f.DurationVar(&cfg.MaxAge, "max-age", streams.DefaultMaxAge, "how long the event stream keeps events")
	f.StringVar(&specFile, "spec", "", "the namespace's setup file to apply (JSON; see meshctl setup)")
	f.StringVar(&authDir, "auth", "", "with --spec: accept only the spec's users, their generated passwords written to DIR/credentials.env")
	f.StringVar(&cfg.WebSocket, "websocket", "", "host:port of a WebSocket listener for browsers on the NATS JavaScript client (port 0: a free one; loopback only, as it has no TLS)")
	f.StringSliceVar(&cfg.WebSocketOrigins, "websocket-origin", nil, "with --websocket: an origin whose pages may connect (repeatable; default any)")
	f.BoolVar(&cfg.Dashboard.Enabled, "dashboard-actions", false, "allow the dashboard's actions (re-drive, purge, cancel a schedule): from loopback clients only, or with --dashboard-token")
	f.StringVar(&cfg.Dashboard.Token, "dashboard-token", "", "with --dashboard-actions: the token each action must send, accepted then from any address (the page reads it from #token=... in its URL)")
	return cmd
}

// serveSetup reads --spec and prepares --auth's users into cfg.
func (a *app) serveSetup(cfg *bridge.Config, specFile, authDir string) error {
	if specFile == "" {
		if authDir != "" {
			return fmt.Errorf("--auth needs --spec: the users are the spec's services")
		}
		return nil
	}
	spec, err := setup.Load(specFile)
	if err != nil {
		return err
	}
	cfg.Spec = &spec
	if authDir != "" {
		cfg.Auth, err = bridge.NewAuth(spec, authDir)
	}
	return err
}
