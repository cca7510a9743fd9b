package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/exprsn/ipcmesh/internal/embedded"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The consumers section: many durable handlers on one server. Each round
// starts a server in a child process and the contender in another, which
// registers the handlers (timed) on one connection; then both rest for
// o.idle, and the section reports the CPU each used meanwhile and the
// memory each holds, above what it held before the handlers.

// durablesNS is the namespace of the mesh's handlers; the raw consumers
// use rawStream.
const durablesNS = "idle"

// consumerHandlers is how many durable handlers a round registers at
// scale 1.
const consumerHandlers = 1000

// consumersContender is one way to hold many durable handlers.
type consumersContender struct {
	name string
	role string // of its child process
	note string
}

var consumersContenders = []consumersContender{
	{name: "raw jetstream: durable consumers, Consume each", role: roleRawDurables, note: "one filter subject each, nats.go's Consume defaults (30 s pulls)"},
	{name: "mesh: OnDurable handlers in one worker", role: roleMeshDurables, note: "the mesh's defaults (two filters each, Prefetch 500, 30 s pulls with 5 s heartbeats)"},
}

// serverChild runs a nats-server with JetStream storing in dir: it answers
// "url" and the requests of serveProc.
func serverChild(dir string) (func(verb, arg string) (any, error), func(), error) {
	srv, err := embedded.Start(embedded.Options(dir))
	if err != nil {
		return nil, nil, err
	}
	url := "nats://127.0.0.1:" + strconv.Itoa(embedded.Port(srv))
	serve := func(verb, _ string) (any, error) {
		if v, ok, err := serveProc(verb); ok {
			return v, err
		}
		if verb == "url" {
			return url, nil
		}
		return nil, fmt.Errorf("unknown request %q", verb)
	}
	return serve, func() { srv.Shutdown(); srv.WaitForShutdown() }, nil
}

