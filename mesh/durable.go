package mesh

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go/jetstream"
)

// Durable handler defaults, used for options not given.
const (
	// DefaultMaxDeliver is how many times a durable handler is called for
	// one event before it is dead-lettered.
	DefaultMaxDeliver = 5
	// DefaultAckWait is how long the server waits for a durable handler's
	// outcome before redelivering; running handlers extend it
	// automatically.
	DefaultAckWait = 30 * time.Second
	// DefaultPrefetch is how many events a durable handler's instance holds
	// ready in memory.
	DefaultPrefetch = 500
)

// pullExpiry bounds each pull request of a durable handler. nats.go pulls
// again when one expires; a short one bounds the rare stall in which a
// consumer has events pending and no pull request waiting (the client
// otherwise notices only after two missed heartbeats, 30 seconds).
const pullExpiry = 5 * time.Second

// DefaultBackoff is the delay before each retry of a failed durable event:
// the first retry after 1s, the second after 5s, then 30s, then 2m for every
// further retry.
var DefaultBackoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute}

type durableOptions struct {
	set         bool
	name        string
	maxDeliver  int
	backoff     []time.Duration
	ackWait     time.Duration
	concurrency int
	byKey       bool
	prefetch    int
	batchSize   int
	batchWait   time.Duration
}

func durableOption(f func(*durableOptions)) HandlerOption {
	return func(o *handlerOptions) {
		o.durable.set = true
		f(&o.durable)
	}
}

// DurableName names the handler's durable consumer. Default:
// "<service>_<pattern>_<hash>", with ':' as '_', '*' as "STAR" and '>' as
// "ALL". Instances of a service share a consumer by name; renaming a
// handler starts a new consumer at the stream's start.
func DurableName(name string) HandlerOption {
	return durableOption(func(o *durableOptions) { o.name = name })
}

// MaxDeliver is how many times an event is handed to the durable handler
// before it goes to the dead-letter stream. Default: DefaultMaxDeliver.
func MaxDeliver(n int) HandlerOption {
	return durableOption(func(o *durableOptions) { o.maxDeliver = n })
}

// Backoff sets the delays before the retries of a failed event, done by the
// server (the event is negatively acknowledged with that delay; other events
// go on meanwhile). The last delay repeats. Default: DefaultBackoff.
func Backoff(delays ...time.Duration) HandlerOption {
	return durableOption(func(o *durableOptions) { o.backoff = delays })
}

// AckWait is how long the server waits for the outcome of an event before
// it redelivers it. A running handler keeps its event by telling the server
// it is in progress every AckWait/3. Default: DefaultAckWait.
func AckWait(d time.Duration) HandlerOption {
	return durableOption(func(o *durableOptions) { o.ackWait = d })
}

// OrderedByKey keeps the order of events that share a partition key (the
// CloudEvents partitionkey extension, set with WithPartitionKey) while
// running up to Concurrency events with different keys at once. Events
// without a key are spread over the lanes by id.
func OrderedByKey() HandlerOption {
	return durableOption(func(o *durableOptions) { o.byKey = true })
}

// Prefetch is how many events an instance pulls ahead of its handler. They
// are reported in progress while they wait, so a slow handler does not see
// them redelivered; other instances cannot take them meanwhile, so lower it
// when events are slow and instances many. Default: DefaultPrefetch.
func Prefetch(n int) HandlerOption {
	return durableOption(func(o *durableOptions) { o.prefetch = n })
}

func (o durableOptions) withDefaults() durableOptions {
	if o.maxDeliver == 0 {
		o.maxDeliver = DefaultMaxDeliver
	}
	if len(o.backoff) == 0 {
		o.backoff = DefaultBackoff
	}
	if o.ackWait == 0 {
		o.ackWait = DefaultAckWait
	}
	if o.concurrency == 0 {
		o.concurrency = 1
	}
	if o.prefetch == 0 {
		o.prefetch = max(DefaultPrefetch, 2*o.concurrency)
	}
	return o
}

func (o durableOptions) validate() error {
	switch {
	case o.maxDeliver < 1:
		return fmt.Errorf("MaxDeliver %d: want at least 1", o.maxDeliver)
	case o.ackWait < time.Second:
		return fmt.Errorf("AckWait %s: want at least 1s", o.ackWait)
	case o.concurrency < 1:
		return fmt.Errorf("Concurrency %d: want at least 1", o.concurrency)
	case o.prefetch < 1:
		return fmt.Errorf("Prefetch %d: want at least 1", o.prefetch)
	case o.batchSize < 0, o.batchWait < 0:
		return fmt.Errorf("Batch(%d, %s): want a positive size and wait", o.batchSize, o.batchWait)
	}
	for _, d := range o.backoff {
		if d < 0 {
			return fmt.Errorf("Backoff %s: delays cannot be negative", d)
		}
	}
	if o.name != "" {
		if err := validDurableName(o.name); err != nil {
			return err
		}
	}
	return nil
}

