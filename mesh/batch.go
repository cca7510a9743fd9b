package mesh

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Batch defaults.
const (
	DefaultBatchSize = 100
	DefaultBatchWait = time.Second
)

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
func (e BatchErrors) Error() string {
	idx := e.indexes()
	parts := make([]string, len(idx))
	for n, i := range idx {
		parts[n] = "event " + strconv.Itoa(i) + ": " + e[i].Error()
	}
	return "mesh: batch: " + strings.Join(parts, "; ")
}

// Unwrap returns the per-event errors in index order, so errors.Is and
// errors.As see each of them.
func (e BatchErrors) Unwrap() []error {
	idx := e.indexes()
	errs := make([]error, len(idx))
	for n, i := range idx {
		errs[n] = e[i]
	}
	return errs
}

// indexes returns the indexes of failed events, in order.
func (e BatchErrors) indexes() []int {
	idx := make([]int, 0, len(e))
	for i, err := range e {
		if err != nil {
			idx = append(idx, i)
		}
	}
	sort.Ints(idx)
	return idx
}

// Batch sets how a batch handler collects events: up to size events, or
// what arrived within wait of the batch's first event. Default:
// DefaultBatchSize and DefaultBatchWait.
func Batch(size int, wait time.Duration) HandlerOption {
	return durableOption(func(o *durableOptions) {
		o.batchSize = size
		o.batchWait = wait
	})
}

// OnDurableBatch registers h as a durable handler that takes the events
// matching pattern in batches (see Batch), with the delivery guarantees of
// OnDurable and a per-event outcome. Batches run one at a time per instance,
// in stream order. Middleware, which wraps single-event handlers, does not
// apply: Use is refused, and Config.Middleware is skipped.
func (w *Worker) OnDurableBatch(ctx context.Context, pattern string, h BatchHandler, opts ...HandlerOption) (*Subscription, error) {
	if h == nil {
		return nil, fmt.Errorf("mesh: OnDurableBatch(%q): nil handler", pattern)
	}
	if len(newHandlerOptions(opts).middleware) > 0 {
		return nil, fmt.Errorf("mesh: OnDurableBatch(%q): middleware (Use) wraps single-event handlers; apply it per event inside the batch handler", pattern)
	}
	opts = append([]HandlerOption{durableOption(func(o *durableOptions) {
		o.batchSize, o.batchWait = DefaultBatchSize, DefaultBatchWait
	})}, opts...)
	return w.registerDurable(ctx, pattern, nil, h, opts)
}

// batcher collects a batch handler's events on a queue and runs them, one
// batch at a time in stream order, on its own goroutine: up to batchSize
// events, or what arrived within batchWait of a batch's first event.
type batcher struct {
	d *durable
	q *queue
}

func newBatcher(d *durable) *batcher {
	b := &batcher{d: d, q: newQueue()}
	d.spawn(b.loop)
	return b
}

func (b *batcher) add(t task) { b.q.push(t) }

func (b *batcher) loop() {
	size, wait := b.d.opts.durable.batchSize, b.d.opts.durable.batchWait
	for {
		first, ok := b.q.pop(nil)
		if !ok {
			return
		}
		tasks := []task{first}
		timer := time.NewTimer(wait)
		for len(tasks) < size {
			t, ok := b.q.pop(timer.C)
			if !ok {
				break
			}
			tasks = append(tasks, t)
		}
		timer.Stop()
		b.run(tasks)
	}
}

// run runs one batch and settles each of its events.
func (b *batcher) run(tasks []task) {
	d := b.d
	if d.w.handlerCtx.Err() != nil || d.abandoned.Load() {
		// Close gave up waiting, or the server is gone: leave the events
		// to be redelivered.
		return
	}
	events := make([]*Event, len(tasks))
	for i, t := range tasks {
		events[i] = t.ev
	}
	err := d.w.runBatch(d, events)
	var perEvent BatchErrors
	errors.As(err, &perEvent)
	for i, t := range tasks {
		switch {
		case err == nil:
			d.settle(t, nil)
		case perEvent != nil:
			d.settle(t, perEvent[i])
		default:
			d.settle(t, err)
		}
	}
}

// runBatch calls a batch handler with the handler's context, recovers a
// panic, counts the outcome per event and reports a failure.
func (w *Worker) runBatch(d *durable, events []*Event) error {
	ctx := w.handlerCtx
	if d.opts.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.opts.timeout)
		defer cancel()
	}
	w.stats.inFlight.Add(int64(len(events)))
	err := w.call(ctx, HandlerFunc(func(ctx context.Context, _ *Event) error { return d.batch.HandleBatch(ctx, events) }), events[0])
	w.stats.inFlight.Add(-int64(len(events)))
	var perEvent BatchErrors
	errors.As(err, &perEvent)
	for i, ev := range events {
		if err == nil || (perEvent != nil && perEvent[i] == nil) {
			w.stats.handled(ev.Type)
		} else {
			w.stats.failed(ev.Type)
		}
	}
	if err != nil {
		first := events[0]
		if idx := perEvent.indexes(); len(idx) > 0 && idx[0] < len(events) {
			first = events[idx[0]]
		}
		w.report(&HandlerError{Service: w.cfg.Service, Pattern: d.pattern, Event: first.Type, ID: first.ID, Err: err},
			"handler", d.name, "batch", len(events))
	}
	return err
}
