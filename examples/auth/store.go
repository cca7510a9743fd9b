package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/outbox"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// MaxUserIDLen bounds a user ID, in bytes.
const MaxUserIDLen = 128

// Errors of Service, matched with errors.Is; its methods wrap them in
// "auth: <call>: ..." messages.
var (
	// ErrNoUser is returned by Login for a user ID no user has.
	ErrNoUser = errors.New("no such user")
	// ErrNoSession is returned by Logout for a token of no session, or of
	// an expired one.
	ErrNoSession = errors.New("no such session")
	// ErrInvalidUser is returned for a user ID that is empty or longer
	// than MaxUserIDLen.
	ErrInvalidUser = fmt.Errorf("a user ID has 1 to %d bytes", MaxUserIDLen)
)

// schema creates auth's tables if they do not exist. A session is kept
// by the hash of its token: the database does not hold the tokens
// themselves.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS users (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL,
		bio TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS sessions (
		id TEXT PRIMARY KEY,
		token_hash TEXT NOT NULL UNIQUE,
		user_id TEXT NOT NULL REFERENCES users (id),
		expires_us INTEGER NOT NULL)`,
}

// open opens the database at path, creates its tables and the users
// missing from it.
func open(ctx context.Context, path string, users []Profile) (*sql.DB, error) {
	db, err := sql.Open("sqlite", outbox.SQLiteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("auth: register: database %s: %w", path, err)
	}
	if err := setUp(ctx, db, users); err != nil {
		return nil, errors.Join(fmt.Errorf("auth: register: database %s: %w", path, err), db.Close())
	}
	return db, nil
}

func setUp(ctx context.Context, db *sql.DB, users []Profile) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for _, statement := range schema {
		if _, err := tx.ExecContext(ctx, statement); err != nil {
			return err
		}
	}
	for _, u := range users {
		if err := checkUserID(u.UserID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO users (id, name, bio) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
			u.UserID, u.Name, u.Bio); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// checkUserID refuses an empty or over-long user ID.
func checkUserID(id string) error {
	if id == "" || len(id) > MaxUserIDLen {
		return fmt.Errorf("%w; got %d", ErrInvalidUser, len(id))
	}
	return nil
}

// tokenHash is what the database keeps of a session token.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// write runs f in a transaction and commits it with the outbox, which
// wakes the relay to publish the events f emitted.
func (s *Service) write(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := f(tx); err != nil {
		return err
	}
	return s.outbox.Commit(tx)
}

// Login opens a session for a known user and returns its token. In the
// transaction that stores the session, it emits user:login, and
// session:expired scheduled at the session's end (mesh.At), through the
// outbox: both are stored in the event stream once the transaction
// committed, now when the mesh is up, else once it is back. It fails with
// ErrInvalidUser, ErrNoUser, and on a database error.
func (s *Service) Login(ctx context.Context, userID string) (string, error) {
	if err := checkUserID(userID); err != nil {
		return "", fmt.Errorf("auth: login: %w", err)
	}
	token := rand.Text()
	err := s.write(ctx, func(tx *sql.Tx) error { return s.login(ctx, tx, userID, token, time.Now()) })
	if err != nil {
		return "", fmt.Errorf("auth: login %q: %w", userID, err)
	}
	return token, nil
}

// login stores a session of userID with token in tx, from now on for the
// Service's session TTL, and emits its events. It deletes the expired
// sessions on the way.
func (s *Service) login(ctx context.Context, tx *sql.Tx, userID, token string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE expires_us <= ?", now.UnixMicro()); err != nil {
		return err
	}
	ends := now.Add(s.ttl)
	u := UserEvent{UserID: userID, SessionID: rand.Text()}
	res, err := tx.ExecContext(ctx, "INSERT INTO sessions (id, token_hash, user_id, expires_us) SELECT ?, ?, id, ? FROM users WHERE id = ?",
		u.SessionID, tokenHash(token), ends.UnixMicro(), userID)
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	switch {
	case err != nil:
		return err
	case n == 0:
		return ErrNoUser
	}
	if err := s.outbox.Emit(ctx, tx, UserLogin, u); err != nil {
		return err
	}
	return s.outbox.Emit(ctx, tx, SessionExpired, u, mesh.At(ends), mesh.WithID(expiryID(u.SessionID)))
}

// expiryID is the id of session's session:expired schedule.
func expiryID(session string) string { return SessionExpired + "/" + session }

// Logout closes the session of token and, in the same transaction,
// emits user:logout and cancels the session's session:expired through the
// outbox, so that a session ended by its user never also expires. It
// fails with ErrNoSession for a token of no session, or of an expired one,
// and on a database error.
func (s *Service) Logout(ctx context.Context, token string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var u UserEvent
		err := tx.QueryRowContext(ctx, "DELETE FROM sessions WHERE token_hash = ? AND expires_us > ? RETURNING user_id, id",
			tokenHash(token), time.Now().UnixMicro()).Scan(&u.UserID, &u.SessionID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoSession
		}
		if err != nil {
			return err
		}
		if err := s.outbox.Emit(ctx, tx, UserLogout, u); err != nil {
			return err
		}
		return s.outbox.CancelSchedule(ctx, tx, expiryID(u.SessionID))
	})
	if err != nil {
		return fmt.Errorf("auth: logout: %w", err)
	}
	return nil
}

// UpdateProfile stores p, replacing the profile of the same user or
// creating the user, and, in the same transaction, emits
// user:profile:updated through the outbox. It fails with ErrInvalidUser
// and on a database error.
func (s *Service) UpdateProfile(ctx context.Context, p Profile) error {
	if err := checkUserID(p.UserID); err != nil {
		return fmt.Errorf("auth: update profile: %w", err)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO users (id, name, bio) VALUES (?, ?, ?) "+
			"ON CONFLICT (id) DO UPDATE SET name = excluded.name, bio = excluded.bio", p.UserID, p.Name, p.Bio); err != nil {
			return err
		}
		return s.outbox.Emit(ctx, tx, UserProfileUpdated, p)
	})
	if err != nil {
		return fmt.Errorf("auth: update profile of %q: %w", p.UserID, err)
	}
	return nil
}
