package mesh

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exprsn/ipcmesh/mesh/internal/callers"
	"github.com/exprsn/ipcmesh/mesh/internal/drops"
	"github.com/exprsn/ipcmesh/mesh/internal/durable"
	"github.com/exprsn/ipcmesh/mesh/internal/outbound"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Worker is one service instance's connection to the mesh. All its methods
// are safe for concurrent use.
type Worker struct {
	cfg      Config
	nc       *nats.Conn
	log      *slog.Logger
	instance string

	// inflight counts the goroutines of live handlers, for Close to wait
	// on.
	inflight sync.WaitGroup

	// handlerCtx is the parent of every handler's context; it carries the
	// worker and is cancelled when Close gives up waiting.
	handlerCtx    context.Context
	cancelHandler context.CancelFunc

	mu       sync.Mutex
	routes   map[routeKey]*route
	durables map[string]*durableHandler

	// js is nil when Config.Stream.Disable is set; durable tells whether
	// the namespace's event stream is there to use.
	js      jetstream.JetStream
	durable atomic.Bool
	// scheduling is what scheduled and expiring emits can use, found at
	// Connect; nil without an event stream.
	scheduling atomic.Pointer[scheduling]

	// state moves from open to closing (no new subscriptions) to closed
	// (no emits either).
	state     atomic.Int32
	closeOnce sync.Once
	closeErr  error
	closed    chan struct{} // closed when Close is done

	stats stats
	out   outbound.Encoder

	// lost is the error of a connection the NATS client closed for good
	// while the worker was open (see Healthy); connClosed is closed when
	// the connection is closed, for good or by Close.
	lost       atomic.Pointer[error]
	connClosed chan struct{}
	// callers are the goroutines running handler calls, for Close and Off
	// from inside a handler.
	callers callers.Registry
	// drops reports the live events the NATS client drops.
	drops drops.Watch
	// ready is closed, and readyNow set, once the worker has connected and
	// opened its streams; lastSetupErr is the last failure to open them, in
	// the background (see Ready).
	ready        chan struct{}
	readyNow     atomic.Bool
	lastSetupErr atomic.Pointer[error]
}

const (
	stateOpen int32 = iota
	stateClosing
	stateClosed
)

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
	timeout := cfg.ConnectTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("mesh: connect %s: %w", cfg.Service, context.DeadlineExceeded)
	}
	w := &Worker{
		cfg:        cfg,
		log:        cfg.Logger.With("service", cfg.Service),
		routes:     make(map[routeKey]*route),
		durables:   make(map[string]*durableHandler),
		closed:     make(chan struct{}),
		connClosed: make(chan struct{}),
		ready:      make(chan struct{}),
		instance:   nuid.Next(),
	}
	w.handlerCtx, w.cancelHandler = context.WithCancel(NewContext(context.Background(), w))
	w.drops = drops.Watch{Total: w.droppedTotal, Report: func(err error) { w.report(err) }}
	w.out = outbound.Encoder{Namespace: cfg.Namespace, Service: cfg.Service, Mode: cfg.Encoding, TooLarge: ErrTooLarge,
		MaxPayload: func() int64 { return w.nc.MaxPayload() }, FiringTTL: w.firingTTL}
	w.stats.init()

	opts := []nats.Option{
		nats.Name(cfg.Service),
		nats.Timeout(timeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(DefaultReconnectWait),
		nats.DisconnectErrHandler(w.onDisconnect),
		nats.ReconnectHandler(w.onReconnect),
		nats.ErrorHandler(w.onAsyncError),
		nats.ClosedHandler(w.onConnClosed),
	}
	if cfg.Background {
		opts = append(opts, nats.RetryOnFailedConnect(true), nats.ConnectHandler(w.onConnected))
	}
	if !cfg.SharedInbox {
		opts = append(opts, nats.CustomInboxPrefix(subjects.InboxPrefix(cfg.Service)))
	}
	opts = append(opts, cfg.NATSOptions...)
	servers := strings.Join(cfg.Servers, ",")
	nc, err := nats.Connect(servers, opts...)
	if err != nil {
		w.cancelHandler()
		return nil, connectError(cfg, servers, err)
	}
	w.nc = nc
	if err := w.serveStats(); err != nil {
		w.abort()
		return nil, fmt.Errorf("mesh: connect %q: subscribe to %s: %w", cfg.Service, subjects.StatsSubject(cfg.Namespace), err)
	}
	if cfg.Background {
		return w, nil // onConnected makes it ready
	}
	flushCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := nc.FlushWithContext(flushCtx); err != nil {
		w.abort()
		return nil, fmt.Errorf("mesh: connect %q to %s: the server did not answer: %w", cfg.Service, RedactURLs(servers), err)
	}
	if err := w.openStreams(flushCtx); err != nil {
		w.abort()
		return nil, err
	}
	w.markReady()
	w.log.Debug("mesh: connected", "server", nc.ConnectedUrlRedacted(), "namespace", cfg.Namespace, "durable", w.durable.Load())
	return w, nil
}

