package mesh

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
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
	return w.registerDurable(ctx, pattern, o.withDurableDefaults(true), func(events []*Event) []error {
		return w.handleBatch(h, pattern, o, events)
	})
}

// handleBatch calls a batch handler and returns each event's outcome,
// counted as for single events; a failure is reported once for the batch,
// naming its first failed event.
func (w *Worker) handleBatch(h BatchHandler, pattern string, o handlerOptions, events []*Event) []error {
	err := w.call(o.timeout, len(events), func(ctx context.Context) error { return h.HandleBatch(ctx, events) })
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
		outcomes[i] = w.outcome(pattern, false, ev, outcomes[i], false)
		if outcomes[i] != nil && first < 0 {
			first = i
		}
	}
	if first >= 0 {
		w.report(&HandlerError{Service: w.cfg.Service, Pattern: pattern, Event: events[first].Type, ID: events[first].ID, Err: err},
			"handler", events[first].Handler, "batch", len(events))
	}
	return outcomes
}
