// Package bridge is meshctl serve's bridge: an embedded nats-server with
// JetStream, the namespace's event and dead-letter streams, and the HTTP API
// (the stats report, health, Prometheus metrics and the live dashboard of
// package dashboard), with the client of that API (meshctl stats --http).
package bridge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/exprsn/ipcmesh/internal/embedded"
	"github.com/exprsn/ipcmesh/internal/operator/dashboard"
	"github.com/exprsn/ipcmesh/internal/operator/stats"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/setup"
	"github.com/exprsn/ipcmesh/streams"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ShutdownTimeout bounds the bridge's shutdown.
const ShutdownTimeout = 10 * time.Second

// Config configures a bridge.
type Config struct {
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
	// Spec, if set, is the namespace's setup, applied at start (streams,
	// buckets and durable consumers; its streams' max age defaults to
	// MaxAge). Default: the streams only.
	Spec *setup.Spec
	// Auth, if set, makes the server accept only its users; the bridge
	// connects as the operator. Default: no authentication.
	Auth *Auth
	// WebSocket, if set, is the host:port of nats-server's WebSocket
	// listener, through which browsers connect with the NATS JavaScript
	// client (port 0 picks a free one). Without TLS it must be a loopback
	// address. Default: no WebSocket listener.
	WebSocket string
	// WebSocketOrigins are the origins whose pages may connect over
	// WebSocket. Default: any.
	WebSocketOrigins []string
	// Dashboard says whether the dashboard's actions (re-drive, purge,
	// cancel a schedule) are allowed, and to whom. Default: none.
	Dashboard dashboard.Actions
}

// WorkerService is the service name of the bridge's own worker, which
// feeds the dashboard's events stream. The bridge leaves it out of the
// stats it serves; meshctl stats --server, which asks the workers
// directly, lists it.
const WorkerService = "meshctl-serve"

// Bridge is a running meshctl serve: an embedded nats-server with
// JetStream, the namespace's streams, and the HTTP API.
type Bridge struct {
	cfg     Config
	ns      *server.Server
	nc      *nats.Conn
	stats   *stats.Gatherer
	worker  *mesh.Worker
	dash    *dashboard.Dashboard
	http    *http.Server
	httpURL string
	httpErr chan error
}

