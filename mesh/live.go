package mesh

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/mesh/internal/sched"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
)

// A route is one NATS subscription of the worker and the handlers it feeds.
// Handlers registered for the same pattern and delivery share a route, so a
// delivery reaches each of them once.
type route struct {
	key      routeKey
	sub      *nats.Subscription
	handlers atomic.Pointer[[]*binding] // copy on write, under Worker.mu
}

type routeKey struct {
	filter string // NATS subject filter
	queue  string // queue group, "" for every instance
}

// binding is one live handler or responder as registered: what Off
// removes. Its calls run on its scheduler: at most Concurrency events are
// queued or running, on reused goroutines, at most maxIdleRunners of which
// wait for the next event.
type binding struct {
	pattern   string
	handler   Handler
	opts      handlerOptions
	responder bool
	sched     *sched.Scheduler[*Event]
}

// maxIdleRunners is how many goroutines of one live handler wait for its
// next event.
const maxIdleRunners = 1

func (w *Worker) newBinding(pattern string, h Handler, o handlerOptions, responder bool) *binding {
	b := &binding{pattern: pattern, handler: w.wrap(h, o), opts: o, responder: responder}
	b.sched = sched.New(sched.Config{
		Workers: o.concurrency, Bound: o.concurrency, Idle: maxIdleRunners, Group: &w.inflight,
		Enter: func(release func()) func() { return w.callers.Enter(b, release) },
	}, func(evs []*Event) { w.run(b, evs[0]) })
	return b
}

// run calls a live handler for one event, and answers a request it failed.
func (w *Worker) run(b *binding, ev *Event) {
	err := w.call(b.opts.timeout, 1, func(ctx context.Context) error { return b.handler.HandleEvent(ctx, ev) })
	err = w.outcome(b.pattern, b.responder, ev, err, true)
	if err != nil && b.responder && ev.reply != "" {
		w.replyError(ev.reply, asRemoteError(err))
	}
}

// liveOptions checks a live handler's options and sets its default
// concurrency.
func (w *Worker) liveOptions(o *handlerOptions) error {
	if o.concurrency < 0 {
		return fmt.Errorf("Concurrency %d: want at least 1", o.concurrency)
	}
	if o.concurrency == 0 {
		o.concurrency = w.cfg.MaxConcurrent
	}
	if p := o.pending; p.set && (p.msgs == 0 || p.bytes == 0 || p.msgs < -1 || p.bytes < -1) {
		return fmt.Errorf("PendingLimits(%d, %d): want positive limits, or -1 for none", p.msgs, p.bytes)
	}
	return nil
}

// Subscription is a registered handler; Off removes it.
type Subscription struct {
	w       *Worker
	pattern string
	b       *binding        // a live handler's
	routes  []*route        // a live handler's
	durable *durableHandler // a durable handler's
	offOnce sync.Once
	offErr  error
}

// Pattern is the event pattern the handler was registered with.
func (s *Subscription) Pattern() string { return s.pattern }

// Off removes exactly this handler: it receives no event delivered after
// Off returns, while calls already running or queued finish. Other
// handlers on the same pattern keep theirs. Off is idempotent.
//
// For a durable handler, Off stops this instance's consumption after the
// events it holds are handled, waiting for them until ctx ends; the
// durable consumer stays on the server, and other instances go on. Called
// from inside the handler, Off does not wait for that call.
func (s *Subscription) Off(ctx context.Context) error {
	s.offOnce.Do(func() {
		if s.durable != nil {
			s.offErr = s.w.offDurable(ctx, s.durable)
			return
		}
		s.w.mu.Lock()
		defer s.w.mu.Unlock()
		s.offErr = s.w.offLocked(s)
	})
	return s.offErr
}

