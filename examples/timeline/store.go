package timeline

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/outbox"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// Errors of Store, matched with errors.Is.
var (
	// ErrPostExists is returned by Store.CreatePost for a post whose ID
	// another post has.
	ErrPostExists = errors.New("timeline: a post with this ID exists")
	// ErrNoPost is returned by Store.Post for an ID no post has.
	ErrNoPost = errors.New("timeline: no such post")
)

// createPosts creates the posts table if it does not exist.
const createPosts = `CREATE TABLE IF NOT EXISTS posts (
	id TEXT PRIMARY KEY,
	author TEXT NOT NULL,
	text TEXT NOT NULL,
	created_us INTEGER NOT NULL)`

// StoreConfig configures OpenStore.
type StoreConfig struct {
	// Database is the path of the SQLite database file, created with its
	// tables if missing. Required.
	Database string
	// Outbox configures the outbox and its relay (poll interval,
	// backoff...). Default: the zero outbox.Config, its defaults.
	Outbox outbox.Config
}

// Store keeps timeline's posts in a SQLite database, and announces each
// post in the transaction that stores it, through a transactional outbox
// (package outbox): the post and its events commit together or not at
// all. The outbox's relay, which the Store runs, stores the committed
// events in the event stream, each once and in commit order, now when the
// mesh is up, and once it is back when it is not: a post created during
// an outage is announced after it, and so is one whose process stopped
// before its events left, by the next Store on the same database. Its
// methods are safe for concurrent use.
type Store struct {
	w      *mesh.Worker
	db     *sql.DB
	outbox *outbox.Outbox
}

// OpenStore opens the posts of w's service in the SQLite database of cfg,
// creating its tables if missing, and starts the outbox's relay, which
// publishes with w until Close. It fails without cfg.Database, on a
// database that cannot be opened, and when the outbox cannot be made
// (outbox.New: w's namespace needs its event stream, so that the stream
// drops the copies of the relay's retries).
func OpenStore(ctx context.Context, w *mesh.Worker, cfg StoreConfig) (*Store, error) {
	if cfg.Database == "" {
		return nil, errors.New("timeline: open store: no database file given")
	}
	db, err := sql.Open("sqlite", outbox.SQLiteDSN(cfg.Database))
	if err != nil {
		return nil, fmt.Errorf("timeline: open store %s: %w", cfg.Database, err)
	}
	if _, err := db.ExecContext(ctx, createPosts); err != nil {
		return nil, errors.Join(fmt.Errorf("timeline: open store %s: create table posts: %w", cfg.Database, err), db.Close())
	}
	o, err := outbox.New(ctx, db, w, cfg.Outbox)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("timeline: open store %s: %w", cfg.Database, err), db.Close())
	}
	s := &Store{w: w, db: db, outbox: o}
	go s.relay()
	return s, nil
}

// relay runs the outbox's relay until Close, or until the worker is
// closed, which it logs: posts are still stored then, and announced by
// the next relay.
func (s *Store) relay() {
	if err := s.outbox.Run(context.Background()); err != nil {
		s.w.Logger().Error("timeline: the outbox relay stopped; new posts wait in the database for the next one", "error", err)
	}
}

// Outbox returns the Store's outbox, for its Stats (the relay's lag,
// pending rows and failures) and metrics (package outbox/outboxprom).
func (s *Store) Outbox() *outbox.Outbox { return s.outbox }

// Close stops the relay, waiting for it until ctx ends, and closes the
// database. Events not yet published stay in the database, for the next
// Store on it. Close the Store before its worker.
func (s *Store) Close(ctx context.Context) error {
	return errors.Join(s.outbox.Close(ctx), s.db.Close())
}

// CreatePost stores p and its announcements (see CreatePost) in one
// transaction, and returns p once it is committed: its events are then in
// the outbox, which the relay empties into the event stream. It gives p an
// ID if it has none. It fails, storing and announcing nothing, with
// ErrInvalidPost, with ErrPostExists, when an event is refused (an event
// over the server's max_payload, mesh.ErrTooLarge), and on a database
// error.
func (s *Store) CreatePost(ctx context.Context, p Post) (Post, error) {
	p, err := newPost(p)
	if err != nil {
		return p, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return p, fmt.Errorf("timeline: create post %s: %w", p.ID, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := s.create(ctx, tx, p); err != nil {
		return p, err
	}
	if err := s.outbox.Commit(tx); err != nil {
		return p, fmt.Errorf("timeline: create post %s: commit: %w", p.ID, err)
	}
	return p, nil
}

// create writes p and its events in tx. The events come last: on
// PostgreSQL, outbox.Emit makes the service's emitting transactions wait
// for each other from there on.
func (s *Store) create(ctx context.Context, tx *sql.Tx, p Post) error {
	res, err := tx.ExecContext(ctx, "INSERT INTO posts (id, author, text, created_us) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
		p.ID, p.Author, p.Text, time.Now().UnixMicro())
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	switch {
	case err != nil:
		return fmt.Errorf("timeline: create post %s: %w", p.ID, err)
	case n == 0:
		return fmt.Errorf("%w: %s", ErrPostExists, p.ID)
	}
	for _, a := range announcements(p) {
		if err := s.outbox.Emit(ctx, tx, a.event, a.data, a.opts...); err != nil {
			return fmt.Errorf("timeline: create post %s: %w", p.ID, err)
		}
	}
	return nil
}

// Post returns the stored post with id, or ErrNoPost.
func (s *Store) Post(ctx context.Context, id string) (Post, error) {
	if len(id) > MaxIDLen {
		return Post{}, fmt.Errorf("%w: an ID of %d bytes, at most %d", ErrNoPost, len(id), MaxIDLen)
	}
	p := Post{ID: id}
	err := s.db.QueryRowContext(ctx, "SELECT author, text FROM posts WHERE id = ?", id).Scan(&p.Author, &p.Text)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Post{}, fmt.Errorf("%w: %s", ErrNoPost, id)
	case err != nil:
		return Post{}, fmt.Errorf("timeline: read post: %w", err)
	}
	return p, nil
}
