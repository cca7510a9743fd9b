package testutil

import (
	"testing"

	"github.com/exprsn/ipcmesh/internal/embedded"
	"github.com/nats-io/nats-server/v2/server"
)

// Server is an embedded nats-server with JetStream, listening on a random
// loopback port. It is shut down by the test's Cleanup.
type Server struct {
	// NATS is the embedded server, for tests that need to inspect or stop it.
	NATS *server.Server
	// StoreDir is the JetStream store directory (inside t.TempDir()).
	StoreDir string

	opts server.Options
}

// ServerOption changes the embedded server's options before it starts.
type ServerOption func(*server.Options)

// WithMaxPayload sets the server's maximum message payload in bytes
// (default: nats-server's own default, 1 MiB).
func WithMaxPayload(n int32) ServerOption {
	return func(o *server.Options) { o.MaxPayload = n }
}

// WithoutJetStream starts the server without JetStream, as a plain
// nats-server would run: workers then use live delivery only.
func WithoutJetStream() ServerOption {
	return func(o *server.Options) { o.JetStream = false }
}

// StartServer starts an embedded nats-server with JetStream enabled on a
// random loopback port, with its store in t.TempDir(), and registers its
// shutdown with t.Cleanup. It fails the test if the server is not ready
// within 20 seconds.
func StartServer(t testing.TB, opts ...ServerOption) *Server {
	t.Helper()
	o := embedded.Options(t.TempDir())
	for _, opt := range opts {
		opt(o)
	}
	s := &Server{opts: *o, StoreDir: o.StoreDir}
	s.start(t)
	t.Cleanup(s.Shutdown)
	return s
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	opts := s.opts
	ns, err := embedded.Start(&opts)
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	s.NATS = ns
	// Pin the port so that a restart listens where clients reconnect to.
	s.opts.Port = embedded.Port(ns)
}

// URL is the client URL of the server, e.g. nats://127.0.0.1:41234.
func (s *Server) URL() string { return s.NATS.ClientURL() }

// Shutdown stops the server and waits until it has stopped. It is safe to
// call more than once.
func (s *Server) Shutdown() {
	if s.NATS == nil {
		return
	}
	s.NATS.Shutdown()
	s.NATS.WaitForShutdown()
}

// Restart stops the server and starts it again on the same port and store
// directory, as a server process restart would. Clients reconnect by
// themselves.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Shutdown()
	s.start(t)
}
