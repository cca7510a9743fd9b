// Package live holds a worker's live subscriptions. A route is one NATS
// subscription, to a subject filter with or without a queue group, and the
// bindings (the live handlers and responders, each one's scheduler) it
// feeds: handlers registered for the same pattern and delivery share a
// route, so that a delivery reaches each of them once. The worker decodes
// a route's messages and pushes each event to the route's bindings; this
// package subscribes, confirms, removes and stops routes, and counts the
// events the NATS client dropped on them.
package live

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
)

// Binding is one registered handler's scheduler: Close lets its queued
// events run and ends its goroutines.
type Binding interface {
	comparable
	Close()
}

// Key identifies a route.
type Key struct {
	Filter string // NATS subject filter
	Queue  string // queue group, "" for every instance
}

// Route is one NATS subscription and the bindings it feeds.
type Route[B Binding] struct {
	Key Key
	Sub *nats.Subscription
	// Bindings are read on every delivery, and copied on write under the
	// table's lock.
	Bindings atomic.Pointer[[]B]
}

// Limits are the pending limits of a route's subscription (see
// nats.Subscription.SetPendingLimits); Set says they are given.
type Limits struct {
	Msgs, Bytes int
	Set         bool
}

// Check refuses limits that are set and not positive, other than -1 (no
// limit).
func (l Limits) Check() error {
	if l.Set && (l.Msgs == 0 || l.Bytes == 0 || l.Msgs < -1 || l.Bytes < -1) {
		return fmt.Errorf("PendingLimits(%d, %d): want positive limits, or -1 for none", l.Msgs, l.Bytes)
	}
	return nil
}

// Table is a worker's routes. NC and Handler are set before use.
type Table[B Binding] struct {
	NC *nats.Conn
	// Handler returns the message handler of a new route's subscription.
	Handler func(r *Route[B]) nats.MsgHandler

	mu     sync.Mutex
	routes map[Key]*Route[B]
	// gone counts the drops of the subscriptions removed so far.
	gone atomic.Uint64
}

// Keys are the routes of service's live handler for pattern in namespace
// ns: the events sent to the service, through its queue group (one
// instance gets each), and the broadcasts, without it (every instance) or,
// with oncePerService, through it.
func Keys(ns, service, pattern string, oncePerService bool) ([]Key, error) {
	targeted, err := subjects.Filter(ns, service, pattern)
	if err != nil {
		return nil, err
	}
	queue := subjects.QueueGroup(service, pattern)
	broadcast, _ := subjects.Filter(ns, subjects.Broadcast, pattern)
	keys := []Key{{Filter: targeted, Queue: queue}, {Filter: broadcast}}
	if oncePerService {
		keys[1].Queue = queue
	}
	return keys, nil
}

// RequestKeys are the route of service's responder for pattern in
// namespace ns, through its queue group.
func RequestKeys(ns, service, pattern string) ([]Key, error) {
	filter, err := subjects.RequestFilter(ns, service, pattern)
	if err != nil {
		return nil, err
	}
	return []Key{{Filter: filter, Queue: subjects.QueueGroup(service, pattern)}}, nil
}

// Add adds b to the routes of keys, subscribing to those that are new, and
// returns b's routes. It refuses when usable, called under the table's
// lock, returns an error. When confirm, called after subscribing, returns
// true, it waits, until ctx ends, for the server to confirm the
// subscriptions (see refused). On failure b joins no route and is closed.
func (t *Table[B]) Add(ctx context.Context, b B, keys []Key, limits Limits, usable func() error, confirm func() bool) ([]*Route[B], error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := usable(); err != nil {
		b.Close()
		return nil, err
	}
	var routes []*Route[B]
	fail := func(err error) ([]*Route[B], error) {
		_ = t.removeLocked(routes, b)
		return nil, err
	}
	for _, key := range keys {
		r, err := t.routeLocked(key)
		if err == nil && limits.Set {
			err = r.Sub.SetPendingLimits(limits.Msgs, limits.Bytes)
		}
		if err != nil {
			return fail(err)
		}
		bindings := append(slices.Clone(*r.Bindings.Load()), b)
		r.Bindings.Store(&bindings)
		routes = append(routes, r)
	}
	if !confirm() {
		return routes, nil
	}
	if err := t.NC.FlushWithContext(ctx); err != nil {
		return fail(fmt.Errorf("the server did not confirm the subscription: %w", err))
	}
	if err := refused(t.NC, keys); err != nil {
		return fail(err)
	}
	return routes, nil
}

