package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/streams"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// env is what every measurement shares: one embedded nats-server with
// JetStream (file store in a temporary directory), reached over loopback
// TCP, and an admin connection for stream and consumer bookkeeping.
type env struct {
	srv   *server.Server
	url   string
	dir   string
	admin *nats.Conn
	js    jetstream.JetStream
	log   *slog.Logger

	// asyncErrs counts errors clients report asynchronously (slow
	// consumers, failed asynchronous publishes, mesh OnError): a round with
	// any is not trusted.
	asyncErrs atomic.Int64
	lastErr   atomic.Pointer[string]
}

func startEnv(quiet bool) (*env, error) {
	dir, err := os.MkdirTemp("", "ipcmesh-bench-")
	if err != nil {
		return nil, err
	}
	opts := &server.Options{
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		JetStream: true,
		StoreDir:  dir,
		NoLog:     true,
		NoSigs:    true,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("embedded nats-server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(20 * time.Second) {
		srv.Shutdown()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("embedded nats-server: not ready within 20s")
	}
	e := &env{srv: srv, url: fmt.Sprintf("nats://127.0.0.1:%d", srv.Addr().(*net.TCPAddr).Port), dir: dir}
	var w io.Writer = os.Stderr
	if quiet {
		w = io.Discard
	}
	e.log = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if e.admin, err = e.connect("bench-admin"); err != nil {
		e.close()
		return nil, err
	}
	if e.js, err = jetstream.New(e.admin); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *env) close() {
	if e.admin != nil {
		e.admin.Close()
	}
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
	os.RemoveAll(e.dir)
}

// asyncError records an error a client reported asynchronously.
func (e *env) asyncError(err error) {
	if e.asyncErrs.Add(1) <= 3 {
		e.log.Warn("bench: asynchronous error", "error", err)
	}
	s := err.Error()
	e.lastErr.Store(&s)
}

// checkErrs fails when a client reported an asynchronous error since the
// last call.
func (e *env) checkErrs(what string) error {
	if n := e.asyncErrs.Swap(0); n > 0 {
		return fmt.Errorf("%s: %d asynchronous errors, the last: %s", what, n, *e.lastErr.Load())
	}
	return nil
}

// connect opens a plain nats.go connection whose asynchronous errors are
// counted.
func (e *env) connect(name string) (*nats.Conn, error) {
	return nats.Connect(e.url, nats.Name(name), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		e.asyncError(err)
	}))
}

// worker connects a mesh worker. durable makes it manage and use the
// namespace's event stream; otherwise the worker is live only.
func (e *env) worker(service, namespace string, durable bool, tweak ...func(*mesh.Config)) (*mesh.Worker, error) {
	cfg := mesh.Config{
		Service:   service,
		Namespace: namespace,
		Servers:   []string{e.url},
		Logger:    e.log,
		OnError:   e.asyncError,
	}
	if durable {
		cfg.Stream.Manage = true
	} else {
		cfg.Stream.Disable = true
	}
	for _, t := range tweak {
		t(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return mesh.Connect(ctx, cfg)
}

func closeWorker(w *mesh.Worker) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = w.Close(ctx)
}

// streamConfig is the configuration of every stream the contenders store
// in: the one the mesh creates for its events (file storage, 7 days, a
// 2-minute duplicate window), with other subjects.
func streamConfig(name string, subjects ...string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:       name,
		Subjects:   subjects,
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		MaxAge:     streams.DefaultMaxAge,
		Duplicates: streams.DefaultDuplicateWindow,
		Discard:    jetstream.DiscardOld,
	}
}

// purge deletes a stream's consumers and empties it.
func (e *env) purge(ctx context.Context, stream string) error {
	if err := e.deleteConsumers(ctx, stream); err != nil {
		return err
	}
	s, err := e.js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	return s.Purge(ctx)
}

// payload returns a JSON object of exactly size bytes.
func payload(size int) []byte {
	head := `{"postId":"p-7f3a9c2e","author":{"id":"u-1024","name":"Ada Lovelace"},"tags":["go","nats","events"],"likes":42,"text":"`
	if size < len(head)+2 {
		panic("payload too small")
	}
	b := []byte(head + strings.Repeat("x", size-len(head)-2) + `"}`)
	if !json.Valid(b) || len(b) != size {
		panic("bad payload")
	}
	return b
}

func sizeName(size int) string {
	if size%1024 == 0 {
		return fmt.Sprintf("%d KiB", size/1024)
	}
	return fmt.Sprintf("%d B", size)
}