// DefaultStoreDir is the store under the user's data directory.
func DefaultStoreDir() string {
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

// Start starts the server, provisions the streams and serves HTTP.
// On error nothing is left running.
func Start(ctx context.Context, cfg Config) (b *Bridge, err error) {
	opts, err := serverOptions(cfg)
	if err != nil {
		return nil, err
	}
	b = &Bridge{cfg: cfg, httpErr: make(chan error, 1)}
	defer func() {
		if err != nil {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
			defer cancel()
			_ = b.Close(ctx)
		}
	}()
	if b.ns, err = embedded.Start(opts); err != nil {
		return b, err
	}
	if !b.ns.JetStreamEnabled() {
		return b, fmt.Errorf("serve: JetStream did not start; is the store %s writable?", cfg.StoreDir)
	}
	connect := []nats.Option{nats.InProcessServer(b.ns), nats.Name("meshctl-serve")}
	if cfg.Auth != nil {
		connect = append(connect, nats.UserInfo(permissions.OperatorName, cfg.Auth.Password(permissions.OperatorName)))
	}
	if b.nc, err = nats.Connect(b.ns.ClientURL(), connect...); err != nil {
		return b, fmt.Errorf("serve: connect to the embedded server: %w", err)
	}
	js, err := jetstream.New(b.nc)
	if err != nil {
		return b, fmt.Errorf("serve: JetStream: %w", err)
	}
	if err := provision(ctx, js, cfg); err != nil {
		return b, fmt.Errorf("serve: %w", err)
	}
	b.stats = stats.NewGatherer(b.nc, js, cfg.Namespace, stats.VarzSource(b.ns))
	if err := b.startDashboard(ctx); err != nil {
		return b, err
	}
	ln, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return b, fmt.Errorf("serve: --http %s: %w", cfg.HTTP, err)
	}
	b.httpURL = "http://" + ln.Addr().String()
	b.http = &http.Server{Handler: b.handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { b.httpErr <- b.http.Serve(ln) }()
	return b, nil
}

// startDashboard connects the bridge's worker and makes the dashboard.
func (b *Bridge) startDashboard(ctx context.Context) error {
	opts := []nats.Option{nats.InProcessServer(b.ns)}
	if b.cfg.Auth != nil {
		opts = append(opts, nats.UserInfo(permissions.OperatorName, b.cfg.Auth.Password(permissions.OperatorName)))
	}
	var err error
	b.worker, err = mesh.Connect(ctx, mesh.Config{
		Service: WorkerService, Namespace: b.cfg.Namespace, Servers: []string{b.ns.ClientURL()},
		SharedInbox: true, // the operator's permissions grant the shared inbox
		Stream:      mesh.StreamConfig{Provisioned: true},
		NATSOptions: opts,
	})
	if err != nil {
		return fmt.Errorf("serve: the dashboard's worker: %w", err)
	}
	b.dash, err = dashboard.New(dashboard.Config{Worker: b.worker, Gather: b.gather, Actions: b.cfg.Dashboard})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// gather returns a stats report without the bridge's own worker.
func (b *Bridge) gather(ctx context.Context) (*stats.Report, error) {
	r, err := b.stats.Gather(ctx)
	if err != nil {
		return nil, err
	}
	if s := r.Services[WorkerService]; s != nil {
		s.Instances = slices.DeleteFunc(s.Instances, func(i mesh.InstanceStats) bool { return i.Instance == b.worker.Instance() })
		if len(s.Instances) == 0 {
			delete(r.Services, WorkerService)
		}
	}
	return r, nil
}

// provision makes the namespace's streams, or applies its setup.
func provision(ctx context.Context, js jetstream.JetStream, cfg Config) error {
	if cfg.Spec == nil {
		return streams.Ensure(ctx, js, cfg.Namespace, streams.Config{MaxAge: cfg.MaxAge})
	}
	spec := *cfg.Spec
	if spec.Namespace == "" {
		spec.Namespace = cfg.Namespace
	}
	if spec.Namespace != cfg.Namespace {
		return fmt.Errorf("the spec's namespace %q is not --namespace %q", spec.Namespace, cfg.Namespace)
	}
	if spec.Streams.MaxAge == 0 {
		spec.Streams.MaxAge = setup.Duration(cfg.MaxAge)
	}
	_, err := setup.Apply(ctx, js, spec)
	return err
}

// serverOptions returns the embedded server's options for cfg. It checks
// that the client address is free, since the server would only say so after
// its readiness timeout.
func serverOptions(cfg Config) (*server.Options, error) {
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
	if cfg.Auth != nil {
		opts.Users = cfg.Auth.users
	}
	if cfg.WebSocket != "" {
		if err := webSocket(opts, cfg); err != nil {
			return nil, err
		}
	}
	return opts, nil
}

// webSocket enables the WebSocket listener cfg.WebSocket names.
func webSocket(opts *server.Options, cfg Config) error {
	host, portText, err := net.SplitHostPort(cfg.WebSocket)
	if err != nil {
		return fmt.Errorf("serve: --websocket %q: want host:port: %w", cfg.WebSocket, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return fmt.Errorf("serve: --websocket %q: bad port", cfg.WebSocket)
	}
	if err := embedded.EnableWebSocket(opts, embedded.WebSocket{Host: host, Port: port, AllowedOrigins: cfg.WebSocketOrigins}); err != nil {
		return fmt.Errorf("serve: --websocket: %w", err)
	}
	return nil
}

// WebSocketURL is the URL browsers connect to, or "" without a WebSocket
// listener.
func (b *Bridge) WebSocketURL() string {
	if b.cfg.WebSocket == "" {
		return ""
	}
	return b.ns.WebsocketURL()
}

// NATSURL is the URL clients connect to.
func (b *Bridge) NATSURL() string { return b.ns.ClientURL() }

// HTTPURL is the base URL of the HTTP API.
func (b *Bridge) HTTPURL() string { return b.httpURL }

// Wait returns when ctx ends (nil) or the HTTP server fails.
func (b *Bridge) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-b.httpErr:
		return fmt.Errorf("serve: HTTP: %w", err)
	}
}

// Close ends the dashboard's streams, stops HTTP, the bridge's connections
// and the server, which flushes the store. It waits for the server to stop.
func (b *Bridge) Close(ctx context.Context) error {
	var errs []error
	if b.dash != nil {
		errs = append(errs, b.dash.Close(ctx))
	}
	if b.http != nil {
		if err := b.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("serve: stop HTTP: %w", err))
		}
	}
	if b.worker != nil {
		errs = append(errs, b.worker.Close(ctx))
	}
	if b.nc != nil {
		b.nc.Close()
	}
	if b.ns != nil {
		b.ns.Shutdown()
		b.ns.WaitForShutdown()
	}
	return errors.Join(errs...)
}
