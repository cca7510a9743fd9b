package testutil

import (
	"context"
	"testing"

	"github.com/exprsn/ipcmesh/internal/embedded"
	"github.com/exprsn/ipcmesh/streams"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
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

// ServerOption changes the embedded server before it starts, or what is
// set up on it once it runs.
type ServerOption func(*setup)

type setup struct {
	opts       *server.Options
	namespaces []string // whose streams to create
}

// WithServerOptions makes an option of any change to the embedded
// server's options (feature flags, limits) that the other options do not
// cover.
func WithServerOptions(f func(*server.Options)) ServerOption {
	return func(s *setup) { f(s.opts) }
}

// WithMaxPayload sets the server's maximum message payload in bytes
// (default: nats-server's own default, 1 MiB).
func WithMaxPayload(n int32) ServerOption {
	return func(s *setup) { s.opts.MaxPayload = n }
}

// WithoutJetStream starts the server without JetStream, as a plain
// nats-server would run: workers then use live delivery only.
func WithoutJetStream() ServerOption {
	return func(s *setup) { s.opts.JetStream = false }
}

// WithStreams creates the event and dead-letter streams of the namespaces
// (subjects.DefaultNamespace if none), with streams.Ensure's defaults, as
// an operator would before services start: workers connected to the
// server then use them, emits are stored and durable handlers work.
func WithStreams(namespaces ...string) ServerOption {
	if len(namespaces) == 0 {
		namespaces = []string{subjects.DefaultNamespace}
	}
	return func(s *setup) { s.namespaces = append(s.namespaces, namespaces...) }
}

// StartServer starts an embedded nats-server with JetStream enabled on a
// random loopback port, with its store in t.TempDir(), and registers its
// shutdown with t.Cleanup. It fails the test if the server is not ready
// within 20 seconds.
func StartServer(t testing.TB, opts ...ServerOption) *Server {
	t.Helper()
	o := embedded.Options(t.TempDir())
	st := setup{opts: o}
	for _, opt := range opts {
		opt(&st)
	}
	s := &Server{opts: *o, StoreDir: o.StoreDir}
	s.start(t)
	t.Cleanup(s.Shutdown)
	for _, ns := range st.namespaces {
		s.ensureStreams(t, ns)
	}
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

// ensureStreams creates namespace ns's streams over an in-process
// connection.
func (s *Server) ensureStreams(t testing.TB, ns string) {
	t.Helper()
	nc, err := nats.Connect(s.URL(), nats.InProcessServer(s.NATS))
	if err != nil {
		t.Fatalf("testutil: connect to create the streams of %q: %v", ns, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), DefaultWait)
		defer cancel()
		err = streams.Ensure(ctx, js, ns, streams.Config{})
	}
	if err != nil {
		t.Fatalf("testutil: create the streams of %q: %v", ns, err)
	}
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
