package mesh

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/internal/headers"
	"github.com/exprsn/ipcmesh/mesh/internal/durable"
	"github.com/exprsn/ipcmesh/mesh/internal/inbound"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go/jetstream"
)

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
	return w.registerDurable(ctx, pattern, o, false, func(events []*Event) []error {
		ev := events[0]
		return []error{w.invoke(pattern, false, ev, o.timeout, func(ctx context.Context) error { return h.HandleEvent(ctx, ev) })}
	})
}

// durableConfig checks the options o of service's durable handler for
// pattern in namespace ns, with their defaults, and returns its
// configuration; batch says it is a batch handler.
func durableConfig(ns, service, pattern string, o handlerOptions, batch bool) (durable.Config, error) {
	cfg, err := durable.NewConfig(ns, service, pattern, o.durable, o.concurrency, batch, durable.Defaults{
		MaxDeliver: DefaultMaxDeliver, Backoff: DefaultBackoff, AckWait: DefaultAckWait,
		Prefetch: DefaultPrefetch, BatchSize: DefaultBatchSize, BatchWait: DefaultBatchWait,
	})
	if err != nil {
		return durable.Config{}, fmt.Errorf("mesh: on durable %q: %w", pattern, err)
	}
	return cfg, nil
}

// registerDurable registers a durable handler, with options o; handle
// runs the handler for a call's events.
func (w *Worker) registerDurable(ctx context.Context, pattern string, o handlerOptions, batch bool, handle func([]*Event) []error) (*Subscription, error) {
	cfg, err := durableConfig(w.cfg.Namespace, w.cfg.Service, pattern, o, batch)
	if err != nil {
		return nil, err
	}
	cfg.Bind = w.cfg.Stream.Provisioned
	d := &durable.Handler[*Event]{Pattern: pattern, Config: cfg}
	d.Hooks = durable.Hooks[*Event]{
		Decode: func(msg jetstream.Msg, dl durable.Delivery) (*Event, error) {
			return w.decodeDurable(cfg.Name, msg, dl)
		},
		Key:          partitionKey,
		Handle:       handle,
		Permanent:    IsPermanent,
		Report:       func(err error) { w.report(err) },
		DeadLettered: w.deadLettered,
		Unseen:       w.unseen,
		Enter:        func(release func()) func() { return w.callers.Enter(d, release) },
	}
	if err := w.durables.Add(ctx, d, w.conn.Usable); err != nil {
		return nil, err
	}
	return &Subscription{w: w, pattern: pattern, durable: d}, nil
}

// startDurable starts d's consumer, once the worker is ready.
func (w *Worker) startDurable(ctx context.Context, d *durable.Handler[*Event]) (*durable.Consumer[*Event], error) {
	if !w.store.Durable() {
		return nil, w.store.Missing()
	}
	return durable.Start(ctx, w.handlerCtx, w.store.JS, w.nc.MaxPayload, d.Config, d.Hooks, &w.stats.Durable(d.Config.Name).Counters)
}

// decodeDurable decodes a durable handler's message into an Event; a
// message that is not a valid CloudEvent is reported (and then
// dead-lettered).
func (w *Worker) decodeDurable(handler string, msg jetstream.Msg, dl durable.Delivery) (*Event, error) {
	ev := &Event{NATSSubject: dl.Subject, StreamSequence: dl.Sequence, Deliveries: dl.Deliveries, Handler: handler,
		Replayed: inbound.Replayed(msg.Headers())}
	ev.Target = subjects.TargetOf(ev.NATSSubject, w.cfg.Namespace)
	if err := inbound.Stored(&ev.Event, msg); err != nil {
		w.stats.Invalid.Add(1)
		err = fmt.Errorf("%w: %w", ErrInvalidMessage, err)
		w.report(fmt.Errorf("mesh: durable handler %s: %w", handler, err), "subject", ev.NATSSubject)
		return ev, err
	}
	w.stats.Received(ev.Type)
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
	w.stats.Invalid.Add(1)
	return fmt.Errorf("%w: the event at stream sequence %d was delivered %d times without reaching the handler (the NATS client took it for a status message: an empty body with a Status header); the server gave up on it",
		ErrInvalidMessage, sequence, deliveries)
}