// On registers h for the events matching pattern: an event name
// ("post:created") or a pattern with NATS-style wildcards ("user:*" for one
// segment, "content:>" for one or more). h receives the events sent to this
// service, each reaching one instance of the service, and the broadcasts,
// each reaching every instance (or one, with OncePerService).
//
// Several handlers may listen to one event; each receives it. On returns
// once the server knows of the subscription, so events emitted after it
// returns reach h; it waits for the server until ctx ends, or for
// Config.RequestTimeout when ctx has no deadline.
func (w *Worker) On(ctx context.Context, pattern string, h Handler, opts ...OnOption) (*Subscription, error) {
	var o handlerOptions
	for _, opt := range opts {
		opt.applyOn(&o)
	}
	if h == nil {
		return nil, fmt.Errorf("mesh: on %q: nil handler", pattern)
	}
	if err := w.liveOptions(&o); err != nil {
		return nil, fmt.Errorf("mesh: on %q: %w", pattern, err)
	}
	queue := subjects.QueueGroup(w.cfg.Service, pattern)
	targeted, err := subjects.Filter(w.cfg.Namespace, w.cfg.Service, pattern)
	if err != nil {
		return nil, fmt.Errorf("mesh: on %q: %w", pattern, err)
	}
	broadcast, _ := subjects.Filter(w.cfg.Namespace, subjects.Broadcast, pattern)
	keys := []routeKey{{filter: targeted, queue: queue}, {filter: broadcast}}
	if o.oncePerService {
		keys[1].queue = queue
	}
	return w.register(ctx, w.newBinding(pattern, h, o, false), keys)
}

// register subscribes binding b to the routes of keys, and waits for the
// server to confirm.
func (w *Worker) register(ctx context.Context, b *binding, keys []routeKey) (*Subscription, error) {
	s := &Subscription{w: w, pattern: b.pattern, b: b}
	what := "on"
	if b.responder {
		what = "on request"
	}
	ctx, cancel := w.bounded(ctx)
	defer cancel()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		b.sched.Close()
		return nil, fmt.Errorf("mesh: %s %q: %w", what, b.pattern, err)
	}
	for _, key := range keys {
		r, err := w.routeLocked(key)
		if err == nil && b.opts.pending.set {
			err = r.sub.SetPendingLimits(b.opts.pending.msgs, b.opts.pending.bytes)
		}
		if err != nil {
			w.offLocked(s)
			return nil, fmt.Errorf("mesh: %s %q: %w", what, b.pattern, err)
		}
		handlers := append(slices.Clone(*r.handlers.Load()), b)
		r.handlers.Store(&handlers)
		s.routes = append(s.routes, r)
	}
	if !w.isReady() {
		// Connecting in the background: the client subscribes on connect.
		return s, nil
	}
	if err := w.nc.FlushWithContext(ctx); err != nil {
		w.offLocked(s)
		return nil, fmt.Errorf("mesh: %s %q: the server did not confirm the subscription: %w", what, b.pattern, err)
	}
	if err := refusedSubscription(w.nc, keys); err != nil {
		w.offLocked(s)
		return nil, fmt.Errorf("mesh: %s %q: %w", what, b.pattern, err)
	}
	return s, nil
}

// refusedSubscription returns the server's refusal of the subscription to
// one of keys. The server answers a subscription it refuses with an error
// before it answers the flush that follows, so after Flush the refusal, if
// any, is the connection's last error.
func refusedSubscription(nc *nats.Conn, keys []routeKey) error {
	err := nc.LastError()
	if !errors.Is(err, nats.ErrPermissionViolation) {
		return nil
	}
	for _, k := range keys {
		if strings.Contains(err.Error(), "Subscription to \""+k.filter+"\"") {
			return fmt.Errorf("the server refused the subscription to %s; check the user's subscribe permissions: %w", k.filter, err)
		}
	}
	return nil
}

