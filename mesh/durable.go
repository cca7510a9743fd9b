package mesh

import (
	"context"
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/internal/headers"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/mesh/internal/durable"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go/jetstream"
)

// durableHandler is one registered durable handler: its consumer, run by
// the durable engine.
type durableHandler struct {
	name     string
	pattern  string
	consumer *durable.Consumer[*Event] // nil until started (see Config.Background)
	// cfg and hooks start the consumer.
	cfg   durable.Config
	hooks durable.Hooks[*Event]
}

// OnDurable registers h as a durable handler for the events matching
// pattern, sent to this service or broadcast: one JetStream durable consumer
// per service and handler, shared by all the service's instances (each event
// reaches one instance), which resumes where it stopped after a restart or
// an outage. It waits for the server until ctx ends.
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
func (w *Worker) OnDurable(ctx context.Context, pattern string, h Handler, opts ...DurableOption) (*Subscription, error) {
	var o handlerOptions
	for _, opt := range opts {
		opt.applyDurable(&o)
	}
	if h == nil {
		return nil, fmt.Errorf("mesh: on durable %q: nil handler", pattern)
	}
	h = w.wrap(h, o)
	return w.registerDurable(ctx, pattern, o.withDurableDefaults(false), func(events []*Event) []error {
		ev := events[0]
		err := w.call(o.timeout, 1, func(ctx context.Context) error { return h.HandleEvent(ctx, ev) })
		return []error{w.outcome(pattern, false, ev, err, true)}
	})
}

// durableConfig is the consumer and engine configuration of service's
// durable handler for pattern, whose options have their defaults.
func durableConfig(ns, service, pattern string, o handlerOptions) (durable.Config, error) {
	if err := o.validateDurable(); err != nil {
		return durable.Config{}, fmt.Errorf("mesh: on durable %q: %w", pattern, err)
	}
	targeted, err := subjects.Filter(ns, service, pattern)
	if err != nil {
		return durable.Config{}, fmt.Errorf("mesh: on durable %q: %w", pattern, err)
	}
	broadcast, _ := subjects.Filter(ns, subjects.Broadcast, pattern)
	name := o.durable.name
	if name == "" {
		name = subjects.ConsumerName(service, pattern)
	}
	return durable.Config{
		Stream:      subjects.EventStream(ns),
		Name:        name,
		Description: "ipcmesh: " + service + " handler for " + pattern,
		Filters:     []string{targeted, broadcast},
		Namespace:   ns, Service: service,
		MaxDeliver: o.durable.maxDeliver, Backoff: o.durable.backoff, AckWait: o.durable.ackWait,
		Concurrency: o.concurrency, ByKey: o.durable.byKey, Prefetch: o.durable.prefetch,
		Batch: o.durable.batchSize, BatchWait: o.durable.batchWait,
		Start: *o.durable.start, InactiveExpiry: o.durable.expiry, Pinned: o.durable.byKey,
	}, nil
}

// registerDurable starts the consumer of a durable handler whose options
// have their defaults; handle runs the handler for a call's events.
func (w *Worker) registerDurable(ctx context.Context, pattern string, o handlerOptions, handle func([]*Event) []error) (*Subscription, error) {
	cfg, err := durableConfig(w.cfg.Namespace, w.cfg.Service, pattern, o)
	if err != nil {
		return nil, err
	}
	cfg.Bind = w.cfg.Stream.Provisioned
	name := cfg.Name
	d := &durableHandler{name: name, pattern: pattern, cfg: cfg}
	d.hooks = durable.Hooks[*Event]{
		Decode:       func(msg jetstream.Msg, dl durable.Delivery) (*Event, error) { return w.decodeDurable(name, msg, dl) },
		Key:          partitionKey,
		Handle:       handle,
		Permanent:    IsPermanent,
		Report:       func(err error) { w.report(err) },
		DeadLettered: w.deadLettered,
		Unseen:       w.unseen,
		Enter:        func(release func()) func() { return w.callers.Enter(d, release) },
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return nil, fmt.Errorf("mesh: on durable %q: %w", pattern, err)
	}
	if _, dup := w.durables[name]; dup {
		return nil, fmt.Errorf("mesh: on durable %q: this worker already has a durable handler named %q", pattern, name)
	}
	if !w.isReady() {
		// Connecting in the background: the consumer starts once the
		// worker is ready.
		w.durables[name] = d
		return &Subscription{w: w, pattern: pattern, durable: d}, nil
	}
	if err := w.startDurable(ctx, d); err != nil {
		return nil, err
	}
	w.durables[name] = d
	return &Subscription{w: w, pattern: pattern, durable: d}, nil
}