func validDurableName(name string) error {
	if name == "" || len(name) > maxDurableName || strings.ContainsAny(name, ".*> \t\r\n/\\") {
		return fmt.Errorf("DurableName %q: want 1 to 200 characters without '.', '*', '>', '/', '\\\\' or whitespace", name)
	}
	return nil
}

// maxDurableName bounds the names of durable consumers, derived or given
// (JetStream allows 255 bytes, and the name travels in API subjects).
const maxDurableName = 200

// durableName derives a consumer name from the service and pattern:
// "<service>_<pattern>_<hash of pattern>". When that is longer than
// maxDurableName, the readable part is cut and the hash covers the whole
// pattern, so distinct patterns keep distinct names.
func durableName(service, pattern string) string {
	h := fnv.New32a()
	h.Write([]byte(pattern))
	r := strings.NewReplacer(":", "_", "*", "STAR", ">", "ALL")
	readable := service + "_" + r.Replace(pattern)
	if len(readable)+9 <= maxDurableName {
		return readable + "_" + strconv.FormatUint(uint64(h.Sum32()), 16)
	}
	h64 := fnv.New64a()
	h64.Write([]byte(pattern))
	sum := strconv.FormatUint(h64.Sum64(), 16)
	return readable[:maxDurableName-len(sum)-1] + "_" + sum
}

// Permanent marks err as permanent: a durable handler returning it sends
// its event to the dead-letter stream at once instead of retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return "permanent: " + e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// durable is one registered durable handler: its consumer and how its
// events run.
type durable struct {
	w        *Worker
	name     string
	pattern  string
	handler  Handler      // nil for a batch handler
	batch    BatchHandler // nil for a single-event handler
	opts     handlerOptions
	cons     jetstream.Consumer
	cc       jetstream.ConsumeContext
	exec     *executor // nil for a batch handler
	batcher  *batcher  // nil for a single-event handler
	keeper   *keeper
	stats    *durableCounters
	stopOnce sync.Once
	stopErr  error

	// goroutines counts the goroutines that run the handler's calls.
	goroutines sync.WaitGroup
	// abandoned is set when stop gave up on the events not yet running:
	// they are left for redelivery.
	abandoned atomic.Bool
}

// OnDurable registers h as a durable handler for the events matching
// pattern, sent to this service or broadcast: one JetStream durable consumer
// per service and handler, shared by all the service's instances (each event
// reaches one instance), which resumes where it stopped after a restart or
// an outage.
//
// Each event is acknowledged only after h returns nil. When h fails, the
// server redelivers the event after the Backoff delay while other events go
// on; after MaxDeliver tries, or at once when h returns a Permanent error,
// the event goes to the dead-letter stream with the reason. A running
// handler keeps its event (it is reported in progress), and a handler that
// panics fails like one that returns an error. Close stops taking events,
// lets running handlers finish and acknowledges them; it never deletes the
// consumer. Registering again with other options updates the consumer.
//
// OnDurable needs the namespace's event stream (see StreamConfig).
func (w *Worker) OnDurable(ctx context.Context, pattern string, h Handler, opts ...HandlerOption) (*Subscription, error) {
	if h == nil {
		return nil, fmt.Errorf("mesh: OnDurable(%q): nil handler", pattern)
	}
	return w.registerDurable(ctx, pattern, h, nil, opts)
}

