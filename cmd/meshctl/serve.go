package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/exprsn/ipcmesh/internal/embedded"
	"github.com/exprsn/ipcmesh/streams"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

// shutdownTimeout bounds the bridge's shutdown.
const shutdownTimeout = 10 * time.Second

// bridgeConfig configures a bridge.
type bridgeConfig struct {
	// Listen is the host:port of NATS clients; port 0 picks a free one.
	Listen string
	// HTTP is the host:port of the HTTP API; port 0 picks a free one.
	HTTP string
	// StoreDir is the JetStream store directory.
	StoreDir string
	// Namespace is the mesh namespace whose streams the bridge provisions.
	Namespace string
	// MaxAge is how long the event stream keeps events.
	MaxAge time.Duration
}

// bridge is a running meshctl serve: an embedded nats-server with
// JetStream, the namespace's streams, and the HTTP API.
type bridge struct {
	cfg     bridgeConfig
	ns      *server.Server
	nc      *nats.Conn
	stats   *statsGatherer
	http    *http.Server
	httpURL string
	httpErr chan error
}

// serveCommand is meshctl serve, the bridge.
func (a *app) serveCommand() *cobra.Command {
	cfg := bridgeConfig{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the bridge: an embedded NATS server with JetStream, and the stats HTTP API",
		Long: `serve runs the bridge: an embedded nats-server with JetStream (its data in
--store), provisions the namespace's event and dead-letter streams, and serves
HTTP:

  GET /api/ipc/stats  the server, the event stream, the dead letters and every
                      connected service's own counts (see meshctl stats), JSON
  GET /healthz        200 when the server and JetStream are ready, 503 otherwise
  GET /metrics        the same numbers in Prometheus text format

It stops cleanly on SIGINT or SIGTERM, flushing the store. The global --server
and credentials flags do not apply: the bridge is the server. For production,
run a nats-server cluster instead (see docs/operations.md).`,
		Example: `  meshctl serve
  meshctl serve --listen 0.0.0.0:4222 --http 127.0.0.1:8222 --store /var/lib/ipcmesh --max-age 72h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ns, err := a.namespace()
			if err != nil {
				return err
			}
			cfg.Namespace = ns
			if cfg.StoreDir == "" {
				cfg.StoreDir = defaultStoreDir()
			}
			b, err := startBridge(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "meshctl serve: NATS on %s, HTTP on %s, store %s, namespace %q\n",
				b.natsURL(), b.httpURL, cfg.StoreDir, ns)
			if a.served != nil {
				a.served(b)
			}
			err = b.wait(cmd.Context())
			ctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), shutdownTimeout)
			defer cancel()
			err = errors.Join(err, b.close(ctx))
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
	return cmd
}

// defaultStoreDir is the store under the user's data directory.
func defaultStoreDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "ipcmesh")
	}
	if runtime.GOOS != "windows" && runtime.GOOS != "darwin" {
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, ".local", "share", "ipcmesh")
		}
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "ipcmesh")
	}
	return filepath.Join(os.TempDir(), "ipcmesh")
}

// startBridge starts the server, provisions the streams and serves HTTP.
// On error nothing is left running.
func startBridge(ctx context.Context, cfg bridgeConfig) (b *bridge, err error) {
	opts, err := serverOptions(cfg)
	if err != nil {
		return nil, err
	}
	b = &bridge{cfg: cfg, httpErr: make(chan error, 1)}
	defer func() {
		if err != nil {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
			defer cancel()
			_ = b.close(ctx)
		}
	}()
	if b.ns, err = embedded.Start(opts); err != nil {
		return b, err
	}
	if !b.ns.JetStreamEnabled() {
		return b, fmt.Errorf("serve: JetStream did not start; is the store %s writable?", cfg.StoreDir)
	}
	if b.nc, err = nats.Connect(b.ns.ClientURL(), nats.InProcessServer(b.ns), nats.Name("meshctl-serve")); err != nil {
		return b, fmt.Errorf("serve: connect to the embedded server: %w", err)
	}
	js, err := jetstream.New(b.nc)
	if err != nil {
		return b, fmt.Errorf("serve: JetStream: %w", err)
	}
	if err := streams.Ensure(ctx, js, cfg.Namespace, streams.Config{MaxAge: cfg.MaxAge}); err != nil {
		return b, fmt.Errorf("serve: %w", err)
	}
	b.stats = &statsGatherer{nc: b.nc, js: js, ns: cfg.Namespace, server: varzSource(b.ns)}
	ln, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return b, fmt.Errorf("serve: --http %s: %w", cfg.HTTP, err)
	}
	b.httpURL = "http://" + ln.Addr().String()
	b.http = &http.Server{Handler: b.handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { b.httpErr <- b.http.Serve(ln) }()
	return b, nil
}

// serverOptions returns the embedded server's options for cfg. It checks
// that the client address is free, since the server would only say so after
// its readiness timeout.
func serverOptions(cfg bridgeConfig) (*server.Options, error) {
	host, portText, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("serve: --listen %q: want host:port: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("serve: --listen %q: bad port", cfg.Listen)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("serve: --listen %s: %w", cfg.Listen, err)
	}
	_ = ln.Close()
	if err := os.MkdirAll(cfg.StoreDir, 0o750); err != nil {
		return nil, fmt.Errorf("serve: --store: %w", err)
	}
	opts := embedded.Options(cfg.StoreDir)
	opts.Host = host
	opts.Port = port
	if port == 0 {
		opts.Port = server.RANDOM_PORT // for nats-server, 0 means its default port
	}
	return opts, nil
}

// natsURL is the URL clients connect to.
func (b *bridge) natsURL() string { return b.ns.ClientURL() }

// wait returns when ctx ends (nil) or the HTTP server fails.
func (b *bridge) wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-b.httpErr:
		return fmt.Errorf("serve: HTTP: %w", err)
	}
}

// close stops HTTP, the bridge's connection and the server, which flushes
// the store. It waits for the server to stop.
func (b *bridge) close(ctx context.Context) error {
	var err error
	if b.http != nil {
		if herr := b.http.Shutdown(ctx); herr != nil {
			err = fmt.Errorf("serve: stop HTTP: %w", herr)
		}
	}
	if b.nc != nil {
		b.nc.Close()
	}
	if b.ns != nil {
		b.ns.Shutdown()
		b.ns.WaitForShutdown()
	}
	return err
}
