// Command bench measures the mesh against raw nats.go and the libraries a
// user would pick instead, side by side in one process and one run, on one
// embedded nats-server with JetStream (file store in a temporary directory)
// over loopback TCP, and prints one Markdown table: messages per second,
// the ratio to the raw nats.go baseline of the same path and payload, and
// latency percentiles where they mean something. Every figure is the median
// of the rounds.
//
// Run it from this directory (it is its own module):
//
//	go run .                        # the full table, 3 to 4 minutes
//	go run . -rounds 5 -sizes 256
//	go run . -only live -case mesh -cpuprofile /tmp/live.pprof
//	go run . -only 'payloads|subscribers|consumers|cluster'   # how cost grows
//
// What is measured:
//
//   - live: one publisher and one subscriber over core NATS; throughput
//     from the first send to the last arrival, the sender held within
//     -window unreceived messages (fewer for large payloads: 32 MiB at
//     most; the same for every contender, so none overflows the
//     slow-consumer limits); latency is one way, one message at a time.
//   - durable publish: n messages sent to a stream as each library does by
//     default (asynchronously with batched acks for raw and mesh, one
//     synchronous publish at a time for watermill and sdk-go), timed until
//     all are acknowledged, then checked in the stream; latency is one
//     synchronous publish.
//   - durable consume: a backlog in each library's wire format, consumed by
//     a new consumer with the library's defaults, acknowledged after the
//     handler; timed from the call that creates the consumer until the
//     server's ack floor reaches the last message.
//   - request/reply: sequential requests to an echo responder.
//   - fan-out: broadcast to services x 2 instances, each its own
//     connection; deliveries and emits per second.
//   - handlers: one worker with 1, 5 or 10 handlers for the same event;
//     handler calls and emits per second.
//   - memory: in a child process, the heap of one idle worker with 20
//     handlers above the process baseline, and the cost of each event held
//     in flight by a handler.
//   - payloads: the live and durable publish paths of raw nats.go, the
//     floor of the mesh's wire format and the mesh at 64 B, 256 B, 1, 4, 16
//     and 64 KiB (not -sizes), each run sending up to 64 MiB
//     (live) or 32 MiB (durable) of payload.
//   - subscribers: the live path with and without 100 other services with
//     20 live handlers each (raw: 100 connections with 40 subscriptions),
//     in a child process, on the server, for events nobody sends.
//   - consumers: 1,000 durable handlers registered on one connection to a
//     server of their own, mesh OnDurable against raw Consume, in child
//     processes: registration rate; at rest, the client's and the server's
//     memory above what they held before, and the CPU both use over -idle.
//   - cluster: durable publish and consume on three clustered servers in
//     this process (streams with three replicas, led by the server the
//     clients connect to), a quarter of the main table's messages, at the
//     first -sizes.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

const (
	sectionLive     = "live"
	sectionPublish  = "durable publish"
	sectionConsume  = "durable consume"
	sectionRequest  = "request/reply"
	sectionFan      = "fan-out"
	sectionHandlers = "handlers"
	sectionMemory   = "memory"

	// Sections of how cost grows, and their rows' sections.
	sectionPayloads     = "payloads"
	sectionPayloadsLive = "payloads: live"
	sectionPayloadsPub  = "payloads: durable publish"
	sectionSubscribers  = "subscribers"
	sectionConsumers    = "consumers"
	sectionCluster      = "cluster"
	sectionClusterPub   = "cluster: durable publish"
	sectionClusterCons  = "cluster: durable consume"
)

type options struct {
	idle     time.Duration
	rounds   int
	sizes    []int
	scale    float64
	window   int
	latN     int
	only     *regexp.Regexp
	cases    *regexp.Regexp
	quiet    bool
	progress bool
	baseline bool
}

