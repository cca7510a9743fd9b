// Command demo runs the five example services in one process, on an
// embedded NATS server, and prints a trace of their flows: `make demo`, or
//
//	go run ./examples/demo
//
// Each scene starts a flow and waits, at most flowTimeout, until every
// handler it involves has run; the demo exits 1 if one does not. Lines of
// the form "timeline -> all  post:created" are events on the wire, seen by a
// tap subscribed to ipc.>; lines "spark  handled  post:created" are handler
// calls, seen by a middleware in every worker.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/exprsn/ipcmesh/examples/auth"
	"github.com/exprsn/ipcmesh/examples/herald"
	"github.com/exprsn/ipcmesh/examples/moderator"
	"github.com/exprsn/ipcmesh/examples/spark"
	"github.com/exprsn/ipcmesh/examples/timeline"
	"github.com/exprsn/ipcmesh/internal/embedded"
	"github.com/exprsn/ipcmesh/mesh"
)

// flowTimeout bounds each scene.
const flowTimeout = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		stop()
		os.Exit(1)
	}
}

// run starts a server, connects the services, plays the scenes and prints
// the workers' statistics.
func run(ctx context.Context, out io.Writer) (err error) {
	dir, err := os.MkdirTemp("", "ipcmesh-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ns, err := embedded.Start(embedded.Options(dir))
	if err != nil {
		return err
	}
	defer func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	}()

	tr := newTracer(out)
	stopTap, err := tr.tap(ns.ClientURL())
	if err != nil {
		return err
	}
	defer stopTap()
	c, err := connect(ctx, ns.ClientURL(), tr)
	defer func() { err = errors.Join(err, c.close()) }()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "mesh demo: %d workers on an embedded NATS server\n", len(c.workers))

	for i, s := range scenes {
		fmt.Fprintf(out, "\n(%d) %s\n", i+1, s.title)
		sctx, cancel := context.WithTimeout(ctx, flowTimeout)
		err := s.play(sctx, c)
		cancel()
		if err != nil {
			return fmt.Errorf("scene %d (%s): %w", i+1, s.title, err)
		}
	}
	fmt.Fprintf(out, "\nstats\n")
	for _, w := range c.workers {
		st := w.Stats()
		tr.printf("%-10s emitted %2d  received %2d  handled %2d  failed %2d  requests %2d",
			c.labels[w], st.Emitted, st.Received, st.Handled, st.Failed, st.Requests)
	}
	return nil
}

// cast is the services of the demo and their workers.
type cast struct {
	tr      *tracer
	workers []*mesh.Worker
	labels  map[*mesh.Worker]string

	auth      *auth.Service
	spark     *spark.Service
	sparkW    *mesh.Worker
	timeline  *timeline.Service
	timelineW *mesh.Worker
}

// connect connects and registers every service, herald twice. On error, the
// cast returned holds the workers connected so far, for close.
func connect(ctx context.Context, url string, tr *tracer) (*cast, error) {
	c := &cast{tr: tr, labels: map[*mesh.Worker]string{}}
	worker := func(service, label string) (*mesh.Worker, error) {
		w, err := mesh.Connect(ctx, mesh.Config{
			Service:    service,
			Servers:    []string{url},
			Logger:     slog.New(slog.DiscardHandler), // the trace shows what matters
			Middleware: []mesh.Middleware{tr.middleware(label)},
			OnError:    tr.onError(label),
		})
		if err == nil {
			c.workers = append(c.workers, w)
			c.labels[w] = label
		}
		return w, err
	}
	w, err := worker(auth.Name, "auth")
	if err != nil {
		return c, err
	}
	users := []auth.Profile{{UserID: "ana", Name: "Ana", Bio: "writes about meshes"}, {UserID: "ben", Name: "Ben"}}
	if c.auth, err = auth.Register(w, users...); err != nil {
		return c, err
	}
	if c.sparkW, err = worker(spark.Name, "spark"); err != nil {
		return c, err
	}
	if c.spark, err = spark.Register(c.sparkW); err != nil {
		return c, err
	}
	if c.timelineW, err = worker(timeline.Name, "timeline"); err != nil {
		return c, err
	}
	if c.timeline, err = timeline.Register(c.timelineW); err != nil {
		return c, err
	}
	if w, err = worker(moderator.Name, "moderator"); err != nil {
		return c, err
	}
	if err = moderator.Register(w); err != nil {
		return c, err
	}
	for i := 1; i <= 2; i++ {
		if w, err = worker(herald.Name, fmt.Sprintf("herald#%d", i)); err != nil {
			return c, err
		}
		if err = herald.Register(w); err != nil {
			return c, err
		}
	}
	return c, nil
}

// close closes every worker: running handlers finish, emits are flushed.
func (c *cast) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), flowTimeout)
	defer cancel()
	var errs []error
	for _, w := range c.workers {
		errs = append(errs, w.Close(ctx))
	}
	return errors.Join(errs...)
}
