package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exprsn/ipcmesh/internal/headers"
	"github.com/exprsn/ipcmesh/mesh"
)

// Defaults used for zero Config fields.
const (
	DefaultTable          = "mesh_outbox"
	DefaultPollInterval   = time.Second
	DefaultBatchSize      = 100
	DefaultPublishTimeout = 5 * time.Second
	DefaultMinBackoff     = 100 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
	DefaultLeaseTTL       = 15 * time.Second
)

// Errors, matched with errors.Is; the outbox's errors wrap them in
// "outbox: <call>: ..." messages.
var (
	// ErrClosed is returned by Emit and Run after Close.
	ErrClosed = errors.New("outbox is closed")
	// ErrNilTx is returned by Emit and Commit given a nil transaction.
	ErrNilTx = errors.New("nil transaction: emit within the transaction that writes the data")
	// ErrTableName is returned by New for a Config.Table that is not a
	// plain lowercase SQL identifier.
	ErrTableName = errors.New("invalid outbox table name")
	// ErrDialect is returned by New when the dialect is not set and the
	// database's driver is not one it recognizes.
	ErrDialect = errors.New("unknown SQL dialect")
	// ErrNoStream is returned by New when the worker's namespace has no
	// event stream: only the stream drops the copies a relay's retries
	// publish.
	ErrNoStream = errors.New("the namespace has no event stream (create it with streams.Ensure or mesh.Config.Stream.Manage)")
	// ErrRunning is returned by Run while another Run of the same Outbox
	// runs.
	ErrRunning = errors.New("relay already running")
)

// Config configures an Outbox. The zero value of every field means its
// default.
type Config struct {
	// Table names the outbox table, created by New if missing, with
	// Table+"_lease" for the relays' lease; on PostgreSQL it is also the
	// LISTEN/NOTIFY channel. Lowercase letters, digits and '_', at most
	// MaxTableLen bytes. Default: DefaultTable ("mesh_outbox").
	Table string

	// Dialect is the database's SQL dialect. Default: Detect, from the
	// driver of the *sql.DB.
	Dialect Dialect

	// PollInterval is the longest the relay waits before looking for
	// committed rows when nothing wakes it (Notify, Commit, or a
	// PostgreSQL notification), and how often a standby relay tries to
	// take the lease. Default: DefaultPollInterval (1s).
	PollInterval time.Duration

	// BatchSize is how many rows the relay reads at once.
	// Default: DefaultBatchSize (100).
	BatchSize int

	// PublishTimeout bounds one publish, retries included, before the
	// relay backs off and tries the row again. Default:
	// DefaultPublishTimeout (5s).
	PublishTimeout time.Duration

	// MinBackoff and MaxBackoff bound the relay's pause after a failure:
	// it doubles from MinBackoff up to MaxBackoff, each pause drawn at
	// random between half and all of it. Defaults: DefaultMinBackoff
	// (100ms) and DefaultMaxBackoff (30s).
	MinBackoff, MaxBackoff time.Duration

	// LeaseTTL is how long a relay holds its service's lease without
	// renewing it (it renews every LeaseTTL/3 while it runs); a relay that
	// stopped without releasing it is replaced after at most LeaseTTL. A
	// lease expiring more than LeaseTTL + 1 minute ahead of a relay's
	// clock is taken over at once (see the package doc, "Several relays").
	// Default: DefaultLeaseTTL (15s).
	LeaseTTL time.Duration

	// Logger receives the relay's logs. Default: the worker's logger.
	Logger *slog.Logger
}

func (c Config) withDefaults(w *mesh.Worker) Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Table == "" {
		c.Table = DefaultTable
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	def(&c.PollInterval, DefaultPollInterval)
	def(&c.PublishTimeout, DefaultPublishTimeout)
	def(&c.MinBackoff, DefaultMinBackoff)
	def(&c.MaxBackoff, DefaultMaxBackoff)
	def(&c.LeaseTTL, DefaultLeaseTTL)
	c.MaxBackoff = max(c.MaxBackoff, c.MinBackoff)
	if c.Logger == nil {
		c.Logger = w.Logger()
	}
	c.Logger = c.Logger.With("outbox", c.Table)
	return c
}

