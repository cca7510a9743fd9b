package mesh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/exprsn/ipcmesh/mesh/internal/callers"
	"github.com/exprsn/ipcmesh/mesh/internal/conn"
	"github.com/exprsn/ipcmesh/mesh/internal/drops"
	"github.com/exprsn/ipcmesh/mesh/internal/durable"
	"github.com/exprsn/ipcmesh/mesh/internal/live"
	"github.com/exprsn/ipcmesh/mesh/internal/outbound"
	"github.com/exprsn/ipcmesh/mesh/internal/sched"
	"github.com/exprsn/ipcmesh/mesh/internal/stats"
	"github.com/exprsn/ipcmesh/mesh/internal/store"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Worker is one service instance's connection to the mesh. All its methods
// are safe for concurrent use.
type Worker struct {
	cfg      Config
	log      *slog.Logger
	instance string
	// conn is the connection and the worker's state; nc is conn.NC.
	conn conn.Conn
	nc   *nats.Conn
	// store is the namespace's event stream, as emits and durable handlers
	// use it; out encodes what the worker sends.
	store store.Stream
	out   outbound.Encoder
	stats stats.Counters
	// exports are the stats ExportStats adds to the stats answers.
	exports stats.Exports
	// live are the live handlers' subscriptions, durables the durable
	// handlers.
	live     live.Table[*sched.Scheduler[*Event]]
	durables durable.Registry[*Event]
	// handlerCtx is the parent of every handler's context; it carries the
	// worker and is cancelled when Close gives up waiting. inflight counts
	// the goroutines of live handlers, for Close to wait on.
	handlerCtx    context.Context
	cancelHandler context.CancelFunc
	inflight      sync.WaitGroup
	// callers are the goroutines running handler calls, for Close and Off
	// from inside a handler; drops reports the live events the NATS client
	// drops.
	callers callers.Registry
	drops   drops.Watch
}

// liveRoute is a route of the worker's live handlers.
type liveRoute = live.Route[*sched.Scheduler[*Event]]

// Connect connects a worker for cfg.Service to the NATS servers and returns
// when it is ready to emit and subscribe, or with an error that says what to
// check. It gives up when ctx is done or after cfg.ConnectTimeout. The
// worker reconnects by itself after losing its server, for as long as it
// runs.
func Connect(ctx context.Context, cfg Config) (*Worker, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	w := &Worker{cfg: cfg, log: cfg.Logger.With("service", cfg.Service), instance: outbound.NewID()}
	w.handlerCtx, w.cancelHandler = context.WithCancel(NewContext(context.Background(), w))
	if err := w.conn.Dial(ctx, w.init()); err != nil {
		w.cancelHandler()
		return nil, err
	}
	return w, nil
}

// init sets up the worker's parts, and returns how its connection
// connects and opens (see conn.Conn.Dial).
func (w *Worker) init() conn.Config {
	cfg, report := w.cfg, func(err error) { w.report(err) }
	w.stats.Init(MaxStatsEvents, OtherEvents)
	w.drops = drops.Watch{Total: w.live.Dropped, Report: report}
	w.out = outbound.Encoder{Namespace: cfg.Namespace, Service: cfg.Service, Mode: cfg.Encoding, TooLarge: ErrTooLarge,
		MaxPayload: func() int64 { return w.nc.MaxPayload() }, FiringTTL: w.store.FiringTTL}
	w.store.Config = store.Config{Service: cfg.Service, Namespace: cfg.Namespace,
		Disable: cfg.Stream.Disable, Manage: cfg.Stream.Manage, Streams: cfg.Stream.Config,
		MaxPending: cfg.MaxPendingEmits, AsyncTimeout: cfg.AsyncEmitTimeout, Timeout: cfg.RequestTimeout, Log: w.log,
		AsyncFailed: func(err error) { w.stats.EmitFailed.Add(1); w.report(err) },
		Unconfirmed: ErrUnconfirmed, Unsupported: ErrUnsupported}
	w.live.Handler = func(r *liveRoute) nats.MsgHandler { return func(m *nats.Msg) { w.dispatch(r, m) } }
	w.durables.Start, w.durables.Connected = w.startDurable, func() bool { return w.nc.IsConnected() }
	inbox := ""
	if !cfg.SharedInbox {
		inbox = subjects.InboxPrefix(cfg.Service)
	}
	return conn.Config{Service: cfg.Service, Servers: cfg.Servers, Timeout: cfg.ConnectTimeout, ReconnectWait: DefaultReconnectWait,
		Background: cfg.Background, InboxPrefix: inbox, Options: cfg.NATSOptions, Log: w.log, Report: report, Slow: w.drops.Slow,
		OnDisconnect: cfg.OnDisconnect, OnReconnect: cfg.OnReconnect,
		Lost: ErrConnectionLost, Closed: ErrClosed, Disconnected: ErrDisconnected,
		Connected: w.connected, Open: w.store.Open, Opened: w.opened, Halt: w.handlerCtx}
}