// startDurable starts d's consumer; the caller holds w.mu.
func (w *Worker) startDurable(ctx context.Context, d *durableHandler) error {
	if !w.durable.Load() {
		return fmt.Errorf("mesh: on durable %q: namespace %q has no event stream %s: set Config.Stream.Manage, or create it with streams.Ensure",
			d.pattern, w.cfg.Namespace, subjects.EventStream(w.cfg.Namespace))
	}
	c, err := durable.Start(ctx, w.handlerCtx, w.js, w.nc.MaxPayload, d.cfg, d.hooks, &w.stats.durable(d.name).Counters)
	if err != nil {
		return fmt.Errorf("mesh: on durable %q: %w", d.pattern, err)
	}
	d.consumer = c
	return nil
}

// decodeDurable decodes a durable handler's message into an Event; a
// message that is not a valid CloudEvent is reported (and then
// dead-lettered).
func (w *Worker) decodeDurable(handler string, msg jetstream.Msg, dl durable.Delivery) (*Event, error) {
	ev := &Event{NATSSubject: dl.Subject, StreamSequence: dl.Sequence, Deliveries: dl.Deliveries, Handler: handler,
		Replayed: isReplay(msg.Headers())}
	ev.Target = subjects.TargetOf(ev.NATSSubject, w.cfg.Namespace)
	if err := codec.DecodeOwned(msg.Headers(), msg.Data(), &ev.Event); err != nil {
		w.stats.invalid.Add(1)
		err = fmt.Errorf("%w: %w", ErrInvalidMessage, err)
		w.report(fmt.Errorf("mesh: durable handler %s: %w", handler, err), "subject", ev.NATSSubject)
		return ev, err
	}
	setFiring(&ev.Event, msg.Headers(), func() time.Time {
		meta, err := msg.Metadata()
		if err != nil {
			return time.Now()
		}
		return meta.Timestamp
	})
	w.stats.received(ev.Type)
	return ev, nil
}

// partitionKey is the key that orders an event among those of
// OrderedByKey durable handlers: its partition key, or its id.
func partitionKey(ev *Event) string {
	if key, ok := ev.Extension(subjects.PartitionKeyExtension); ok {
		return key
	}
	return ev.ID
}

func (w *Worker) deadLettered(ev *Event, reason string) {
	w.log.Warn("mesh: event dead-lettered", "handler", ev.Handler, "event", headers.Truncate(ev.Type, maxLoggedField),
		"id", headers.Truncate(ev.ID, maxLoggedField), "stream_seq", ev.StreamSequence, "reason", headers.Truncate(reason, 1024))
	if w.cfg.OnDeadLetter != nil {
		w.cfg.OnDeadLetter(ev, reason)
	}
}

// unseen counts an event that a durable handler never saw (the NATS client
// took it for a status message) as invalid, and says why.
func (w *Worker) unseen(sequence, deliveries uint64) error {
	w.stats.invalid.Add(1)
	return fmt.Errorf("%w: the event at stream sequence %d was delivered %d times without reaching the handler (the NATS client took it for a status message: an empty body with a Status header); the server gave up on it",
		ErrInvalidMessage, sequence, deliveries)
}

// offDurable stops one durable handler in this instance; its consumer
// stays.
func (w *Worker) offDurable(ctx context.Context, d *durableHandler) error {
	w.callers.Release(d)
	w.mu.Lock()
	c := d.consumer
	w.mu.Unlock()
	var err error
	if c != nil {
		err = c.Stop(ctx, w.nc.IsConnected())
	}
	w.mu.Lock()
	if w.durables[d.name] == d {
		delete(w.durables, d.name)
	}
	w.mu.Unlock()
	if err != nil {
		return fmt.Errorf("mesh: off %q: %w", d.pattern, err)
	}
	return nil
}