// Outbox writes events in the application's transactions and relays the
// committed ones to the mesh. All its methods are safe for concurrent use.
type Outbox struct {
	db     *sql.DB
	w      *mesh.Worker
	cfg    Config
	q      queries
	wake   chan struct{} // a buffered wake-up for the relay
	stats  stats
	closed atomic.Bool

	mu      sync.Mutex
	stop    chan struct{} // closed by Close
	running chan struct{} // closed when the running relay returns; nil when none runs

	// unexport removes the relay's stats from the worker's stats answers.
	unexport func()

	// afterPublish, set by tests, is called after a row is stored in the
	// stream and before it is deleted.
	afterPublish func(id int64)
}

// New returns the outbox of w's service in db, creating its tables if
// they do not exist. It fails on an invalid Config.Table, an unknown
// dialect, a worker whose namespace has no event stream (it waits for a
// Background worker to be ready until ctx ends), or a database that
// refuses the tables, or a worker that exports 16 stats already: until
// Close, its Stats are in the worker's answers to stats requests, as
// InstanceStats.Extra["outbox:"+Config.Table] (see mesh.Worker.ExportStats).
// The relay does not run until Run.
func New(ctx context.Context, db *sql.DB, w *mesh.Worker, cfg Config) (*Outbox, error) {
	cfg = cfg.withDefaults(w)
	if err := validTable(cfg.Table); err != nil {
		return nil, fmt.Errorf("outbox: new: %w", err)
	}
	if cfg.Dialect == Detect {
		d, err := detect(db)
		if err != nil {
			return nil, fmt.Errorf("outbox: new: %w", err)
		}
		cfg.Dialect = d
	}
	if err := w.Ready(ctx); err != nil {
		return nil, fmt.Errorf("outbox: new: %w", err)
	}
	if !w.Durable() {
		return nil, fmt.Errorf("outbox: new: %w", ErrNoStream)
	}
	o := &Outbox{db: db, w: w, cfg: cfg, q: newQueries(cfg.Dialect, cfg.Table), wake: make(chan struct{}, 1), stop: make(chan struct{})}
	if err := o.create(ctx); err != nil {
		return nil, fmt.Errorf("outbox: new: create table %s (%s): %w", cfg.Table, cfg.Dialect, err)
	}
	unexport, err := w.ExportStats("outbox:"+cfg.Table, func() any { return o.Stats() })
	if err != nil {
		return nil, fmt.Errorf("outbox: new: %w", err)
	}
	o.unexport = unexport
	return o, nil
}