// connected serves the worker's stats on its new connection nc.
func (w *Worker) connected(nc *nats.Conn) error {
	w.nc, w.live.NC = nc, nc
	if err := w.serveStats(); err != nil {
		return fmt.Errorf("mesh: connect %q: subscribe to %s: %w", w.cfg.Service, subjects.StatsSubject(w.cfg.Namespace), err)
	}
	return nil
}

// opened makes the worker, its streams open, ready: it starts the durable
// handlers registered meanwhile, and logs the connection at level.
func (w *Worker) opened(ctx context.Context, level slog.Level) {
	w.durables.Ready(ctx, func(err error) { w.report(err) }, w.conn.MarkReady)
	w.log.Log(context.Background(), level, "mesh: connected", "server", w.nc.ConnectedUrlRedacted(), "namespace", w.cfg.Namespace, "durable", w.store.Durable())
}

// RedactURLs returns servers, one or several comma-separated NATS URLs,
// with every user, password or token ("nats://user:password@host")
// replaced by "[redacted]", for error messages and logs.
func RedactURLs(servers string) string { return conn.RedactURLs(servers) }

// Service is the worker's service name.
func (w *Worker) Service() string { return w.cfg.Service }

// Namespace is the worker's namespace.
func (w *Worker) Namespace() string { return w.cfg.Namespace }

// Conn is the worker's NATS connection, for what the mesh does not wrap.
// Closing it closes the worker's connection under it; use Close instead.
func (w *Worker) Conn() *nats.Conn { return w.nc }

// Logger is the worker's logger, with the attribute service set.
func (w *Worker) Logger() *slog.Logger { return w.log }

// report logs err and passes it to the error hook.
func (w *Worker) report(err error, attrs ...any) {
	w.log.Error(err.Error(), attrs...)
	if w.cfg.OnError != nil {
		w.cfg.OnError(err)
	}
}

// A worker with Config.Background connects in the background: Connect
// returns at once, and the worker becomes ready once it reaches a server
// and has opened its streams.

// Ready waits until the worker is connected and has opened the
// namespace's streams, or until ctx ends, and then returns nil or an error
// naming the servers it is trying and the last failure. A worker that
// Connect returned without Config.Background is ready.
func (w *Worker) Ready(ctx context.Context) error { return w.conn.Ready(ctx) }

