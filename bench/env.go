package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/exprsn/ipcmesh/internal/embedded"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/streams"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// env is what every measurement shares: embedded nats-servers with
// JetStream (file store in temporary directories), one, or three in a
// cluster, reached over loopback TCP, and an admin connection for stream
// and consumer bookkeeping. Every client connects to url.
type env struct {
	srvs     []*server.Server
	dirs     []string
	url      string
	replicas int // of every stream the contenders use
	admin    *nats.Conn
	js       jetstream.JetStream
	log      *slog.Logger

	// asyncErrs counts errors clients report asynchronously (slow
	// consumers, failed asynchronous publishes, mesh OnError): a round with
	// any is not trusted.
	asyncErrs atomic.Int64
	lastErr   atomic.Pointer[string]
}

// startEnv starts one server.
func startEnv(quiet bool) (*env, error) {
	dir, err := os.MkdirTemp("", "ipcmesh-bench-")
	if err != nil {
		return nil, err
	}
	srv, err := embedded.Start(embedded.Options(dir))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return newEnv([]*server.Server{srv}, []string{dir}, srv, 1, quiet)
}

// newEnv connects the admin connection to the servers' entry (one of
// srvs), or shuts them down and removes dirs.
func newEnv(srvs []*server.Server, dirs []string, entry *server.Server, replicas int, quiet bool) (*env, error) {
	e := &env{srvs: srvs, dirs: dirs, url: fmt.Sprintf("nats://127.0.0.1:%d", embedded.Port(entry)), replicas: replicas}
	var w io.Writer = os.Stderr
	if quiet {
		w = io.Discard
	}
	e.log = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var err error
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
	for _, s := range e.srvs {
		s.Shutdown()
	}
	for _, s := range e.srvs {
		s.WaitForShutdown()
	}
	for _, d := range e.dirs {
		os.RemoveAll(d)
	}
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
		cfg.Stream.Replicas = e.replicas
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
// 2-minute duplicate window), with replicas and other subjects.
func streamConfig(replicas int, name string, subjects ...string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Replicas:   replicas,
		Name:       name,
		Subjects:   subjects,
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		MaxAge:     streams.DefaultMaxAge,
		Duplicates: streams.DefaultDuplicateWindow,
		Discard:    jetstream.DiscardOld,
		// As the mesh's event stream allows them (streams.Ensure).
		AllowBatchPublish: true,
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

// payload returns a JSON object of exactly size bytes (minPayload or
// more): a post with its author and tags, or, below 160 bytes, one string.
func payload(size int) []byte {
	head := `{"postId":"p-7f3a9c2e","author":{"id":"u-1024","name":"Ada Lovelace"},"tags":["go","nats","events"],"likes":42,"text":"`
	if size < 160 {
		head = `{"text":"`
	}
	if size < minPayload {
		panic("payload too small")
	}
	b := []byte(head + strings.Repeat("x", size-len(head)-2) + `"}`)
	if !json.Valid(b) || len(b) != size {
		panic("bad payload")
	}
	return b
}

// minPayload is the smallest payload size.
const minPayload = 16

func sizeName(size int) string {
	if size%1024 == 0 {
		return fmt.Sprintf("%d KiB", size/1024)
	}
	return fmt.Sprintf("%d B", size)
}
