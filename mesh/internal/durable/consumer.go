// Package durable is the engine of the mesh's durable handlers: it creates
// a handler's JetStream consumer, consumes its events, keeps the events it
// holds in progress, runs them through the scheduler, settles each one
// (acknowledge, retry after a backoff, or dead-letter) and writes dead
// letters. It knows nothing of the mesh's event type: the worker passes
// hooks that decode a message and run the handler.
//
// An event travels through the files in order: consumer.go (receive and
// decode), then the scheduler, run.go (run the handler and settle),
// keeper.go (in progress while held), deadletter.go (the last stop).
package durable

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exprsn/ipcmesh/mesh/internal/sched"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// How a durable handler pulls. Each pull request lasts pullExpiry, and
// while it waits the server sends a heartbeat every pullHeartbeat; nats.go
// pulls again when a request expires or two heartbeats are missed. The
// heartbeat bounds the rare stall in which a consumer has events pending
// and no pull request waiting on the server (docs/performance.md, "Known
// problem") to two heartbeats; the long expiry keeps idle handlers cheap
// (1,000 of them: about 15% of a core at rest against 28% with 5-second
// pulls). A pinned consumer (OrderedByKey across instances) pulls every
// pinnedPullExpiry instead: the server pins another instance only after
// pinnedTTL without a pull request from the pinned one, so its pulls set
// how soon the others take over from an instance that died.
const (
	pullExpiry       = 30 * time.Second
	pullHeartbeat    = 5 * time.Second
	pinnedPullExpiry = 5 * time.Second
)

// Config is one durable handler's consumer and how its events run. Every
// field is set: the worker applies the defaults.
type Config struct {
	Stream, Name, Description string
	Filters                   []string
	// Namespace and Service name the dead letters' subjects and headers.
	Namespace, Service string
	MaxDeliver         int
	Backoff            []time.Duration
	AckWait            time.Duration
	// Concurrency is how many events run at once; with ByKey, each on a
	// lane of its own, chosen by partition key.
	Concurrency int
	ByKey       bool
	Prefetch    int
	// Batch is how many events one call takes (1 for a single-event
	// handler), and BatchWait how long a batch waits for more after its
	// first.
	Batch     int
	BatchWait time.Duration
	// Start is where a new consumer starts; an existing one resumes where
	// it stopped.
	Start Position
	// InactiveExpiry is how long the server keeps the consumer without a
	// client; 0 means the event stream's max age, -1 forever.
	InactiveExpiry time.Duration
	// Pinned makes one instance at a time take the consumer's events
	// (a pinned priority group), so that their order holds across
	// instances.
	Pinned bool
	// Bind makes the worker use the consumer the operator created, never
	// creating or updating one (see open).
	Bind bool
}

// Position is where a new consumer starts: Policy, with Sequence or Time
// for jetstream.DeliverByStartSequencePolicy and DeliverByStartTimePolicy.
type Position struct {
	Policy   jetstream.DeliverPolicy
	Sequence uint64
	Time     time.Time
}

// The priority group of pinned consumers, and how long the server waits
// for the pinned instance's next pull request before it pins another.
const (
	pinnedGroup = "mesh"
	pinnedTTL   = 2 * pinnedPullExpiry
)

// Delivery is what the engine knows of a delivered message.
type Delivery struct {
	Subject    string
	Sequence   uint64 // in the stream
	Deliveries uint64 // this one included
}

// Hooks are how the engine reaches the worker.
type Hooks[E any] struct {
	// Decode turns a message into the handler's event. On error, E still
	// describes the delivery (for OnDeadLetter), and the message is
	// dead-lettered at once.
	Decode func(msg jetstream.Msg, d Delivery) (E, error)
	// Key is an event's partition key, which chooses its lane with ByKey.
	Key func(E) string
	// Handle runs the handler for events and returns each one's outcome,
	// nil when handled.
	Handle func(events []E) []error
	// Permanent reports whether an error asks not to retry.
	Permanent func(error) bool
	// Report receives what the engine cannot return.
	Report func(error)
	// DeadLettered is told of every dead letter stored.
	DeadLettered func(ev E, reason string)
	// Unseen is told of an event that reached the consumer's delivery
	// limit without reaching the handler, and returns the reason to report
	// and dead-letter it with.
	Unseen func(sequence, deliveries uint64) error
	// Enter registers the goroutines that run the handler (see
	// sched.Config.Enter).
	Enter func(release func()) (leave func())
}

// Counters are a consumer's counts in this instance.
type Counters struct {
	Acked, Retried, Redelivered, DeadLettered, Terminated, Pending atomic.Uint64
}

// Consumer is one durable handler's consumption in this instance.
type Consumer[E any] struct {
	cfg      Config
	hooks    Hooks[E]
	js       jetstream.JetStream
	maxBytes func() int64
	counters *Counters
	sched    *sched.Scheduler[task[E]]
	keeper   *keeper

	// cons is consumed with opts; cc is the current consume context,
	// replaced when the client stops consuming by itself (see watch), until
	// stopping is set.
	cons     jetstream.Consumer
	opts     []jetstream.PullConsumeOpt
	mu       sync.Mutex
	cc       jetstream.ConsumeContext
	stopping bool
	lastErr  atomic.Pointer[error]
	// maxed receives the server's advisories of events that reached the
	// consumer's delivery limit.
	maxed *nats.Subscription

	// abandoned is set when Stop gave up on the events not yet running:
	// they are left for redelivery.
	abandoned atomic.Bool
	// halt, when done, tells the events not yet running to be left for
	// redelivery (the worker's Close gave up).
	halt     context.Context
	stopOnce sync.Once
	stopErr  error
}

