// Package conn is a worker's NATS connection and its life: connecting, with
// a hint for what fails; the client's connection events; whether the
// worker is open, closing or closed, ready (connected, its streams opened)
// or lost for good; and Close, which stops what uses the connection, then
// flushes and closes it.
//
// A worker connecting in the background (Config.Background) is not ready
// when Dial returns: once the client connects, Open is tried until it
// succeeds, then Opened makes the worker ready (MarkReady).
package conn

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// Config is how a worker connects and whom its connection's events reach.
type Config struct {
	Service string
	Servers []string
	// Timeout bounds Dial and the setup after it when ctx has no sooner
	// deadline; ReconnectWait is the pause between reconnect attempts.
	Timeout, ReconnectWait time.Duration
	Background             bool
	// InboxPrefix is the prefix of the worker's reply subjects, "" for the
	// shared one.
	InboxPrefix string
	// Options are passed to nats.Connect after the worker's own.
	Options []nats.Option
	Log     *slog.Logger
	// Report receives the errors the worker reports but cannot return;
	// Slow is told of a slow consumer on a subject.
	Report func(error)
	Slow   func(subject string)
	// OnDisconnect and OnReconnect, if set, are the worker's hooks.
	OnDisconnect func(error)
	OnReconnect  func(url string)
	// Lost is the error a connection closed for good wraps, Closed that
	// of a call after Close, Disconnected that of a worker not connected.
	Lost, Closed, Disconnected error
	// Connected is called once the client is connected, before the
	// server answers, for the subscriptions of the worker's lifetime.
	Connected func(nc *nats.Conn) error
	// Open opens the streams; Opened, once they are, makes the worker
	// ready (see MarkReady) and logs it at level. Halt ends a background
	// setup.
	Open   func(ctx context.Context, nc *nats.Conn) error
	Opened func(ctx context.Context, level slog.Level)
	Halt   context.Context
}

// The states of a worker.
const (
	Open    int32 = iota // taking calls
	Closing              // no new subscriptions
	Closed               // no emits either
)

// Conn is a worker's connection. NC is set by a Dial that succeeded.
type Conn struct {
	NC  *nats.Conn
	cfg Config

	state atomic.Int32
	// lost is the error of a connection the client closed for good while
	// the worker was open; connClosed is closed when the connection is
	// closed, for good or by Close.
	lost       atomic.Pointer[error]
	connClosed chan struct{}
	// ready is closed, and readyNow set, once the worker is ready;
	// setupErr is the last failure to open its streams in the background.
	ready    chan struct{}
	readyNow atomic.Bool
	setupErr atomic.Pointer[error]

	closeOnce sync.Once
	closeErr  error
	closed    chan struct{} // closed when Close is done
}

// Dial connects to cfg.Servers, then waits for the server to answer and
// opens the streams (see Config), all within ctx's deadline or
// cfg.Timeout, whichever comes first. With cfg.Background it returns once
// connecting started. On failure the connection is closed.
func (c *Conn) Dial(ctx context.Context, cfg Config) error {
	c.cfg = cfg
	c.connClosed, c.ready, c.closed = make(chan struct{}), make(chan struct{}), make(chan struct{})
	timeout := cfg.Timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return fmt.Errorf("mesh: connect %s: %w", cfg.Service, context.DeadlineExceeded)
	}
	servers := strings.Join(cfg.Servers, ",")
	nc, err := nats.Connect(servers, c.options(timeout)...)
	if err != nil {
		return connectError(cfg.Service, servers, err)
	}
	c.NC = nc
	if err := cfg.Connected(nc); err != nil {
		c.abort()
		return err
	}
	if cfg.Background {
		return nil // onConnected makes it ready
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := nc.FlushWithContext(ctx); err != nil {
		c.abort()
		return fmt.Errorf("mesh: connect %q to %s: the server did not answer: %w", cfg.Service, RedactURLs(servers), err)
	}
	if err := cfg.Open(ctx, nc); err != nil {
		c.abort()
		return err
	}
	cfg.Opened(ctx, slog.LevelDebug)
	return nil
}