// abort closes a worker whose Connect failed.
func (w *Worker) abort() {
	w.state.Store(stateClosed)
	w.nc.Close()
	w.cancelHandler()
}

func connectError(cfg Config, servers string, err error) error {
	hint := "is nats-server running there and reachable?"
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		hint = "a file given in Config.NATSOptions cannot be read: check the paths given to nats.UserCredentials, nats.RootCAs and nats.ClientCert"
	case errors.Is(err, nats.ErrAuthorization), errors.Is(err, nats.ErrAuthExpired), errors.Is(err, nats.ErrAuthRevoked):
		hint = "check the credentials given in Config.NATSOptions (nats.UserCredentials, nats.UserInfo, nats.Token, nats.Nkey)"
	case errors.Is(err, nats.ErrTLS), errors.Is(err, nats.ErrSecureConnRequired), errors.Is(err, nats.ErrSecureConnWanted), strings.Contains(err.Error(), "tls"), strings.Contains(err.Error(), "x509"):
		hint = "check the TLS options in Config.NATSOptions (nats.RootCAs, nats.ClientCert) and the server's TLS setup"
	}
	// A URL nats.go could not parse comes back whole in its error.
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = fmt.Errorf("%s %s: %w", uerr.Op, RedactURLs(uerr.URL), uerr.Err)
	}
	return fmt.Errorf("mesh: connect %q to %s: %w: %s", cfg.Service, RedactURLs(servers), err, hint)
}

// RedactURLs returns servers, one or several comma-separated NATS URLs,
// with every user, password or token ("nats://user:password@host")
// replaced by "[redacted]", for error messages and logs.
func RedactURLs(servers string) string {
	parts := strings.Split(servers, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		at := strings.LastIndex(p, "@")
		if at < 0 {
			parts[i] = p
			continue
		}
		start := 0 // user info without a scheme: "alice:secret@host:4222"
		if scheme := strings.Index(p, "://"); scheme >= 0 && scheme < at {
			start = scheme + 3
		}
		parts[i] = p[:start] + "[redacted]" + p[at:]
	}
	return strings.Join(parts, ",")
}

// Service is the worker's service name.
func (w *Worker) Service() string { return w.cfg.Service }

// Namespace is the worker's namespace.
func (w *Worker) Namespace() string { return w.cfg.Namespace }

// Conn is the worker's NATS connection, for what the mesh does not wrap.
// Closing it closes the worker's connection under it; use Close instead.
func (w *Worker) Conn() *nats.Conn { return w.nc }

// Logger is the worker's logger, with the attribute service set.
func (w *Worker) Logger() *slog.Logger { return w.log }

func (w *Worker) onDisconnect(nc *nats.Conn, err error) {
	if w.state.Load() != stateOpen {
		return
	}
	w.log.Warn("mesh: disconnected from server; reconnecting", "error", err)
	if w.cfg.OnDisconnect != nil {
		w.cfg.OnDisconnect(err)
	}
}

func (w *Worker) onReconnect(nc *nats.Conn) {
	url := nc.ConnectedUrlRedacted()
	w.log.Info("mesh: reconnected", "server", url)
	if w.cfg.OnReconnect != nil {
		w.cfg.OnReconnect(url)
	}
}

func (w *Worker) onAsyncError(nc *nats.Conn, sub *nats.Subscription, err error) {
	if errors.Is(err, nats.ErrSlowConsumer) && sub != nil {
		w.drops.Slow(sub.Subject)
		return
	}
	w.report(err)
}