// Close stops taking new events, lets in-flight handlers finish, flushes
// what was emitted, and disconnects. Handlers still running may emit; after
// Close returns, every call fails with ErrClosed.
//
// If ctx ends first, Close cancels the handlers' contexts, closes the
// connection at once and returns ctx's error; events pending in the NATS
// client are then lost (live events are at most once). Closing a worker
// never deletes anything on the server. Calling Close again waits for the
// first call and returns its result.
//
// When the server is unreachable, Close does not wait for it: it stops the
// subscriptions locally, leaves durable events not yet running for
// redelivery, waits for the running handler calls, and returns an error
// saying what it could not flush (asynchronous emits not acknowledged,
// bytes the client still buffered), or nil when nothing was pending.
//
// A handler may call Close: Close then waits for every other call, not for
// the one it is made from, which goes on after Close returns (a durable
// handler's own event is then not acknowledged, and is redelivered).
func (w *Worker) Close(ctx context.Context) error {
	w.callers.Release(nil)
	return w.conn.Close(ctx, conn.Closer{
		Stop:    []func(context.Context) error{w.durables.Stop, w.live.Stop},
		Running: &w.inflight, Await: w.store.Await, Pending: w.store.Pending, Stopped: w.stopped,
	})
}

// stopped ends what is left of a closed worker, once it is drained, or
// failed to (err): the handlers' contexts, the drops report, and, when the
// drain failed, the live handlers' goroutines, once their queued events
// have run.
func (w *Worker) stopped(err error) {
	w.cancelHandler()
	w.drops.Stop()
	if err != nil {
		w.live.CloseAll()
	}
}

// bounded returns ctx, bounded by Config.RequestTimeout when it has no
// deadline, for a call that waits for the server.
func (w *Worker) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, w.cfg.RequestTimeout)
}

// Durable reports whether the namespace has an event stream that the worker
// uses: emits then return once the event is stored, and durable handlers
// can be registered.
func (w *Worker) Durable() bool { return w.store.Durable() }

// Provisioned reports whether the operator creates the worker's JetStream
// resources (see StreamConfig.Provisioned).
func (w *Worker) Provisioned() bool { return w.cfg.Stream.Provisioned }

// JetStream returns the worker's JetStream handle, or nil when
// StreamConfig.Disable is set.
func (w *Worker) JetStream() jetstream.JetStream { return w.store.JS }

// Connection states that Healthy reports.
var (
	// ErrDisconnected is returned by Healthy while the worker has lost its
	// server and is reconnecting; events emitted meanwhile are buffered by
	// the NATS client.
	ErrDisconnected = errors.New("disconnected from the server, reconnecting")
	// ErrConnectionLost matches the error of a worker whose connection the
	// NATS client closed for good (the server refused the connection, a
	// protocol error): the worker handles nothing more and every call fails
	// with it. It is reported once through Config.OnError. Close the worker
	// and connect a new one.
	ErrConnectionLost = errors.New("connection closed for good")
)

// Healthy returns nil while the worker is connected and serving; an error
// matching ErrDisconnected while it reconnects; ErrConnectionLost, wrapping
// the NATS client's last error, once the connection is closed for good; and
// ErrClosed after Close. Readiness probes should serve it: a worker that is
// not healthy handles no events.
func (w *Worker) Healthy() error { return w.conn.Healthy() }

type ctxKey struct{}

// NewContext returns a copy of ctx that carries w; FromContext gets it back.
// Handlers' contexts carry their worker already.
func NewContext(ctx context.Context, w *Worker) context.Context {
	return context.WithValue(ctx, ctxKey{}, w)
}

// FromContext returns the worker ctx carries, or nil. It is the Go form of
// the JavaScript req.ipc: HTTP handlers behind HTTPMiddleware, and mesh
// handlers, find their worker with it.
func FromContext(ctx context.Context) *Worker {
	w, _ := ctx.Value(ctxKey{}).(*Worker)
	return w
}

// HTTPMiddleware puts w in each request's context, for handlers that emit.
// Pair it with TryEmit so that a mesh outage never fails the user's
// request, and detach the emit's context from the request's, so that a
// client hanging up does not cancel an event for work already done:
//
//	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 2*time.Second)
//	defer cancel()
//	mesh.FromContext(r.Context()).TryEmit(ctx, "post:created", post)
func (w *Worker) HTTPMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(rw, r.WithContext(NewContext(r.Context(), w)))
	})
}