// options are the client's options: the worker's, then Config.Options.
func (c *Conn) options(timeout time.Duration) []nats.Option {
	opts := []nats.Option{
		nats.Name(c.cfg.Service),
		nats.Timeout(timeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(c.cfg.ReconnectWait),
		nats.DisconnectErrHandler(c.onDisconnect),
		nats.ReconnectHandler(c.onReconnect),
		nats.ErrorHandler(c.onAsyncError),
		nats.ClosedHandler(c.onClosed),
	}
	if c.cfg.Background {
		opts = append(opts, nats.RetryOnFailedConnect(true), nats.ConnectHandler(c.onConnected))
	}
	if c.cfg.InboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(c.cfg.InboxPrefix))
	}
	return append(opts, c.cfg.Options...)
}

// abort closes the connection of a worker whose Dial failed.
func (c *Conn) abort() {
	c.state.Store(Closed)
	c.NC.Close()
}

func connectError(service, servers string, err error) error {
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
	return fmt.Errorf("mesh: connect %q to %s: %w: %s", service, RedactURLs(servers), err, hint)
}

// RedactURLs returns servers, one or several comma-separated NATS URLs,
// with every user, password or token replaced by "[redacted]".
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

// State is the worker's state: Open, Closing or Closed.
func (c *Conn) State() int32 { return c.state.Load() }

// Lost returns the error of a connection closed for good, or nil.
func (c *Conn) Lost() error {
	if p := c.lost.Load(); p != nil {
		return *p
	}
	return nil
}

// Usable returns why the worker takes no new call, or nil: its connection
// lost for good, or Close called.
func (c *Conn) Usable() error {
	if err := c.Lost(); err != nil {
		return err
	}
	if c.state.Load() != Open {
		return c.cfg.Closed
	}
	return nil
}

// Sendable returns why the worker sends nothing now, or nil: ctx done, its
// connection lost for good, the worker closed, or not ready yet, unless
// buffered (the client buffers what is sent before it connects).
func (c *Conn) Sendable(ctx context.Context, buffered bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.Lost(); err != nil {
		return err
	}
	if c.state.Load() == Closed {
		return c.cfg.Closed
	}
	if !buffered && !c.readyNow.Load() {
		return fmt.Errorf("%w: not connected yet (see Worker.Ready)", c.cfg.Disconnected)
	}
	return nil
}

// Healthy returns nil while the worker is connected and serving, or why
// it is not: closed, lost for good, or disconnected and reconnecting.
func (c *Conn) Healthy() error {
	if c.state.Load() == Closed {
		return fmt.Errorf("mesh: %q: %w", c.cfg.Service, c.cfg.Closed)
	}
	if err := c.Lost(); err != nil {
		return err
	}
	if !c.NC.IsConnected() {
		return fmt.Errorf("mesh: %q: %w", c.cfg.Service, c.cfg.Disconnected)
	}
	return nil
}

func (c *Conn) onDisconnect(_ *nats.Conn, err error) {
	if c.state.Load() != Open {
		return
	}
	c.cfg.Log.Warn("mesh: disconnected from server; reconnecting", "error", err)
	if c.cfg.OnDisconnect != nil {
		c.cfg.OnDisconnect(err)
	}
}

func (c *Conn) onReconnect(nc *nats.Conn) {
	url := nc.ConnectedUrlRedacted()
	c.cfg.Log.Info("mesh: reconnected", "server", url)
	if c.cfg.OnReconnect != nil {
		c.cfg.OnReconnect(url)
	}
}

func (c *Conn) onAsyncError(_ *nats.Conn, sub *nats.Subscription, err error) {
	if errors.Is(err, nats.ErrSlowConsumer) && sub != nil {
		c.cfg.Slow(sub.Subject)
		return
	}
	c.cfg.Report(err)
}

// onClosed is the client's closed handler. A connection closed while the
// worker is open was closed by the client for good: that is recorded for
// Lost, and reported.
func (c *Conn) onClosed(nc *nats.Conn) {
	defer close(c.connClosed)
	if c.state.Load() != Open {
		return
	}
	err := fmt.Errorf("mesh: %q: %w: %v; the worker handles no more events: close it and connect again", c.cfg.Service, c.cfg.Lost, nc.LastError())
	c.lost.Store(&err)
	c.cfg.Report(err)
}