func (w *Worker) registerDurable(ctx context.Context, pattern string, h Handler, bh BatchHandler, opts []HandlerOption) (*Subscription, error) {
	o := newHandlerOptions(opts)
	o.durable.concurrency = o.concurrency
	o.durable = o.durable.withDefaults()
	if o.oncePerService {
		return nil, fmt.Errorf("mesh: OnDurable(%q): OncePerService is implied: a durable handler's events reach one instance", pattern)
	}
	if o.pending.set {
		return nil, fmt.Errorf("mesh: OnDurable(%q): PendingLimits is for live handlers: a durable handler's events wait in the stream (see Prefetch)", pattern)
	}
	if err := o.durable.validate(); err != nil {
		return nil, fmt.Errorf("mesh: OnDurable(%q): %w", pattern, err)
	}
	if !w.durable {
		return nil, fmt.Errorf("mesh: OnDurable(%q): namespace %q has no event stream %s: create it with meshctl serve, or set Config.Stream.Manage",
			pattern, w.cfg.Namespace, EventStreamName(w.cfg.Namespace))
	}
	targeted, err := subjects.Filter(w.cfg.Namespace, w.cfg.Service, pattern)
	if err != nil {
		return nil, fmt.Errorf("mesh: OnDurable: %w", err)
	}
	broadcast, _ := subjects.Filter(w.cfg.Namespace, subjects.Broadcast, pattern)
	name := o.durable.name
	if name == "" {
		name = durableName(w.cfg.Service, pattern)
	}
	d := &durable{w: w, name: name, pattern: pattern, opts: o, batch: bh, stats: w.stats.durable(name)}
	if h != nil {
		d.handler = w.wrap(h, o)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state.Load() != stateOpen {
		return nil, ErrClosed
	}
	if _, dup := w.durables[name]; dup {
		return nil, fmt.Errorf("mesh: OnDurable(%q): this worker already has a durable handler named %q", pattern, name)
	}
	d.cons, err = w.js.CreateOrUpdateConsumer(ctx, EventStreamName(w.cfg.Namespace), jetstream.ConsumerConfig{
		Durable:        name,
		Description:    "ipcmesh: " + w.cfg.Service + " handler for " + pattern,
		FilterSubjects: []string{targeted, broadcast},
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        o.durable.ackWait,
		// No server limit: receive dead-letters an event past its tries,
		// even when its last try never reported (a crash), and an event
		// whose dead letter cannot be stored is retried, not dropped.
		MaxDeliver: -1,
		// The executor's lanes hold at most this many events.
		MaxAckPending: o.durable.prefetch,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("mesh: OnDurable(%q): create or update consumer %s: %w%s", pattern, name, err, jetStreamHint(err))
	}
	d.keeper = newKeeper(o.durable.ackWait / 3)
	if bh != nil {
		d.batcher = newBatcher(d)
	} else {
		d.exec = newExecutor(o.durable, d.process, d.spawn)
	}
	d.cc, err = d.cons.Consume(d.receive,
		jetstream.PullMaxMessages(o.durable.prefetch),
		jetstream.PullExpiry(pullExpiry),
		jetstream.ConsumeErrHandler(d.consumeError))
	if err != nil {
		d.finish()
		return nil, fmt.Errorf("mesh: OnDurable(%q): consume %s: %w", pattern, name, err)
	}
	w.durables[name] = d
	return &Subscription{w: w, b: &binding{pattern: pattern}, durable: d}, nil
}

func (d *durable) consumeError(_ jetstream.ConsumeContext, err error) {
	if errors.Is(err, jetstream.ErrNoHeartbeat) || errors.Is(err, jetstream.ErrConsumerNotFound) {
		d.w.report(fmt.Errorf("mesh: durable handler %s: %w (retrying)", d.name, err))
		return
	}
	d.w.log.Debug("mesh: durable consume", "handler", d.name, "error", err)
}

// spawn runs loop on a goroutine that runs the handler's calls, and that
// finish waits for.
func (d *durable) spawn(loop func()) {
	d.goroutines.Add(1)
	go func() {
		c, leave := d.w.enter(d, d.goroutines.Done)
		defer leave()
		defer func() {
			if !c.released {
				d.goroutines.Done()
			}
		}()
		loop()
	}()
}

// finish lets the queued events run (or be left for redelivery when the
// worker's connection is gone), waits for the handler's goroutines and
// stops the keeper.
func (d *durable) finish() {
	if d.batcher != nil {
		d.batcher.q.close()
	} else {
		d.exec.close()
	}
	d.goroutines.Wait()
	d.keeper.stop()
}

// stop stops pulling, lets pulled and running events finish, and waits for
// them or ctx. When ctx ends first, the rest of the shutdown goes on in the
// background, so no goroutine is left behind. When the server is
// unreachable, the events not yet running are left for redelivery: they
// could not be acknowledged. Called from inside one of the handler's calls,
// it does not wait for that call. Later calls return the first call's
// result.
func (d *durable) stop(ctx context.Context) error {
	d.w.releaseCaller(d)
	d.stopOnce.Do(func() {
		if d.w.nc.IsConnected() {
			d.cc.Drain()
		} else {
			d.abandoned.Store(true)
			d.cc.Stop()
		}
		stopped := make(chan struct{})
		go func() {
			<-d.cc.Closed() // after the last callback, so nothing is queued later
			d.finish()
			close(stopped)
		}()
		select {
		case <-stopped:
		case <-ctx.Done():
			d.abandoned.Store(true)
			d.cc.Stop()
			d.stopErr = fmt.Errorf("waiting for durable handler %s: %w", d.name, ctx.Err())
		}
	})
	return d.stopErr
}

// offDurable stops one durable handler in this instance; its consumer stays.
func (w *Worker) offDurable(ctx context.Context, d *durable) error {
	err := d.stop(ctx)
	w.mu.Lock()
	if w.durables[d.name] == d {
		delete(w.durables, d.name)
	}
	w.mu.Unlock()
	if err != nil {
		return fmt.Errorf("mesh: Off: %w", err)
	}
	return nil
}