// task is one received event waiting for its turn.
type task[E any] struct {
	ev  E
	msg jetstream.Msg
	d   Delivery
}

// Start opens the consumer (see open) and starts consuming. maxPayload
// says the server's max_payload, for dead letters; counters receive the
// counts; when halt is done, events are no longer run.
func Start[E any](ctx, halt context.Context, js jetstream.JetStream, maxPayload func() int64, cfg Config, hooks Hooks[E], counters *Counters) (*Consumer[E], error) {
	cons, err := open(ctx, js, cfg, hooks.Report)
	if err != nil {
		return nil, err
	}
	c := &Consumer[E]{cfg: cfg, hooks: hooks, js: js, maxBytes: maxPayload, counters: counters, halt: halt, cons: cons}
	lanes, workers := 1, cfg.Concurrency
	if cfg.ByKey {
		lanes, workers = cfg.Concurrency, 1
	}
	c.sched = sched.New(sched.Config{
		Lanes: lanes, Workers: workers, Idle: workers,
		Batch: cfg.Batch, BatchWait: cfg.BatchWait,
		Enter: hooks.Enter,
	}, c.run)
	c.keeper = newKeeper(cfg.AckWait / 3)
	c.opts = []jetstream.PullConsumeOpt{
		jetstream.PullMaxMessages(cfg.Prefetch),
		jetstream.ConsumeErrHandler(c.consumeError),
	}
	if cfg.Pinned {
		c.opts = append(c.opts, jetstream.PullPriorityGroup(pinnedGroup), jetstream.PullExpiry(pinnedPullExpiry))
	} else {
		c.opts = append(c.opts, jetstream.PullExpiry(pullExpiry), jetstream.PullHeartbeat(pullHeartbeat))
	}
	if err := c.watchMaxDeliveries(js.Conn()); err != nil {
		c.finish()
		return nil, fmt.Errorf("consume %s: %w", cfg.Name, err)
	}
	if err := c.consume(); err != nil {
		c.finish()
		return nil, fmt.Errorf("consume %s: %w", cfg.Name, err)
	}
	return c, nil
}

// receive is the consumer's callback: it decodes one message and queues it
// on its lane. Invalid messages and messages past their tries go to the
// dead-letter stream without reaching the handler. It never blocks: the
// server bounds the events held by MaxAckPending.
func (c *Consumer[E]) receive(msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		c.hooks.Report(fmt.Errorf("mesh: durable handler %s: message without JetStream metadata: %w", c.cfg.Name, err))
		_ = msg.Term()
		return
	}
	d := Delivery{Subject: msg.Subject(), Sequence: meta.Sequence.Stream, Deliveries: meta.NumDelivered}
	c.counters.Pending.Store(meta.NumPending)
	if d.Deliveries > 1 {
		c.counters.Redelivered.Add(1)
	}
	ev, err := c.hooks.Decode(msg, d)
	if err != nil {
		c.deadLetter(task[E]{ev: ev, msg: msg, d: d}, err)
		return
	}
	t := task[E]{ev: ev, msg: msg, d: d}
	if d.Deliveries > uint64(c.cfg.MaxDeliver) {
		c.deadLetter(t, fmt.Errorf("not handled after %d deliveries (the last ones got no answer: did the handler crash or hang?)", d.Deliveries-1))
		return
	}
	// From now until it is settled, the keeper reports the event in
	// progress, whether it waits for its turn or its handler runs.
	c.keeper.add(msg)
	var lane uint32
	if c.cfg.ByKey {
		h := fnv.New32a()
		h.Write([]byte(c.hooks.Key(ev)))
		lane = h.Sum32()
	}
	c.sched.Push(lane, t)
}

// Stop stops pulling, lets pulled and running events finish, and waits for
// them or ctx. When ctx ends first, the rest of the shutdown goes on in the
// background, so no goroutine is left behind. With connected unset (the
// server is unreachable) the events not yet running are left for
// redelivery: they could not be acknowledged. Later calls return the first
// call's result.
func (c *Consumer[E]) Stop(ctx context.Context, connected bool) error {
	c.stopOnce.Do(func() {
		c.mu.Lock()
		c.stopping = true
		cc := c.cc
		c.mu.Unlock()
		if connected {
			cc.Drain()
		} else {
			c.abandoned.Store(true)
			cc.Stop()
		}
		stopped := make(chan struct{})
		go func() {
			<-cc.Closed() // after the last callback, so nothing is queued later
			c.finish()
			close(stopped)
		}()
		select {
		case <-stopped:
		case <-ctx.Done():
			c.abandoned.Store(true)
			cc.Stop()
			c.stopErr = fmt.Errorf("waiting for durable handler %s: %w", c.cfg.Name, ctx.Err())
		}
	})
	return c.stopErr
}

// finish lets the queued events run (or be left for redelivery), waits for
// the handler's goroutines and stops the keeper.
func (c *Consumer[E]) finish() {
	if c.maxed != nil {
		_ = c.maxed.Unsubscribe()
	}
	c.sched.Close()
	<-c.sched.Done()
	c.keeper.stop()
}
