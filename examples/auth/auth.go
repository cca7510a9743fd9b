// Package auth is the example authentication service, "exprsn-auth".
//
// It answers two requests, session:validate and profile:get, and broadcasts
// what happens to users: user:login, user:logout and user:profile:updated.
// Users and sessions live in memory; a real service would keep them in its
// database. Other services ask it with Worker.Request:
//
//	reply, err := w.Request(ctx, auth.Name, auth.ProfileGet, auth.ProfileQuery{UserID: "ana"})
//
// and an unknown user comes back as a *mesh.RemoteError with code 404.
package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"

	"github.com/exprsn/ipcmesh/mesh"
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
)

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

// UserEvent is the data of user:login and user:logout.
type UserEvent struct {
	UserID string `json:"userId"`
}

// Service is one instance of auth. Its methods are safe for concurrent use.
type Service struct {
	w *mesh.Worker

	mu       sync.RWMutex
	users    map[string]Profile
	sessions map[string]string // token -> user ID
}

// Register makes w answer auth's requests for the given users and returns
// the service, whose methods broadcast what happens to them. It returns
// once the server knows of auth's responders, so that requests sent from
// then on are answered; it waits for the server until ctx ends.
func Register(ctx context.Context, w *mesh.Worker, users ...Profile) (*Service, error) {
	s := &Service{w: w, users: map[string]Profile{}, sessions: map[string]string{}}
	for _, u := range users {
		s.users[u.UserID] = u
	}
	if _, err := w.OnRequest(ctx, ProfileGet, mesh.TypedResponder(s.profile)); err != nil {
		return nil, err
	}
	if _, err := w.OnRequest(ctx, SessionValidate, mesh.TypedResponder(s.validate)); err != nil {
		return nil, err
	}
	return s, nil
}

// profile answers profile:get.
func (s *Service) profile(_ context.Context, _ *mesh.Event, q ProfileQuery) (Profile, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.users[q.UserID]
	if !ok {
		return Profile{}, mesh.NewRemoteError(404, fmt.Sprintf("no user %q", q.UserID))
	}
	return p, nil
}

// validate answers session:validate. An unknown token is a valid answer
// (Valid false), not an error.
func (s *Service) validate(_ context.Context, _ *mesh.Event, q SessionQuery) (SessionInfo, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	user, ok := s.sessions[q.Token]
	return SessionInfo{Valid: ok, UserID: user}, nil
}

// Login opens a session for a known user, broadcasts user:login and returns
// the session token.
func (s *Service) Login(ctx context.Context, userID string) (string, error) {
	token := rand.Text()
	s.mu.Lock()
	_, known := s.users[userID]
	if known {
		s.sessions[token] = userID
	}
	s.mu.Unlock()
	if !known {
		return "", fmt.Errorf("auth: login: no user %q", userID)
	}
	return token, s.w.Emit(ctx, UserLogin, UserEvent{UserID: userID})
}

// Logout closes a session and broadcasts user:logout. An unknown token is
// an error.
func (s *Service) Logout(ctx context.Context, token string) error {
	s.mu.Lock()
	userID, ok := s.sessions[token]
	delete(s.sessions, token)
	s.mu.Unlock()
	if !ok {
		return errors.New("auth: logout: no such session")
	}
	return s.w.Emit(ctx, UserLogout, UserEvent{UserID: userID})
}

// UpdateProfile stores p, replacing the profile of the same user, and
// broadcasts user:profile:updated.
func (s *Service) UpdateProfile(ctx context.Context, p Profile) error {
	s.mu.Lock()
	s.users[p.UserID] = p
	s.mu.Unlock()
	return s.w.Emit(ctx, UserProfileUpdated, p)
}