// create creates the tables in one transaction.
func (o *Outbox) create(ctx context.Context) error {
	tx, err := o.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	statements := o.q.create
	if o.q.ddlLock != "" {
		statements = append([]string{o.q.ddlLock}, statements...)
	}
	for _, s := range statements {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Emit writes event with data and opts, encoded as the worker's Emit
// would send it, into tx: the relay publishes it once tx commits, and
// never if it rolls back. It returns without writing anything, leaving tx
// to the caller, for a nil tx (ErrNilTx), after Close (ErrClosed), and
// for what Emit refuses (invalid names, data that does not marshal,
// mesh.ErrTooLarge).
//
// On PostgreSQL, Emit holds a lock of the service's until tx ends, so that
// the service's events are relayed in commit order: transactions of one
// service that emit wait for each other from their Emit to their end.
// Call it last, just before Commit, to keep that short; and see Commit.
func (o *Outbox) Emit(ctx context.Context, tx *sql.Tx, event string, data any, opts ...mesh.EmitOption) error {
	if tx == nil {
		return fmt.Errorf("outbox: emit %q: %w", event, ErrNilTx)
	}
	if o.closed.Load() {
		return fmt.Errorf("outbox: emit %q: %w", event, ErrClosed)
	}
	e, err := o.w.Encode(ctx, event, data, opts...)
	if err != nil {
		return fmt.Errorf("outbox: emit %q: %w", event, err)
	}
	header, err := json.Marshal(e.Header)
	if err != nil {
		return fmt.Errorf("outbox: emit %q (id %s): headers: %w", event, shortID(e.ID), err)
	}
	if _, err := tx.ExecContext(ctx, o.q.insert, o.insertArgs(e, string(header))...); err != nil {
		return fmt.Errorf("outbox: emit %q (id %s): write the row in table %s: %w", event, shortID(e.ID), o.cfg.Table, err)
	}
	return nil
}

// CancelSchedule writes into tx the cancellation of the scheduled event
// this service emitted with id (mesh.WithID, or the Receipt's ID): once tx
// commits, the relay cancels the schedule (Worker.CancelSchedule), in
// commit order with the service's events, so that a schedule emitted
// through the outbox is published before a later transaction's
// cancellation of it is carried out, and a schedule the relay has not yet
// published is cancelled all the same. Nothing is cancelled if tx rolls
// back. A schedule the relay does not find (fired, cancelled already, or
// never emitted) counts as cancelled. It fails, writing nothing, for a nil
// tx (ErrNilTx), after Close (ErrClosed), and for an empty id. Like Emit,
// it holds the service's lock on PostgreSQL until tx ends.
func (o *Outbox) CancelSchedule(ctx context.Context, tx *sql.Tx, id string) error {
	switch {
	case tx == nil:
		return fmt.Errorf("outbox: cancel schedule %q: %w", shortID(id), ErrNilTx)
	case o.closed.Load():
		return fmt.Errorf("outbox: cancel schedule %q: %w", shortID(id), ErrClosed)
	case id == "":
		return errors.New("outbox: cancel schedule: empty id")
	}
	// A row without a subject is a cancellation (see relay.cancel).
	c := mesh.Encoded{ID: id}
	if _, err := tx.ExecContext(ctx, o.q.insert, o.insertArgs(c, "{}")...); err != nil {
		return fmt.Errorf("outbox: cancel schedule %q: write the row in table %s: %w", shortID(id), o.cfg.Table, err)
	}
	return nil
}

// shortID is id cut for an error message: an id can be as long as an
// event may be.
func shortID(id string) string { return headers.Truncate(id, 256) }

// insertArgs are the arguments of the dialect's insert statement.
func (o *Outbox) insertArgs(e mesh.Encoded, header string) []any {
	data := e.Data
	if data == nil {
		data = []byte{}
	}
	source := o.w.Service()
	row := []any{source, e.ID, e.Event, e.Subject, header, data, time.Now().UnixMicro()}
	if o.cfg.Dialect != PostgreSQL {
		return row
	}
	args := append([]any{o.cfg.Table, source}, row...)
	return append(args, o.cfg.Table, source)
}

// Notify wakes the relay to publish what was committed, instead of
// waiting up to PollInterval. Call it after committing a transaction that
// emitted; it never blocks. Commit does it for you.
func (o *Outbox) Notify() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Commit commits tx and, if it committed, calls Notify.
func (o *Outbox) Commit(tx *sql.Tx) error {
	if tx == nil {
		return fmt.Errorf("outbox: commit: %w", ErrNilTx)
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	o.Notify()
	return nil
}

// Run runs the relay until ctx ends (it returns ctx's error) or Close (it
// returns nil): it publishes the service's committed events in commit
// order, each with its duplicate key, deletes each row after the stream
// stored it, and retries failures with backoff. Only one relay among the
// service's instances publishes at a time (the one holding the lease);
// the others wait to take over. Run fails at once after Close
// (ErrClosed) or while another Run of this Outbox runs (ErrRunning), and
// returns an error when a publish finds the worker closed.
func (o *Outbox) Run(ctx context.Context) error {
	o.mu.Lock()
	if o.closed.Load() {
		o.mu.Unlock()
		return fmt.Errorf("outbox: run: %w", ErrClosed)
	}
	if o.running != nil {
		o.mu.Unlock()
		return fmt.Errorf("outbox: run: %w", ErrRunning)
	}
	done := make(chan struct{})
	o.running = done
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		o.running = nil
		close(done)
		o.mu.Unlock()
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-o.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := newRelay(o).run(ctx)
	if o.closed.Load() && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Close stops Emit (ErrClosed) and the relay, and waits until the relay
// has stopped, or until ctx ends. Rows not yet published stay in the
// table for the next relay; its stats leave the worker's stats answers.
// It does not close the database or the worker.
// Calling it again does nothing more.
func (o *Outbox) Close(ctx context.Context) error {
	o.mu.Lock()
	if !o.closed.Swap(true) {
		close(o.stop)
		o.unexport()
	}
	running := o.running
	o.mu.Unlock()
	if running == nil {
		return nil
	}
	select {
	case <-running:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("outbox: close: the relay did not stop: %w", ctx.Err())
	}
}