// BatchHandler handles durable events in batches. It returns nil when every
// event succeeded, a BatchErrors naming the events that failed (the others
// are acknowledged), or any other error to fail them all. Failed events are
// retried or dead-lettered one by one, as for OnDurable.
type BatchHandler interface {
	HandleBatch(ctx context.Context, events []*Event) error
}

// BatchHandlerFunc adapts a function to a BatchHandler.
type BatchHandlerFunc func(ctx context.Context, events []*Event) error

// HandleBatch calls f(ctx, events).
func (f BatchHandlerFunc) HandleBatch(ctx context.Context, events []*Event) error {
	return f(ctx, events)
}

// BatchErrors is a BatchHandler's per-event outcome: the errors of the
// failed events by their index in the batch. Wrap an error in Permanent to
// dead-letter that event at once.
type BatchErrors map[int]error

// Error lists the failed events by index.
func (e BatchErrors) Error() string { return durable.BatchError(e) }

// Unwrap returns the per-event errors in index order, so errors.Is and
// errors.As see each of them.
func (e BatchErrors) Unwrap() []error { return durable.BatchErrors(e) }

// OnDurableBatch registers h as a durable handler that takes the events
// matching pattern in batches (see Batch), with the delivery guarantees of
// OnDurable and a per-event outcome. Batches run one at a time per
// instance, in stream order. Middleware, which wraps single-event
// handlers, does not apply (Config.Middleware is skipped).
func (w *Worker) OnDurableBatch(ctx context.Context, pattern string, h BatchHandler, opts ...BatchOption) (*Subscription, error) {
	var o handlerOptions
	for _, opt := range opts {
		opt.applyBatch(&o)
	}
	if h == nil {
		return nil, fmt.Errorf("mesh: on durable batch %q: nil handler", pattern)
	}
	return w.registerDurable(ctx, pattern, o, true, func(events []*Event) []error {
		return w.handleBatch(h, pattern, o, events)
	})
}

// handleBatch calls a batch handler and returns each event's outcome,
// counted as for single events; a failure is reported once for the batch,
// naming its first failed event.
func (w *Worker) handleBatch(h BatchHandler, pattern string, o handlerOptions, events []*Event) []error {
	returned := false
	defer func() {
		if !returned { // the handler ended its goroutine: errExited
			for _, ev := range events {
				w.outcome(pattern, false, ev, 0, errExited, false)
			}
			w.reportBatch(pattern, events, 0, errExited)
		}
	}()
	took, err := w.call(pattern, events[0], o.timeout, len(events), func(ctx context.Context) error { return h.HandleBatch(ctx, events) })
	returned = true
	took /= time.Duration(len(events)) // each event's share of the call
	var perEvent BatchErrors
	errors.As(err, &perEvent)
	outcomes := make([]error, len(events))
	first := -1
	for i, ev := range events {
		switch {
		case err == nil:
		case perEvent != nil:
			outcomes[i] = perEvent[i]
		default:
			outcomes[i] = err
		}
		outcomes[i] = w.outcome(pattern, false, ev, took, outcomes[i], false)
		if outcomes[i] != nil && first < 0 {
			first = i
		}
	}
	if first >= 0 {
		w.reportBatch(pattern, events, first, err)
	}
	return outcomes
}

// reportBatch reports a batch handler's failure err, naming the batch's
// event i.
func (w *Worker) reportBatch(pattern string, events []*Event, i int, err error) {
	w.report(&HandlerError{Service: w.cfg.Service, Pattern: pattern, Event: events[i].Type, ID: events[i].ID, Err: err},
		"handler", events[i].Handler, "batch", len(events))
}
