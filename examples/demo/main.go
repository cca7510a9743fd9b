// Command demo runs the five example services in one process, on the
// bridge meshctl serve runs (an embedded NATS server with JetStream in a
// temporary directory, and the dashboard), and prints a trace of their
// flows. It needs no server of its own:
//
//	go run ./examples/demo
//
// It prints the dashboard's URL first (-http sets its address); with
// -stay it keeps the server and the dashboard up after the scenes, until
// Ctrl-C, so that the demo's services, counts, dead letter and consumers
// can be looked at there.
//
// The bridge creates the namespace's streams, so moderator and herald
// handle their events durably: the later scenes stop herald while posts
// are moderated and show it catching up, send content moderator cannot
// moderate to the dead-letter stream, then re-drive it, and schedule an
// event 2 s ahead (herald's nudge of an author nobody replied to), which
// fires at its time.
//
// With -auth (go run ./examples/demo -auth), the services run with least
// privilege: the server accepts only the users generated from the example
// services' spec, examples/service/spec/mesh.json, with passwords made for
// the run; the bridge, as the operator (mesh-operator), applies the spec, creating the
// streams and consumers, and each worker connects as its service's user
// and uses them (mesh.StreamConfig.Provisioned). Every scene plays as
// without.
//
// Each scene starts a flow and waits, at most flowTimeout, until every
// handler it involves has run; the demo fails (exit status 1) if one does
// not. Lines of the form "timeline -> all  post:created" are events on the
// wire, seen by a tap subscribed to ipc.*.> as the operator; lines "dlq
// <- moderator content:submitted" are dead letters, read by the tap from
// their stream (listing and re-driving them is the operator's too);
// lines "spark  handled post:created" are handler calls, seen by a
// middleware in every worker. A fired scheduled event's line shows its
// scheduledtime extension. SIGINT or SIGTERM stops it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/exprsn/ipcmesh/examples/auth"
	"github.com/exprsn/ipcmesh/examples/herald"
	"github.com/exprsn/ipcmesh/examples/moderator"
	"github.com/exprsn/ipcmesh/examples/service/spec"
	"github.com/exprsn/ipcmesh/examples/spark"
	"github.com/exprsn/ipcmesh/examples/timeline"
	"github.com/exprsn/ipcmesh/internal/operator/bridge"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// flowTimeout bounds each scene.
const flowTimeout = 10 * time.Second

func main() {
	var o options
	flag.BoolVar(&o.auth, "auth", false, "run each service as its own least-privilege user, generated from examples/service/spec/mesh.json")
	flag.StringVar(&o.http, "http", "127.0.0.1:0", "host:port of the bridge's dashboard and stats API (port 0: a free one)")
	flag.BoolVar(&o.stay, "stay", false, "after the scenes, keep the server and the dashboard up until Ctrl-C")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// options are the demo's flags.
type options struct {
	auth bool   // least-privilege users
	http string // the dashboard's address
	stay bool   // keep running after the scenes
}

// run starts a bridge (the embedded server of meshctl serve, with its
// dashboard), connects the services, plays the scenes, prints the trace
// and the workers' statistics to out, and shuts everything down. With
// o.auth, the server accepts only the users generated from the services'
// spec, which the bridge applies, and each worker connects as its
// service's user.
func run(ctx context.Context, out io.Writer, o options) (err error) {
	dir, err := os.MkdirTemp("", "ipcmesh-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := bridge.Config{Listen: "127.0.0.1:0", HTTP: o.http, StoreDir: filepath.Join(dir, "store"),
		Namespace: subjects.DefaultNamespace, MaxAge: time.Hour}
	if o.auth {
		s, err := spec.Load()
		if err != nil {
			return fmt.Errorf("load the services' spec: %w", err)
		}
		cfg.Spec = &s
		if cfg.Auth, err = bridge.NewAuth(s, filepath.Join(dir, "auth")); err != nil {
			return err
		}
	}
	b, err := bridge.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bridge.ShutdownTimeout)
		defer cancel()
		err = errors.Join(err, b.Close(cctx))
	}()
	cctx, cancel := context.WithTimeout(ctx, flowTimeout)
	defer cancel()
	op, err := operate(b.NATSURL(), cfg.Auth)
	if err != nil {
		return err
	}
	defer op.Close()

	tr := newTracer(out)
	c := &cast{tr: tr, url: b.NATSURL(), dir: dir, users: cfg.Auth, labels: map[*mesh.Worker]string{}}
	if c.admin, err = jetstream.New(op); err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.close()) }()
	if err := c.connect(cctx); err != nil {
		return err
	}
	// The tap starts once the streams exist.
	stopTap, err := tr.tap(cctx, op)
	if err != nil {
		return err
	}
	defer stopTap()
	fmt.Fprintf(out, "mesh demo: %d workers on an embedded NATS server; dashboard on %s/\n", len(c.workers), b.HTTPURL())
	if o.auth {
		fmt.Fprintf(out, "each worker runs as its service's least-privilege user; %s set up the streams and consumers\n", permissions.OperatorName)
	}
	if err := play(ctx, c); err != nil {
		return err
	}
	printStats(c)
	if o.stay {
		fmt.Fprintf(out, "\nthe dashboard stays up on %s/ until Ctrl-C\n", b.HTTPURL())
		<-ctx.Done()
	}
	return nil
}

