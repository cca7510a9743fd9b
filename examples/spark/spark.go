// Package spark is the example messaging and presence service,
// "exprsn-spark".
//
// Every instance tracks who is online from the user:* broadcasts of auth
// (user:login, user:logout) and pushes new posts (post:created) to the
// clients connected to it, so each instance takes every broadcast. It asks
// auth for profiles with a request.
package spark

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/exprsn/ipcmesh/examples/auth"
	"github.com/exprsn/ipcmesh/examples/timeline"
	"github.com/exprsn/ipcmesh/mesh"
)

// Name is the service name of spark on the mesh.
const Name = "exprsn-spark"

// clientBuffer is how many live posts a slow client may fall behind before
// it misses some.
const clientBuffer = 16

// Service is one instance of spark. Its methods are safe for concurrent
// use.
type Service struct {
	w *mesh.Worker

	mu      sync.Mutex
	online  map[string]bool
	clients map[chan timeline.Post]struct{}
}

// Register makes w track presence and push live posts, and returns the
// service. It returns once the server knows of spark's handlers, waiting
// for it until ctx ends (see auth.Register).
func Register(ctx context.Context, w *mesh.Worker) (*Service, error) {
	s := &Service{w: w, online: map[string]bool{}, clients: map[chan timeline.Post]struct{}{}}
	// "user:*" matches user:login and user:logout but not
	// user:profile:updated, which has one segment more.
	if _, err := w.On(ctx, "user:*", mesh.Typed(s.presence)); err != nil {
		return nil, err
	}
	if _, err := w.On(ctx, timeline.PostCreated, mesh.Typed(s.push)); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) presence(_ context.Context, ev *mesh.Event, u auth.UserEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch ev.Type {
	case auth.UserLogin:
		s.online[u.UserID] = true
	case auth.UserLogout:
		delete(s.online, u.UserID)
	}
	return nil
}

// push sends p to every connected client without waiting: a client whose
// buffer is full misses it.
func (s *Service) push(_ context.Context, _ *mesh.Event, p timeline.Post) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.clients {
		select {
		case c <- p:
		default:
		}
	}
	return nil
}

// ConnectClient connects a client to the live posts, as a WebSocket
// connection would. The client receives the posts created from now on
// until disconnect is called; then the channel is closed.
func (s *Service) ConnectClient() (posts <-chan timeline.Post, disconnect func()) {
	c := make(chan timeline.Post, clientBuffer)
	s.mu.Lock()
	s.clients[c] = struct{}{}
	s.mu.Unlock()
	var once sync.Once
	return c, func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.clients, c)
			s.mu.Unlock()
			close(c)
		})
	}
}

// Online returns the users online, sorted.
func (s *Service) Online() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.online))
}

// Profile asks auth for a user's profile. An unknown user is a
// *mesh.RemoteError with code 404; no auth running is mesh.ErrNoResponders.
func (s *Service) Profile(ctx context.Context, userID string) (auth.Profile, error) {
	reply, err := s.w.Request(ctx, auth.Name, auth.ProfileGet, auth.ProfileQuery{UserID: userID})
	if err != nil {
		return auth.Profile{}, fmt.Errorf("spark: profile of %q: %w", userID, err)
	}
	var p auth.Profile
	err = reply.Decode(&p)
	return p, err
}