// routeLocked returns the route for key, subscribing if it is new.
func (w *Worker) routeLocked(key routeKey) (*route, error) {
	if r, ok := w.routes[key]; ok {
		return r, nil
	}
	r := &route{key: key}
	r.handlers.Store(&[]*binding{})
	var err error
	if key.queue == "" {
		r.sub, err = w.nc.Subscribe(key.filter, func(m *nats.Msg) { w.dispatch(r, m) })
	} else {
		r.sub, err = w.nc.QueueSubscribe(key.filter, key.queue, func(m *nats.Msg) { w.dispatch(r, m) })
	}
	if err != nil {
		return nil, fmt.Errorf("subscribe to %s: %w", key.filter, err)
	}
	w.routes[key] = r
	return r, nil
}

// offLocked removes s's binding from its routes, unsubscribes routes left
// without handlers and closes the binding's scheduler, whose queued events
// still run.
func (w *Worker) offLocked(s *Subscription) error {
	var firstErr error
	for _, r := range s.routes {
		handlers := slices.DeleteFunc(slices.Clone(*r.handlers.Load()), func(b *binding) bool { return b == s.b })
		r.handlers.Store(&handlers)
		if len(handlers) > 0 || w.routes[r.key] != r {
			continue
		}
		delete(w.routes, r.key)
		w.retireDrops(r.sub)
		if err := r.sub.Unsubscribe(); err != nil && firstErr == nil && w.state.Load() == stateOpen {
			firstErr = fmt.Errorf("mesh: off %q: unsubscribe from %s: %w", s.pattern, r.key.filter, err)
		}
	}
	s.routes = nil
	s.b.sched.Close()
	return firstErr
}

// dispatch decodes one message and queues it for every handler of its
// route. It runs on the subscription's delivery goroutine and blocks while
// a handler has its Concurrency of events running or queued, which leaves
// further messages in the client's pending buffer. (Decoding here rather
// than on the handler's goroutine measured faster: BenchmarkEmitToHandler.)
func (w *Worker) dispatch(r *route, m *nats.Msg) {
	handlers := *r.handlers.Load()
	ev, ok := w.decode(m)
	if !ok {
		return
	}
	for _, b := range handlers {
		b.sched.Push(0, ev)
	}
}

// decode decodes a live message into an Event; a message that is not a
// valid CloudEvent is reported and refused.
func (w *Worker) decode(m *nats.Msg) (*Event, bool) {
	ev := &Event{NATSSubject: m.Subject, Replayed: isReplay(m.Header)}
	if subjects.IsRequest(m.Subject) {
		// Only requests are answered: an event stored by the stream has a
		// reply subject too, for the stream's acknowledgement to the emitter.
		if len(m.Reply) > maxReplySubject {
			w.rejectInvalid(m, fmt.Errorf("a reply subject of %d bytes (at most %d are answered)", len(m.Reply), maxReplySubject))
			return nil, false
		}
		ev.reply = m.Reply
	}
	// nats.go gives every message a body of its own, which nothing else
	// writes to: the event's strings may share it.
	if err := codec.DecodeOwned(m.Header, m.Data, &ev.Event); err != nil {
		w.rejectInvalid(m, err)
		return nil, false
	}
	if m.Header != nil {
		setFiring(&ev.Event, m.Header, liveStored(m.Header))
	}
	ev.Target = subjects.TargetOf(m.Subject, w.cfg.Namespace)
	w.stats.received(ev.Type)
	return ev, true
}

// maxReplySubject bounds the reply subjects of requests the worker
// answers. A reply subject is the requester's inbox (about 50 bytes from
// nats.go); answering a much longer one could make the worker's publish
// exceed the server's control line limit, which closes the connection.
const maxReplySubject = 1024

func (w *Worker) rejectInvalid(m *nats.Msg, err error) {
	w.stats.invalid.Add(1)
	w.report(fmt.Errorf("mesh: %w on %s: %w", ErrInvalidMessage, m.Subject, err), "subject", m.Subject)
	if m.Reply != "" && subjects.IsRequest(m.Subject) && len(m.Reply) <= maxReplySubject {
		// Only a request is answered; the reply subject of a stored event
		// is the stream's acknowledgement to its publisher.
		w.replyError(m.Reply, &RemoteError{Code: 400, Message: "not a valid CloudEvent: " + err.Error()})
	}
}