// operate connects to url as the operator (permissions.OperatorName when
// auth is set): the tap, the dead-letter and schedule admin.
func operate(url string, auth *bridge.Auth) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name("demo-operator")}
	if auth != nil {
		opts = append(opts, nats.UserInfo(permissions.OperatorName, auth.Password(permissions.OperatorName)))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect the operator: %w", err)
	}
	return nc, nil
}

// play plays the scenes in order, each within flowTimeout.
func play(ctx context.Context, c *cast) error {
	for i, s := range scenes {
		fmt.Fprintf(c.tr.out, "\n(%d) %s\n", i+1, s.title)
		sctx, cancel := context.WithTimeout(ctx, flowTimeout)
		err := s.play(sctx, c)
		cancel()
		if err != nil {
			return fmt.Errorf("scene %d (%s): %w", i+1, s.title, err)
		}
	}
	return nil
}

// printStats prints the statistics of every connected worker.
func printStats(c *cast) {
	fmt.Fprintf(c.tr.out, "\nstats\n")
	for _, w := range c.workers {
		st := w.Stats()
		var acked, dead uint64
		for _, d := range st.Durable {
			acked, dead = acked+d.Acked, dead+d.DeadLettered
		}
		c.tr.printf("%-10s emitted %2d  received %2d  handled %2d  failed %2d  requests %2d  acked %2d  dead-lettered %d",
			c.labels[w], st.Emitted, st.Received, st.Handled, st.Failed, st.Requests, acked, dead)
	}
}

// cast is the services of the demo and their workers.
type cast struct {
	tr      *tracer
	url     string
	dir     string              // the demo's temporary directory, for the services' databases
	users   *bridge.Auth        // the users to connect as; nil without -auth
	admin   jetstream.JetStream // the operator's: dead letters, schedules
	workers []*mesh.Worker      // the connected ones
	labels  map[*mesh.Worker]string

	auth       *auth.Service
	spark      *spark.Service
	sparkW     *mesh.Worker
	timeline   *timeline.Service
	timelineW  *mesh.Worker
	moderator  *moderator.Service
	moderatorW *mesh.Worker
	heralds    []heraldInstance // the running ones
	started    int              // herald instances started so far
}

// heraldInstance is one running instance of herald.
type heraldInstance struct {
	label string
	w     *mesh.Worker
	svc   *herald.Service
}

