// Package auth is the example authentication service, "exprsn-auth".
//
// It answers two requests, session:validate and profile:get, and broadcasts
// what happens to users: user:login, user:logout and user:profile:updated,
// and session:expired at the end of each session not logged out of. Users and sessions live
// in a SQLite database, and each change is written in one transaction with
// its events through a transactional outbox (package outbox): a session
// and its user:login exist together or not at all, and the events reach
// the mesh once it is up, however long it was down. Other services ask it
// with Worker.Request:
//
//	reply, err := w.Request(ctx, auth.Name, auth.ProfileGet, auth.ProfileQuery{UserID: "ana"})
//
// and an unknown user comes back as a *mesh.RemoteError with code 404.
package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/outbox"
)

// Name is the service name of auth on the mesh.
const Name = "exprsn-auth"

// Events and requests of auth.
const (
	// SessionValidate is the request that checks a session token
	// (SessionQuery -> SessionInfo).
	SessionValidate = "session:validate"
	// ProfileGet is the request for a user's profile (ProfileQuery ->
	// Profile, or a 404 RemoteError).
	ProfileGet = "profile:get"
	// UserLogin is broadcast with a UserEvent when a user logs in.
	UserLogin = "user:login"
	// UserLogout is broadcast with a UserEvent when a user logs out.
	UserLogout = "user:logout"
	// UserProfileUpdated is broadcast with the new Profile. Note that the
	// pattern "user:*" does not match it (three segments); "user:>" does.
	UserProfileUpdated = "user:profile:updated"
	// SessionExpired is broadcast with a UserEvent when a session's time
	// is up: scheduled at login (mesh.At) for the session's end, it fires
	// then, also for a session logged out before (after its user:logout).
	SessionExpired = "session:expired"
)

// DefaultSessionTTL is how long a session lasts by default.
const DefaultSessionTTL = 24 * time.Hour

// Profile is a user's public profile.
type Profile struct {
	UserID string `json:"userId"`
	Name   string `json:"name"`
	Bio    string `json:"bio,omitempty"`
}

// ProfileQuery is the data of a profile:get request.
type ProfileQuery struct {
	UserID string `json:"userId"`
}

// SessionQuery is the data of a session:validate request.
type SessionQuery struct {
	Token string `json:"token"`
}

// SessionInfo answers a session:validate request.
type SessionInfo struct {
	Valid  bool   `json:"valid"`
	UserID string `json:"userId,omitempty"`
}

// UserEvent is the data of user:login, user:logout and session:expired.
type UserEvent struct {
	UserID string `json:"userId"`
	// SessionID names the session (not its token, which stays secret).
	SessionID string `json:"sessionId,omitempty"`
}

// Config configures Register.
type Config struct {
	// Database is the path of the SQLite database file that keeps users
	// and sessions, created with its tables if missing. Required.
	Database string
	// Users are created if the database has no user with their ID; a
	// stored profile is kept as it is.
	Users []Profile
	// SessionTTL is how long a session lasts from its login.
	// Default: DefaultSessionTTL (24h).
	SessionTTL time.Duration
	// Outbox configures the outbox and its relay (poll interval,
	// backoff...). Default: the zero outbox.Config, its defaults.
	Outbox outbox.Config
}

// Service is one instance of auth. Its methods are safe for concurrent use.
type Service struct {
	w      *mesh.Worker
	db     *sql.DB
	outbox *outbox.Outbox
	ttl    time.Duration
}

// Register opens auth's database, makes w answer auth's requests from it
// and starts the outbox's relay, which publishes the events of the
// Service's methods with w until Close. It returns once the server knows
// of auth's responders, so that requests sent from then on are answered;
// it waits for the server until ctx ends. It fails without
// cfg.Database, on a database it cannot open, and when the outbox cannot
// be made (outbox.New: w's namespace needs its event stream).
func Register(ctx context.Context, w *mesh.Worker, cfg Config) (*Service, error) {
	if cfg.Database == "" {
		return nil, errors.New("auth: register: no database file given")
	}
	db, err := open(ctx, cfg.Database, cfg.Users)
	if err != nil {
		return nil, err
	}
	o, err := outbox.New(ctx, db, w, cfg.Outbox)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("auth: register: %w", err), db.Close())
	}
	s := &Service{w: w, db: db, outbox: o, ttl: cfg.SessionTTL}
	if s.ttl <= 0 {
		s.ttl = DefaultSessionTTL
	}
	if err := s.respond(ctx); err != nil {
		return nil, errors.Join(err, s.Close(ctx))
	}
	go s.relay()
	return s, nil
}

// respond registers auth's responders.
func (s *Service) respond(ctx context.Context) error {
	if _, err := s.w.OnRequest(ctx, ProfileGet, mesh.TypedResponder(s.profile)); err != nil {
		return err
	}
	_, err := s.w.OnRequest(ctx, SessionValidate, mesh.TypedResponder(s.validate))
	return err
}

// relay runs the outbox's relay until Close, or until the worker is
// closed, which it logs: changes are still stored then, and their events
// published by the next relay.
func (s *Service) relay() {
	if err := s.outbox.Run(context.Background()); err != nil {
		s.w.Logger().Error("auth: the outbox relay stopped; new events wait in the database for the next one", "error", err)
	}
}

// Outbox returns the Service's outbox, for its Stats (the relay's lag,
// pending rows and failures) and metrics (package outbox/outboxprom).
func (s *Service) Outbox() *outbox.Outbox { return s.outbox }

// Close stops the relay, waiting for it until ctx ends, and closes the
// database. Events not yet published stay in the database, for the next
// Service on it. It does not unregister the responders: close the Service
// with its worker, before it.
func (s *Service) Close(ctx context.Context) error {
	return errors.Join(s.outbox.Close(ctx), s.db.Close())
}

// profile answers profile:get.
func (s *Service) profile(ctx context.Context, _ *mesh.Event, q ProfileQuery) (Profile, error) {
	if err := checkUserID(q.UserID); err != nil {
		return Profile{}, mesh.NewRemoteError(400, err.Error())
	}
	p := Profile{UserID: q.UserID}
	err := s.db.QueryRowContext(ctx, "SELECT name, bio FROM users WHERE id = ?", q.UserID).Scan(&p.Name, &p.Bio)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Profile{}, mesh.NewRemoteError(404, fmt.Sprintf("no user %q", q.UserID))
	case err != nil:
		return Profile{}, fmt.Errorf("auth: read profile: %w", err)
	}
	return p, nil
}

// validate answers session:validate. An unknown or expired token is a
// valid answer (Valid false), not an error.
func (s *Service) validate(ctx context.Context, _ *mesh.Event, q SessionQuery) (SessionInfo, error) {
	var user string
	err := s.db.QueryRowContext(ctx, "SELECT user_id FROM sessions WHERE token_hash = ? AND expires_us > ?",
		tokenHash(q.Token), time.Now().UnixMicro()).Scan(&user)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return SessionInfo{}, nil
	case err != nil:
		return SessionInfo{}, fmt.Errorf("auth: validate session: %w", err)
	}
	return SessionInfo{Valid: true, UserID: user}, nil
}