// refused returns the server's refusal of the subscription to one of
// keys. The server answers a subscription it refuses with an error before
// it answers the flush that follows, so after Flush the refusal, if any,
// is the connection's last error.
func refused(nc *nats.Conn, keys []Key) error {
	err := nc.LastError()
	if !errors.Is(err, nats.ErrPermissionViolation) {
		return nil
	}
	for _, k := range keys {
		if strings.Contains(err.Error(), "Subscription to \""+k.Filter+"\"") {
			return fmt.Errorf("the server refused the subscription to %s; check the user's subscribe permissions: %w", k.Filter, err)
		}
	}
	return nil
}

// routeLocked returns the route for key, subscribing if it is new.
func (t *Table[B]) routeLocked(key Key) (*Route[B], error) {
	if r, ok := t.routes[key]; ok {
		return r, nil
	}
	r := &Route[B]{Key: key}
	r.Bindings.Store(&[]B{})
	var err error
	if key.Queue == "" {
		r.Sub, err = t.NC.Subscribe(key.Filter, t.Handler(r))
	} else {
		r.Sub, err = t.NC.QueueSubscribe(key.Filter, key.Queue, t.Handler(r))
	}
	if err != nil {
		return nil, fmt.Errorf("subscribe to %s: %w", key.Filter, err)
	}
	if t.routes == nil {
		t.routes = make(map[Key]*Route[B])
	}
	t.routes[key] = r
	return r, nil
}

// Remove removes b from routes, unsubscribes the routes left without
// bindings and closes b, whose queued events still run. It returns the
// first failure to unsubscribe.
func (t *Table[B]) Remove(routes []*Route[B], b B) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.removeLocked(routes, b)
}

func (t *Table[B]) removeLocked(routes []*Route[B], b B) error {
	var firstErr error
	for _, r := range routes {
		bindings := slices.DeleteFunc(slices.Clone(*r.Bindings.Load()), func(x B) bool { return x == b })
		r.Bindings.Store(&bindings)
		if len(bindings) > 0 || t.routes[r.Key] != r {
			continue
		}
		delete(t.routes, r.Key)
		if n, err := r.Sub.Dropped(); err == nil {
			t.gone.Add(uint64(n))
		}
		if err := r.Sub.Unsubscribe(); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("unsubscribe from %s: %w", r.Key.Filter, err)
		}
	}
	b.Close()
	return firstErr
}

// Dropped is the number of live events the client dropped: those of the
// subscriptions removed so far, and those the current ones report.
func (t *Table[B]) Dropped() uint64 {
	total := t.gone.Load()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range t.routes {
		if n, err := r.Sub.Dropped(); err == nil {
			total += uint64(n)
		}
	}
	return total
}

// Stop stops every route, for Close: it drains each subscription, so that
// the events the client holds for it are dispatched, or unsubscribes it at
// once when the server is unreachable (a drain would wait for the server);
// then it closes the routes' bindings, whose goroutines end once their
// queued events have run.
func (t *Table[B]) Stop(ctx context.Context) error {
	t.mu.Lock()
	routes := slices.Collect(maps.Values(t.routes))
	t.mu.Unlock()
	for _, r := range routes {
		if err := t.stop(ctx, r.Sub); err != nil {
			return err
		}
	}
	closeBindings(routes)
	return nil
}

func (t *Table[B]) stop(ctx context.Context, sub *nats.Subscription) error {
	if !t.NC.IsConnected() {
		_ = sub.Unsubscribe()
		return nil
	}
	closed := sub.StatusChanged(nats.SubscriptionClosed)
	if err := sub.Drain(); err != nil {
		return nil // already closed
	}
	select {
	case <-closed:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("draining %s: %w", sub.Subject, ctx.Err())
	}
}

// CloseAll closes the bindings of every route, for a Close that gave up
// waiting.
func (t *Table[B]) CloseAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	closeBindings(slices.Collect(maps.Values(t.routes)))
}

func closeBindings[B Binding](routes []*Route[B]) {
	for _, r := range routes {
		for _, b := range *r.Bindings.Load() {
			b.Close()
		}
	}
}