// worker connects a worker for service, labelled label in the trace.
// Without credentials, the workers create the namespace's streams
// (Manage), as the services do when run on their own; with them, each
// connects as its service's user and uses what the operator set up
// (Provisioned).
func (c *cast) worker(ctx context.Context, service, label string) (*mesh.Worker, error) {
	cfg := mesh.Config{
		Service:    service,
		Servers:    []string{c.url},
		Logger:     slog.New(slog.DiscardHandler), // the trace shows what matters
		Middleware: []mesh.Middleware{c.tr.middleware(label)},
		OnError:    c.tr.onError(label),
		Stream:     mesh.StreamConfig{Manage: true},
	}
	if c.users != nil {
		cfg.Stream = mesh.StreamConfig{Provisioned: true}
		cfg.NATSOptions = []nats.Option{nats.UserInfo(service, c.users.Password(service))}
	}
	w, err := mesh.Connect(ctx, cfg)
	if err == nil {
		c.workers = append(c.workers, w)
		c.labels[w] = label
	}
	return w, err
}

// connect connects and registers every service, herald twice. On error,
// c holds the workers connected so far, for close.
func (c *cast) connect(ctx context.Context) error {
	w, err := c.worker(ctx, auth.Name, "auth")
	if err != nil {
		return err
	}
	users := []auth.Profile{{UserID: "ana", Name: "Ana", Bio: "writes about meshes"}, {UserID: "ben", Name: "Ben"}}
	// auth keeps its users and sessions in a SQLite database, and
	// announces logins through its outbox.
	if c.auth, err = auth.Register(ctx, w, auth.Config{Database: filepath.Join(c.dir, "auth.db"), Users: users}); err != nil {
		return err
	}
	if c.sparkW, err = c.worker(ctx, spark.Name, "spark"); err != nil {
		return err
	}
	if c.spark, err = spark.Register(ctx, c.sparkW); err != nil {
		return err
	}
	if c.timelineW, err = c.worker(ctx, timeline.Name, "timeline"); err != nil {
		return err
	}
	if c.timeline, err = timeline.Register(ctx, c.timelineW); err != nil {
		return err
	}
	if c.moderatorW, err = c.worker(ctx, moderator.Name, "moderator"); err != nil {
		return err
	}
	if c.moderator, err = moderator.Register(ctx, c.moderatorW); err != nil {
		return err
	}
	for range 2 {
		if _, err := c.startHerald(ctx, herald.Options{}); err != nil {
			return err
		}
	}
	return nil
}

// startHerald connects and registers one more instance of herald, with
// options o.
func (c *cast) startHerald(ctx context.Context, o herald.Options) (heraldInstance, error) {
	c.started++
	h := heraldInstance{label: fmt.Sprintf("herald#%d", c.started)}
	var err error
	if h.w, err = c.worker(ctx, herald.Name, h.label); err != nil {
		return h, err
	}
	if h.svc, err = herald.RegisterWith(ctx, h.w, o); err != nil {
		return h, err
	}
	c.heralds = append(c.heralds, h)
	return h, nil
}

// stopHeralds closes every running instance of herald, as if the service
// were shut down. Their durable consumers stay on the server.
func (c *cast) stopHeralds(ctx context.Context) error {
	var errs []error
	for _, h := range c.heralds {
		errs = append(errs, h.w.Close(ctx))
		c.workers = slices.DeleteFunc(c.workers, func(w *mesh.Worker) bool { return w == h.w })
		delete(c.labels, h.w)
	}
	c.heralds = nil
	return errors.Join(errs...)
}

// close closes auth's database and outbox relay, then every worker:
// running handlers finish, emits are flushed.
func (c *cast) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), flowTimeout)
	defer cancel()
	var errs []error
	if c.auth != nil {
		errs = append(errs, c.auth.Close(ctx))
	}
	for _, w := range c.workers {
		errs = append(errs, w.Close(ctx))
	}
	return errors.Join(errs...)
}