func main() {
	var (
		rounds     = flag.Int("rounds", 3, "rounds of every measurement; the table shows medians")
		sizes      = flag.String("sizes", "256,1024", "payload sizes in bytes, comma-separated")
		scale      = flag.Float64("scale", 1, "multiplies the number of messages of every run, and the handlers and services of consumers and subscribers")
		window     = flag.Int("window", 16384, "live and fan-out paths: most messages sent and not yet received")
		latN       = flag.Int("latency-samples", 1000, "sequential messages per round for latency")
		only       = flag.String("only", "", "run only the sections matching this regexp (live, durable publish, durable consume, request, fan-out, handlers, memory, payloads, subscribers, consumers, cluster)")
		idle       = flag.Duration("idle", 5*time.Second, "consumers: how long the handlers rest while their CPU is measured")
		cases      = flag.String("case", "", "run only the contenders whose name matches this regexp, and the baselines")
		baseline   = flag.Bool("baseline", true, "with -case, run the baselines too (false: for a profile of one contender)")
		cpuprofile = flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
		quiet      = flag.Bool("quiet", false, "no progress and no client warnings on stderr")
	)
	if isChild() {
		if err := childMain(); err != nil {
			fatal(err)
		}
		return
	}
	flag.Parse()
	sz, err := parseSizes(*sizes)
	if err != nil {
		fatal(err)
	}
	o := options{idle: max(*idle, 10*time.Millisecond), rounds: max(*rounds, 1), sizes: sz, scale: *scale, window: max(*window, 8), latN: max(*latN, 10),
		quiet: *quiet, progress: !*quiet, baseline: *baseline || *cases == ""}
	if o.only, err = regexp.Compile(*only); err != nil {
		fatal(err)
	}
	if o.cases, err = regexp.Compile(*cases); err != nil {
		fatal(err)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatal(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	if err := run(o, os.Stdout); err != nil {
		pprof.StopCPUProfile()
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < minPayload || n > 512<<10 {
			return nil, fmt.Errorf("-sizes: %q is not a size from %d to 524288 bytes", f, minPayload)
		}
		out = append(out, n)
	}
	return out, nil
}

func gcQuiet() { runtime.GC() }

// attempt runs one measurement, and up to twice more if it fails: on a
// shared machine a stalled client can miss a deadline, and a JetStream pull
// consumer occasionally loses its pull request and waits for two missed
// heartbeats (30s) before pulling again (nats.go issue 1622). The row
// notes every retry and its reason.
func attempt(o options, e *env, r *row, f func() (sample, error)) (sample, error) {
	for try := 0; ; try++ {
		e.asyncErrs.Store(0)
		s, err := f()
		if err == nil || try == 2 {
			return s, err
		}
		o.logf("%s: %v; measuring this round again", r.name, err)
		r.retried = append(r.retried, err.Error())
	}
}

// labelled runs one measurement with pprof labels section, case and size,
// which the goroutines it starts (the clients, not the server) inherit: a
// CPU profile can then be cut to one contender with
// go tool pprof -tagfocus 'case=mesh.*'.
func labelled(section, name string, size int, f func() (sample, error)) (s sample, err error) {
	pprof.Do(context.Background(), pprof.Labels("section", section, "case", name, "size", strconv.Itoa(size)), func(context.Context) {
		s, err = f()
	})
	return s, err
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func (o options) logf(format string, args ...any) {
	if o.progress {
		fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05.000 ")+format+"\n", args...)
	}
}

func (o options) n(base int) int { return max(int(float64(base)*o.scale), 10) }

func (o options) wants(section string) bool { return o.only.MatchString(section) }

// wantsCase reports whether a contender runs: it matches -case, or it is
// the baseline of its section (unless -baseline=false).
func (o options) wantsCase(name string, baseline bool) bool {
	return (baseline && o.baseline) || o.cases.MatchString(name)
}

// A section is a part of the table, which -only selects by name.
type section struct {
	name string
	run  func(o options, e *env, rp *report) error
	// streams: it needs the durable contenders' streams on e.
	streams bool
}

var sections = []section{
	{name: sectionLive, run: func(o options, e *env, rp *report) error { return runLive(o, e, rp, o.plan(sectionLive), liveCases) }},
	{name: sectionPublish, streams: true, run: func(o options, e *env, rp *report) error {
		return runPublish(o, e, rp, o.plan(sectionPublish), pubCases)
	}},
	{name: sectionConsume, streams: true, run: func(o options, e *env, rp *report) error {
		return runConsume(o, e, rp, o.plan(sectionConsume), consCases)
	}},
	{name: sectionRequest, run: runRequest},
	{name: sectionFan, run: runFan},
	{name: sectionHandlers, run: runHandlers},
	{name: sectionMemory, run: runMemory},
	{name: sectionPayloads, streams: true, run: runPayloads},
	{name: sectionSubscribers, run: runSubscribers},
	{name: sectionConsumers, run: runConsumers},
	{name: sectionCluster, run: func(o options, _ *env, rp *report) error { return runCluster(o, rp) }},
}

func run(o options, w io.Writer) error {
	startLoad := loadavg()
	started := time.Now()
	e, err := startEnv(o.quiet)
	if err != nil {
		return err
	}
	defer e.close()
	rp := &report{}
	streams := false
	for _, s := range sections {
		if !o.wants(s.name) {
			continue
		}
		if s.streams && !streams {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err := setupStreams(ctx, e, true)
			cancel()
			if err != nil {
				return err
			}
			streams = true
		}
		if err := s.run(o, e, rp); err != nil {
			return err
		}
	}

	fmt.Fprintf(w, "ipcmesh bench: %s; GOMAXPROCS %d; %s; %d rounds (medians); load average %s at start, %s at end; %s\n\n",
		versions(), runtime.GOMAXPROCS(0), runtime.Version(), o.rounds, startLoad, loadavg(), time.Since(started).Round(time.Second))
	rp.write(w)
	fmt.Fprintln(w)
	targets(w, rp, o)
	return nil
}

func runMemory(o options, e *env, rp *report) error {
	o.logf("memory: child process")
	res, err := measureMemory(e, o.sizes)
	if err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	rp.add(&row{section: sectionMemory, name: fmt.Sprintf("idle worker, %d handlers: heap above process baseline", memHandlers),
		text: mib(res.Idle.Heap), value: res.Idle.Heap, note: fmt.Sprintf("after GC; plus %s of goroutine stacks (%d goroutines)", kib(res.Idle.Stack), res.Idle.Goroutines)})
	for _, size := range o.sizes {
		rp.add(&row{section: sectionMemory, name: "per event in flight (held by a handler)", size: size,
			text: kib(res.PerEvent[size]), value: res.PerEvent[size], note: fmt.Sprintf("heap %s + stack %s; %d events held", kib(res.PerEventHeap[size]), kib(res.PerEventStack[size]), memHeld)})
	}
	return nil
}

// versions names the versions of the libraries compared.
func versions() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "versions unknown"
	}
	want := []struct{ path, name string }{
		{"github.com/nats-io/nats-server/v2", "nats-server"},
		{"github.com/nats-io/nats.go", "nats.go"},
		{"github.com/cloudevents/sdk-go/v2", "sdk-go"},
		{"github.com/ThreeDotsLabs/watermill-nats/v2", "watermill-nats"},
		{"github.com/ThreeDotsLabs/watermill", "watermill"},
	}
	var parts []string
	for _, wv := range want {
		for _, d := range bi.Deps {
			if d.Path == wv.path {
				parts = append(parts, wv.name+" "+d.Version)
			}
		}
	}
	return strings.Join(parts, ", ")
}

func mib(b int64) string { return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20)) }
func kib(b int64) string { return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10)) }
