// Package outbox is a transactional outbox for the mesh: an event is
// written in the same database/sql transaction as the data it announces,
// and a relay publishes it to the namespace's event stream once the
// transaction has committed. A service that writes and then emits loses
// the event when the emit fails after the commit, or when the process dies
// between the two; with the outbox, the event exists if and only if the
// data does.
//
//	o, err := outbox.New(ctx, db, w, outbox.Config{}) // creates table mesh_outbox if missing
//	go o.Run(ctx)                                      // the relay
//
//	tx, err := db.BeginTx(ctx, nil)
//	_, err = tx.ExecContext(ctx, "INSERT INTO orders ...")
//	err = o.Emit(ctx, tx, "order:placed", order, mesh.To("exprsn-herald"))
//	err = o.Commit(tx) // tx.Commit, then wake the relay
//
// Emit takes Worker.Emit's options and encodes the event at once
// (mesh.Worker.Encode): whatever Emit would refuse is refused there,
// before any row is written (save a schedule or TTL the server cannot
// honour: see Limits), and the transaction stays the caller's to roll
// back. The row holds the encoded message: subject, headers (as
// JSON) with the stream's duplicate key Nats-Msg-Id, derived from the
// service and the event's id, and body.
//
// # Databases
//
// SQLite (modernc.org/sqlite, driver "sqlite", pure Go) and PostgreSQL
// (github.com/jackc/pgx/v5/stdlib, driver "pgx"); the dialect is found from
// the driver (Config.Dialect overrides it). The application opens the
// *sql.DB and imports the driver, so that a PostgreSQL service does not
// build SQLite. Open SQLite with WAL, a busy timeout and immediate
// transactions, since the relay writes the same file; SQLiteDSN gives them:
//
//	db, err := sql.Open("sqlite", outbox.SQLiteDSN("app.db"))
//	// file:app.db?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate
//
// New creates Config.Table (default "mesh_outbox") and Table+"_lease" if
// they do not exist; the name goes into SQL, so only lowercase letters,
// digits and '_' are accepted.
//
// # Order
//
// The relay publishes a service's events in commit order, one at a time,
// each after the stream acknowledged the one before: the stream's sequence
// order is the commit order. Rows are read by id; for ids to follow commit
// order, transactions of one service must not interleave between their
// Emit and their commit. SQLite has one writer at a time, so they never
// do. On PostgreSQL, Emit takes a transaction-scoped advisory lock of the
// service's (pg_advisory_xact_lock), held until the transaction ends:
// emitting transactions of one service wait for each other from their
// Emit on. Emit last, just before Commit, to keep that wait to the commit
// itself; a transaction that emits and then waits for a row lock another
// emitting transaction holds is a deadlock, which PostgreSQL detects by
// aborting one of them. (Ordering by transaction id or by snapshot would
// spare the lock, but gives insert order, not commit order: a transaction
// that inserted first and committed last would have its event published
// before the one its data overwrote.)
//
// # Delivery: each event stored once
//
// The relay deletes a row after the stream stored its event, so a relay
// that stops (cancelled, killed, its database or NATS gone) between the
// two leaves the row, and the next relay publishes it again with the same
// duplicate key: within the stream's duplicate window (streams.Config's
// DuplicateWindow, 2 minutes by default) the stream drops the copy
// (Stats.Duplicates counts them). Past it, that is when a relay stopped
// after a publish and its row was published again more than the window
// later, the stream stores the event a second time, with the same
// CloudEvents id: durable handlers behind the idempotency guard skip it.
// Keep Stats.Lag well under the window, or widen the window, to rule that
// out. Within one Run, the relay remembers what it published and never
// publishes a row twice itself, even when its deletes fail for a while.
//
// # Failures
//
// A publish not acknowledged within Config.PublishTimeout (the server
// down, the stream unavailable) or a database error ends the relay's
// round: the rows stay, and the relay tries again after a backoff that
// doubles from Config.MinBackoff to Config.MaxBackoff, each pause drawn at
// random in its upper half, so that relays recovering together do not
// retry in step. A failing row is retried forever and holds back the
// service's later events, since order matters more than progress; Stats
// (Failures, LastError, Pending, Lag) shows it. Run returns only when its
// context ends, after Close, or when a publish finds the worker closed.
//
// # Several relays
//
// Run the relay in every instance of the service: one at a time publishes,
// the one holding the service's lease, a row in Table+"_lease" renewed
// every Config.LeaseTTL/3; the others try to take it every PollInterval
// (or LeaseTTL/3, if sooner) and take it over when it is released (Run
// releases it when it returns) or has expired (its relay died: after at
// most LeaseTTL). A lease rather than rows claimed with FOR UPDATE SKIP
// LOCKED: rows claimed by several relays are published in parallel, out
// of order; one publisher per service keeps commit order, works the same
// on SQLite, and needs no transaction held open across a publish. A relay
// that lost its lease without knowing it (a long pause, clocks that
// disagree) publishes the same rows in the same order as its successor,
// one acknowledged publish at a time each, so the stream still holds each
// event once and in order; it notices at its next renewal.
//
// A lease expiring further ahead than LeaseTTL plus a minute (an allowance
// for clock skew) of a relay's clock is no relay's as it stands: a row
// edited by hand, or written by a relay whose clock is far ahead. Waited
// out, it would stop every relay until then with nothing reported; a
// relay that has seen it unchanged for a LeaseTTL of its own clock takes
// it over instead, saying so in Stats.LastError and a warning. A far
// lease that keeps changing is a live relay's whose clock is ahead, and
// is left to it, so that relays whose clocks are apart do not take the
// lease from each other at every renewal.
// A relay not holding the lease watches the pending rows: when the oldest
// stays unpublished for 3 LeaseTTLs while another relay holds the lease
// (stuck, or failing on a row), it sets Stats.Stalled, names the holder
// in Stats.LeaseHolder, and says so in LastError and a warning, so that a
// growing Lag has a cause on every instance, not only the leader's.
//
// # Latency
//
// The relay looks for rows every Config.PollInterval (1 s by default), and
// sooner when woken: Commit (or Notify after a tx.Commit) wakes it in the
// process; on PostgreSQL with pgx, Emit also sends a NOTIFY in the
// transaction, which PostgreSQL delivers at commit, and the relay LISTENs
// on a connection of the pool it keeps for itself, so commits in other
// processes wake it too. Polling stays as the fallback while that
// connection is down, and is all there is with other drivers and with a
// pool of one connection (sql.DB.SetMaxOpenConns(1)), which the listener
// would take from the relay.
//
// # Schedules and TTLs
//
// Emit takes the options that schedule an event (mesh.At, After, Every,
// Cron) or bound its stay in the stream (mesh.TTL): the row holds the
// schedule message, which the relay stores in the schedule stream as it
// stores any event, and the server fires it at its time; a time already
// past when the relay publishes fires at once. After counts from the Emit,
// not from the commit or the publish. CancelSchedule cancels such a
// schedule in a transaction, by the id it was emitted with (mesh.WithID):
// the relay carries it out in commit order, after the schedule's own row
// if that is still waiting, so it never comes too early;
// Worker.CancelSchedule finds the schedule only once the relay has
// published it.
//
// # Stats
//
// Stats is a snapshot without I/O: pending rows, lag, published,
// duplicates, cancellations, failures with the last error (cut to 2 KiB:
// a row's id or subject may be of any size), publish latency, and the
// lease as a standby sees it (LeaseHolder, Stalled). Package
// outbox/outboxprom exports it to Prometheus.
//
// # Limits
//
// Emit encodes with mesh.Worker.Encode, which calls the worker's
// Config.OnSend hook as a direct emit does: a signing.Signer signs the
// event at Emit, and the signature is stored in the row. Encode refuses a
// schedule or TTL the server or the namespace's streams cannot honour
// (mesh.ErrUnsupported), so no such row is written. The relay's Stats are
// not in the worker's stats reply (meshctl serve's /api/ipc/stats): export
// them with outboxprom or an endpoint of your own.
package outbox
