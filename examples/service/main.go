// Command service runs one of the five example services as its own process
// against a NATS server with JetStream (nats-server -js):
//
//	go run ./examples/service -name timeline -server nats://127.0.0.1:4222
//
// Start the others the same way (and herald twice to see two instances
// share the notifications), then, with -http :8080 on timeline:
//
//	curl -d '{"author":"ana","text":"hello"}' localhost:8080/posts
//
// runs the chain timeline -> moderator -> herald -> timeline across the
// processes. Stop herald, post again and start herald again: it delivers
// the notifications it missed. SIGINT or SIGTERM stops the service cleanly.
//
// auth and timeline keep their data in a SQLite file (-db, default
// <service name>.db in the working directory) and emit through its
// transactional outbox: a post or login and its events commit together,
// and the events reach the mesh once it is reachable.
//
// The service creates the namespace's event and dead-letter streams if
// they do not exist (mesh.StreamConfig.Manage), so any JetStream server
// will do. With -credentials, it runs with least privilege instead: it
// connects as the user named after it, with the password that
// meshctl serve --spec examples/service/spec/mesh.json --auth DIR wrote to DIR/credentials.env,
// and uses the streams and consumers the operator made from that spec
// (mesh.StreamConfig.Provisioned).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/exprsn/ipcmesh/examples/auth"
	"github.com/exprsn/ipcmesh/examples/herald"
	"github.com/exprsn/ipcmesh/examples/moderator"
	"github.com/exprsn/ipcmesh/examples/spark"
	"github.com/exprsn/ipcmesh/examples/timeline"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/permissions"
	"github.com/nats-io/nats.go"
)

// closeTimeout bounds the clean stop: running handlers finishing, emitted
// events flushed.
const closeTimeout = 10 * time.Second

// service is one runnable example service.
type service struct {
	name  string // the mesh service name
	start func(ctx context.Context, w *mesh.Worker, db string) (running, error)
}

// running is a started service: what its HTTP API serves, if it has one,
// and how to close what it opened besides the worker (its database and
// outbox relay), which is done before the worker closes.
type running struct {
	http  http.Handler
	close func(context.Context) error
}

// services are the runnable services by their short name.
var services = map[string]service{
	"auth": {auth.Name, func(ctx context.Context, w *mesh.Worker, db string) (running, error) {
		s, err := auth.Register(ctx, w, auth.Config{Database: db, Users: []auth.Profile{
			{UserID: "ana", Name: "Ana"}, {UserID: "ben", Name: "Ben"}}})
		if err != nil {
			return running{}, err
		}
		return running{close: s.Close}, nil
	}},
	"herald":    {herald.Name, stateless(func(ctx context.Context, w *mesh.Worker) error { _, err := herald.Register(ctx, w); return err })},
	"moderator": {moderator.Name, stateless(func(ctx context.Context, w *mesh.Worker) error { _, err := moderator.Register(ctx, w); return err })},
	"spark":     {spark.Name, stateless(func(ctx context.Context, w *mesh.Worker) error { _, err := spark.Register(ctx, w); return err })},
	"timeline": {timeline.Name, func(ctx context.Context, w *mesh.Worker, db string) (running, error) {
		if _, err := timeline.Register(ctx, w); err != nil {
			return running{}, err
		}
		store, err := timeline.OpenStore(ctx, w, timeline.StoreConfig{Database: db})
		if err != nil {
			return running{}, err
		}
		return running{http: timeline.NewHTTPHandler(store), close: store.Close}, nil
	}},
}

// stateless adapts the registration of a service that keeps no database.
func stateless(register func(context.Context, *mesh.Worker) error) func(context.Context, *mesh.Worker, string) (running, error) {
	return func(ctx context.Context, w *mesh.Worker, _ string) (running, error) {
		return running{close: func(context.Context) error { return nil }}, register(ctx, w)
	}
}

func main() {
	names := slices.Sorted(maps.Keys(services))
	name := flag.String("name", "", "the service to run: "+strings.Join(names, ", ")+" (required)")
	server := flag.String("server", "nats://127.0.0.1:4222", "NATS server URLs, comma-separated")
	namespace := flag.String("namespace", "ipc", "the mesh namespace")
	httpAddr := flag.String("http", "", "timeline only: listen address of the HTTP API (POST /posts), e.g. :8080; none if empty")
	credentials := flag.String("credentials", "", "the credentials.env of meshctl serve --auth: connect with least privilege")
	db := flag.String("db", "", "auth and timeline: their SQLite database file (default <service name>.db in the working directory)")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	svc, ok := services[*name]
	if !ok {
		fmt.Fprintf(os.Stderr, "service: -name %q: want one of %s\n", *name, strings.Join(names, ", "))
		flag.Usage()
		os.Exit(2)
	}
	if *httpAddr != "" && *name != "timeline" {
		fmt.Fprintln(os.Stderr, "service: -http is for -name timeline only")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := mesh.Config{
		Service:   svc.name,
		Namespace: *namespace,
		Servers:   strings.Split(*server, ","),
		Logger:    log,
		Stream:    mesh.StreamConfig{Manage: true},
	}
	if *credentials != "" {
		password, err := passwordOf(*credentials, svc.name)
		if err != nil {
			log.Error(err.Error())
			os.Exit(1)
		}
		cfg.Stream = mesh.StreamConfig{Provisioned: true}
		cfg.NATSOptions = []nats.Option{nats.UserInfo(svc.name, password)}
	}
	if *db == "" {
		*db = svc.name + ".db"
	}
	if err := run(ctx, cfg, svc, *db, *httpAddr); err != nil {
		log.Error(err.Error())
		os.Exit(1)
	}
}

// passwordOf reads user's password from a credentials.env file of
// meshctl serve --auth.
func passwordOf(file, user string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("-credentials: %w", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), permissions.PasswordVar(user)+"="); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("-credentials %s: no %s", file, permissions.PasswordVar(user))
}

// run runs svc until ctx is done, then closes the worker.
func run(ctx context.Context, cfg mesh.Config, svc service, db, httpAddr string) error {
	w, err := mesh.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	r, err := svc.start(ctx, w, db)
	if err != nil {
		return errors.Join(err, w.Close(context.Background()))
	}
	log := w.Logger()
	errc := make(chan error, 1)
	var srv *http.Server
	if httpAddr != "" {
		srv = &http.Server{Addr: httpAddr, Handler: r.http, ReadHeaderTimeout: 5 * time.Second}
		go func() { errc <- srv.ListenAndServe() }()
		log.Info("HTTP API listening", "addr", httpAddr)
	}
	log.Info("service running; stop with Ctrl-C")

	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("HTTP API: %w", err)
	}
	closeCtx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if srv != nil {
		err = errors.Join(err, srv.Shutdown(closeCtx))
	}
	err = errors.Join(err, r.close(closeCtx), w.Close(closeCtx))
	st := w.Stats()
	log.Info("stopped", "emitted", st.Emitted, "received", st.Received, "handled", st.Handled, "failed", st.Failed, "requests", st.Requests)
	return err
}
