// Package spark is the example messaging and presence service,
// "exprsn-spark".
//
// Every instance tracks who is online from the user:* broadcasts of auth
// (user:login, user:logout) and pushes new posts (post:created) to the
// clients connected to it, so each instance takes every broadcast. It asks
// auth for profiles with a request.
//
// # Presence that expires
//
// A client connected to spark reports its user's status (online, away,
// typing): ReportStatus broadcasts user:status, which every instance takes
// (Status). A status goes stale quickly, so spark emits it with a TTL
// (mesh.TTL, Options.StatusTTL): the event stream drops it after that, and
// a replay or a durable handler that starts later never acts on an old
// status. Live handlers get it at once, as any event.
package spark

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/exprsn/ipcmesh/examples/auth"
	"github.com/exprsn/ipcmesh/examples/timeline"
	"github.com/exprsn/ipcmesh/mesh"
)

// Name is the service name of spark on the mesh.
const Name = "exprsn-spark"

// UserStatus is broadcast by spark with a Status when a user's client
// reports what the user is doing. The event stream keeps it only
// Options.StatusTTL.
const UserStatus = "user:status"

// DefaultStatusTTL is how long the event stream keeps a user:status by
// default.
const DefaultStatusTTL = time.Minute

// MaxStatusLen bounds a status, and MaxUserIDLen its user's ID, in bytes.
const (
	MaxStatusLen = 32
	MaxUserIDLen = 128
)

// Status is the data of user:status. Its userId is that of auth's
// UserEvent, so that spark reads every user:* event as a Status.
type Status struct {
	UserID string `json:"userId"`
	// Status is what the user is doing: "online", "away", "typing"... (1
	// to MaxStatusLen bytes).
	Status string `json:"status,omitempty"`
}

// ErrInvalidStatus is returned for a status without a user, or with an
// empty or over-long status or user ID.
var ErrInvalidStatus = fmt.Errorf("spark: a status needs a user ID of 1 to %d bytes and a status of 1 to %d bytes",
	MaxUserIDLen, MaxStatusLen)

// Options are spark's optional settings. The zero value is Register's.
type Options struct {
	// StatusTTL is how long the event stream keeps each user:status
	// spark emits (at least 1 s; whole seconds). Default:
	// DefaultStatusTTL.
	StatusTTL time.Duration
}

// clientBuffer is how many live posts a slow client may fall behind before
// it misses some.
const clientBuffer = 16

// Service is one instance of spark. Its methods are safe for concurrent
// use.
type Service struct {
	w         *mesh.Worker
	statusTTL time.Duration

	mu      sync.Mutex
	online  map[string]bool
	status  map[string]string // of the users online
	clients map[chan timeline.Post]struct{}
}

// Register makes w track presence and push live posts, and returns the
// service. It returns once the server knows of spark's handlers, waiting
// for it until ctx ends (see auth.Register).
func Register(ctx context.Context, w *mesh.Worker) (*Service, error) {
	return RegisterWith(ctx, w, Options{})
}

// RegisterWith is Register with options.
func RegisterWith(ctx context.Context, w *mesh.Worker, o Options) (*Service, error) {
	s := &Service{w: w, statusTTL: o.StatusTTL, online: map[string]bool{}, status: map[string]string{},
		clients: map[chan timeline.Post]struct{}{}}
	if s.statusTTL == 0 {
		s.statusTTL = DefaultStatusTTL
	}
	// "user:*" matches user:login, user:logout and user:status but not
	// user:profile:updated, which has one segment more.
	if _, err := w.On(ctx, "user:*", mesh.Typed(s.presence)); err != nil {
		return nil, err
	}
	if _, err := w.On(ctx, timeline.PostCreated, mesh.Typed(s.push)); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) presence(_ context.Context, ev *mesh.Event, u Status) error {
	if ev.Type == UserStatus {
		if err := u.check(); err != nil {
			return mesh.Permanent(err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch ev.Type {
	case auth.UserLogin:
		s.online[u.UserID] = true
	case auth.UserLogout:
		delete(s.online, u.UserID)
		delete(s.status, u.UserID)
	case UserStatus:
		s.online[u.UserID] = true
		s.status[u.UserID] = u.Status
	}
	return nil
}

// check refuses a status without a user, or an empty or over-long one.
func (st Status) check() error {
	if st.UserID == "" || len(st.UserID) > MaxUserIDLen || st.Status == "" || len(st.Status) > MaxStatusLen {
		return ErrInvalidStatus
	}
	return nil
}

// ReportStatus broadcasts st as user:status, kept in the event stream for
// Options.StatusTTL only. It fails with ErrInvalidStatus, sending nothing,
// on a bad status.
func (s *Service) ReportStatus(ctx context.Context, st Status) error {
	if err := st.check(); err != nil {
		return err
	}
	return s.w.Emit(ctx, UserStatus, st, mesh.TTL(s.statusTTL))
}

// Status returns the last status reported for a user online, "" if none.
func (s *Service) Status(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status[userID]
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