// report logs err and passes it to the error hook.
func (w *Worker) report(err error, attrs ...any) {
	w.log.Error(err.Error(), attrs...)
	if w.cfg.OnError != nil {
		w.cfg.OnError(err)
	}
}

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
	w.closeOnce.Do(func() {
		go func() {
			w.closeErr = w.close(ctx)
			close(w.closed)
		}()
	})
	select {
	case <-w.closed:
		return w.closeErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Worker) close(ctx context.Context) error {
	w.state.Store(stateClosing)
	err := w.drain(ctx)
	w.state.Store(stateClosed)
	w.cancelHandler()
	w.drops.Stop()
	switch {
	case err != nil:
		w.mu.Lock()
		closeSchedulers(slices.Collect(maps.Values(w.routes)))
		w.mu.Unlock()
		w.nc.Close()
		return fmt.Errorf("mesh: close %q: %w", w.cfg.Service, err)
	case w.nc.IsClosed():
		return nil // closed for good before, and reported then
	case !w.nc.IsConnected():
		unsent := w.unsent()
		w.nc.Close()
		if unsent != "" {
			return fmt.Errorf("mesh: close %q: the server is unreachable: %s", w.cfg.Service, unsent)
		}
		return nil
	}
	// Ours again, should an option have replaced it.
	w.nc.SetClosedHandler(w.onConnClosed)
	if err := w.nc.Drain(); err != nil {
		w.nc.Close()
		return nil
	}
	select {
	case <-w.connClosed:
		return nil
	case <-ctx.Done():
		w.nc.Close()
		return fmt.Errorf("mesh: close %q: flushing emitted events: %w", w.cfg.Service, ctx.Err())
	}
}

// unsent says what the client still holds and a close without the server
// loses: asynchronous emits not acknowledged and bytes not written; "" when
// nothing.
func (w *Worker) unsent() string {
	var parts []string
	if w.js != nil {
		if n := w.js.PublishAsyncPending(); n > 0 {
			parts = append(parts, fmt.Sprintf("%d asynchronous emits were not acknowledged (they may or may not be stored)", n))
		}
	}
	if n, err := w.nc.Buffered(); err == nil && n > 0 {
		parts = append(parts, fmt.Sprintf("%d bytes of emitted events were never sent", n))
	}
	return strings.Join(parts, "; ")
}

// drain stops every durable handler and subscription after its pending
// events are dispatched, lets the live handlers' queued events run, waits
// for running handlers, then for the acknowledgements of asynchronous
// emits. Without the server, subscriptions are stopped at once and
// acknowledgements are not waited for.
func (w *Worker) drain(ctx context.Context) error {
	w.mu.Lock()
	routes := slices.Collect(maps.Values(w.routes))
	var consumers []*durable.Consumer[*Event]
	for _, d := range w.durables {
		if d.consumer != nil { // else never started (Config.Background)
			consumers = append(consumers, d.consumer)
		}
	}
	w.mu.Unlock()
	for _, c := range consumers {
		if err := c.Stop(ctx, w.nc.IsConnected()); err != nil {
			return err
		}
	}
	for _, r := range routes {
		if err := w.stopSubscription(ctx, r.sub); err != nil {
			return err
		}
	}
	closeSchedulers(routes)
	done := make(chan struct{})
	go func() {
		w.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("waiting for running handlers: %w", ctx.Err())
	}
	if w.js == nil || !w.nc.IsConnected() {
		return nil
	}
	select {
	case <-w.js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for %d asynchronous emits to be stored: %w", w.js.PublishAsyncPending(), ctx.Err())
	}
}

// closeSchedulers closes the schedulers of the live handlers of routes:
// their goroutines end once their queued events have run.
func closeSchedulers(routes []*route) {
	for _, r := range routes {
		for _, b := range *r.handlers.Load() {
			b.sched.Close()
		}
	}
}

// usable returns why the worker takes no new call, or nil.
func (w *Worker) usable() error {
	if err := w.lostErr(); err != nil {
		return err
	}
	if w.state.Load() != stateOpen {
		return ErrClosed
	}
	return nil
}

// bounded returns ctx, bounded by Config.RequestTimeout when it has no
// deadline, for a call that waits for the server.
func (w *Worker) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, w.cfg.RequestTimeout)
}

// stopSubscription drains sub, so that the events the client holds for it
// are dispatched, or unsubscribes it at once when the server is
// unreachable (a drain would wait for the server).
func (w *Worker) stopSubscription(ctx context.Context, sub *nats.Subscription) error {
	if !w.nc.IsConnected() {
		_ = sub.Unsubscribe()
		return nil
	}
	closed := sub.StatusChanged(nats.SubscriptionClosed)
	if err := sub.Drain(); err != nil {
		return nil // already closed
	}
	select {
	case <-closed:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("draining %s: %w", sub.Subject, ctx.Err())
	}
}