// durablesChild holds durable handlers on the server at url: it answers
// "register N" (register N handlers, the seconds that took) and the
// requests of serveProc.
func durablesChild(role, url string) (func(verb, arg string) (any, error), func(), error) {
	var (
		register func(ctx context.Context, i int) error
		done     func()
	)
	if role == roleMeshDurables {
		w, err := mesh.Connect(context.Background(), mesh.Config{Service: "bench-durables", Namespace: durablesNS, Servers: []string{url},
			Logger: childLogger()})
		if err != nil {
			return nil, nil, err
		}
		h := mesh.HandlerFunc(func(context.Context, *mesh.Event) error { return nil })
		register = func(ctx context.Context, i int) error {
			_, err := w.OnDurable(ctx, fmt.Sprintf("idle:e%04d", i), h)
			return err
		}
		done = func() { closeWorker(w) }
	} else {
		var err error
		if register, done, err = rawDurables(url); err != nil {
			return nil, nil, err
		}
	}
	serve := func(verb, arg string) (any, error) {
		if v, ok, err := serveProc(verb); ok {
			return v, err
		}
		n, err := strconv.Atoi(arg)
		if verb != "register" || err != nil {
			return nil, fmt.Errorf("unknown request %q %q", verb, arg)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		t0 := time.Now()
		for i := range n {
			if err := register(ctx, i); err != nil {
				return nil, fmt.Errorf("handler %d: %w", i, err)
			}
		}
		return time.Since(t0).Seconds(), nil
	}
	return serve, done, nil
}

// rawDurables returns a func registering the i-th raw durable consumer of
// rawStream on one connection to url, with nats.go's Consume.
func rawDurables(url string) (func(ctx context.Context, i int) error, func(), error) {
	nc, err := nats.Connect(url, nats.Name("raw-durables"))
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	var running []jetstream.ConsumeContext
	register := func(ctx context.Context, i int) error {
		cons, err := js.CreateOrUpdateConsumer(ctx, rawStream, jetstream.ConsumerConfig{
			Durable:       fmt.Sprintf("idle_%04d", i),
			AckPolicy:     jetstream.AckExplicitPolicy,
			FilterSubject: fmt.Sprintf("raw.dur.idle.e%04d", i),
		})
		if err != nil {
			return err
		}
		cc, err := cons.Consume(func(m jetstream.Msg) { _ = m.Ack() })
		if err != nil {
			return err
		}
		running = append(running, cc)
		return nil
	}
	done := func() {
		for _, cc := range running {
			cc.Stop()
		}
		nc.Close()
	}
	return register, done, nil
}

// consumersRound is one round of one contender.
type consumersRound struct {
	register               time.Duration
	worker, server         procMem // at rest with the handlers
	workerBase, serverBase procMem // before them
	workerCPU, serverCPU   time.Duration
}

// measureConsumers runs one round of contender c with n handlers.
func measureConsumers(c consumersContender, n int, idle time.Duration) (r consumersRound, err error) {
	dir, err := os.MkdirTemp("", "ipcmesh-bench-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	srv, err := startChild(roleServer, dir)
	if err != nil {
		return r, err
	}
	// A server shutting down writes the state of every consumer, for
	// seconds: the child is killed instead (after the contender's).
	defer srv.kill()
	var url string
	if err := srv.ask(&url, "url"); err != nil {
		return r, err
	}
	if err := createIdleStreams(url); err != nil {
		return r, err
	}
	if err := srv.ask(&r.serverBase, "mem"); err != nil {
		return r, err
	}
	h, err := startChild(c.role, url)
	if err != nil {
		return r, err
	}
	defer func() { err = errors.Join(err, h.stop()) }()
	if err := h.ask(&r.workerBase, "mem"); err != nil {
		return r, err
	}
	var secs float64
	if err := h.ask(&secs, "register", n); err != nil {
		return r, err
	}
	r.register = time.Duration(secs * float64(time.Second))
	// Let the server settle after the registrations, then watch both rest.
	time.Sleep(idle / 5)
	var w0, s0, w1, s1 int64
	if err := errors.Join(h.ask(&w0, "cpu"), srv.ask(&s0, "cpu")); err != nil {
		return r, err
	}
	time.Sleep(idle)
	if err := errors.Join(h.ask(&w1, "cpu"), srv.ask(&s1, "cpu")); err != nil {
		return r, err
	}
	r.workerCPU, r.serverCPU = time.Duration(w1-w0), time.Duration(s1-s0)
	return r, errors.Join(h.ask(&r.worker, "mem"), srv.ask(&r.server, "mem"))
}

// createIdleStreams creates the streams of both contenders on the server at
// url: the mesh namespace's and rawStream.
func createIdleStreams(url string) error {
	nc, err := nats.Connect(url, nats.Name("bench-admin"))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := streams.Ensure(ctx, js, durablesNS, streams.Config{}); err != nil {
		return err
	}
	_, err = js.CreateOrUpdateStream(ctx, streamConfig(1, rawStream, "raw.dur.>"))
	return err
}

func runConsumers(o options, e *env, rp *report) error {
	n := o.n(consumerHandlers)
	results := make([][]consumersRound, len(consumersContenders))
	regs := make([]*row, len(consumersContenders))
	for i, c := range consumersContenders {
		regs[i] = rp.add(&row{section: sectionConsumers, name: fmt.Sprintf("%s: register %d (handlers/s)", c.name, n), note: c.note, baseline: i == 0})
		if i > 0 {
			regs[i].base = regs[0]
		}
	}
	for round := range o.rounds {
		for i, c := range consumersContenders {
			if !o.wantsCase(c.name, i == 0) {
				continue
			}
			_, err := take(o, e, regs[i], sectionConsumers, c.name, 0, func() (sample, error) {
				r, err := measureConsumers(c, n, o.idle)
				if err != nil {
					return sample{}, err
				}
				results[i] = append(results[i], r)
				return sample{rate: float64(n) / r.register.Seconds()}, nil
			})
			if err != nil {
				return fmt.Errorf("%s %s: %w", sectionConsumers, c.name, err)
			}
			r := results[i][len(results[i])-1]
			o.logf("%s round %d: %-50s registered %d in %s, idle CPU worker %s server %s", sectionConsumers, round+1, c.name, n,
				r.register.Round(time.Millisecond), r.workerCPU.Round(time.Millisecond), r.serverCPU.Round(time.Millisecond))
		}
	}
	for i, c := range consumersContenders {
		if len(results[i]) > 0 {
			consumersRows(rp, c, n, o.idle, results[i])
		}
	}
	return nil
}

// consumersRows adds the memory and CPU rows of a contender: medians over
// its rounds.
func consumersRows(rp *report, c consumersContender, n int, idle time.Duration, rs []consumersRound) {
	med := func(f func(consumersRound) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	wHeap := med(func(r consumersRound) float64 { return float64(r.worker.Heap - r.workerBase.Heap) })
	wStack := med(func(r consumersRound) float64 { return float64(r.worker.Stack - r.workerBase.Stack) })
	wRSS := med(func(r consumersRound) float64 { return float64(r.worker.RSS) })
	gs := med(func(r consumersRound) float64 { return float64(r.worker.Goroutines - r.workerBase.Goroutines) })
	sHeap := med(func(r consumersRound) float64 { return float64(r.server.Heap - r.serverBase.Heap) })
	sRSS := med(func(r consumersRound) float64 { return float64(r.server.RSS - r.serverBase.RSS) })
	rp.add(&row{section: sectionConsumers, name: fmt.Sprintf("%s: %d at rest, client heap", c.name, n), text: mib(int64(wHeap)), value: int64(wHeap),
		note: fmt.Sprintf("after GC, above the connected client without handlers (%s each); stacks +%s, %+.0f goroutines; client RSS %s; server heap +%s, RSS +%s",
			kib(int64(wHeap)/int64(n)), mib(int64(wStack)), gs, mib(int64(wRSS)), mib(int64(sHeap)), mib(int64(sRSS)))})
	wCPU := med(func(r consumersRound) float64 { return r.workerCPU.Seconds() / idle.Seconds() })
	sCPU := med(func(r consumersRound) float64 { return r.serverCPU.Seconds() / idle.Seconds() })
	rp.add(&row{section: sectionConsumers, name: fmt.Sprintf("%s: %d at rest, CPU (client + server)", c.name, n),
		text: percent(wCPU + sCPU), note: fmt.Sprintf("of one core over %s: client %s, server %s", idle, percent(wCPU), percent(sCPU))})
}

func percent(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }
