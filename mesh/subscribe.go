package mesh

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exprsn/ipcmesh/codec"
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

// binding is one handler as registered: what Off removes.
type binding struct {
	pattern string
	handler Handler
	opts    handlerOptions
	sem     chan struct{} // bounds the handler's running calls

	runners runners // the goroutines that run the handler's calls
}

func newBinding(pattern string, h Handler, o handlerOptions) *binding {
	return &binding{pattern: pattern, handler: h, opts: o, sem: make(chan struct{}, o.concurrency), runners: newRunners()}
}

// checkLiveOptions refuses durable-only options and sets the default
// concurrency of a live handler.
func (w *Worker) checkLiveOptions(o *handlerOptions) error {
	if o.durable.set {
		return errors.New("durable handler options need OnDurable")
	}
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
	b       *binding
	routes  []*route
	durable *durable // set for durable handlers
	offOnce sync.Once
}

// Pattern is the event pattern the handler was registered with.
func (s *Subscription) Pattern() string { return s.b.pattern }

// Off removes exactly this handler: it receives no event delivered after Off
// returns, while calls already running finish. Other handlers on the same
// pattern keep theirs. Off is idempotent.
//
// For a durable handler, Off stops this instance's consumption after the
// events it holds are handled (for at most 30s; see OffContext);
// the durable consumer stays on the server, and other instances go on.
func (s *Subscription) Off() error {
	ctx, cancel := context.WithTimeout(context.Background(), offTimeout)
	defer cancel()
	return s.OffContext(ctx)
}

// offTimeout bounds Off for durable handlers.
const offTimeout = 30 * time.Second

// OffContext is Off, with ctx bounding the wait for a durable handler's
// running events.
func (s *Subscription) OffContext(ctx context.Context) error {
	var err error
	s.offOnce.Do(func() {
		if s.durable != nil {
			err = s.w.offDurable(ctx, s.durable)
			return
		}
		err = s.w.off(s)
	})
	return err
}

// On registers h for the events matching pattern: an event name
// ("post:created") or a pattern with NATS-style wildcards ("user:*" for one
// segment, "content:>" for one or more). h receives the events sent to this
// service, each reaching one instance of the service, and the broadcasts,
// each reaching every instance (or one, with OncePerService).
//
// Several handlers may listen to one event; each receives it. On returns once
// the server knows of the subscription, so events emitted after it returns
// reach h.
func (w *Worker) On(pattern string, h Handler, opts ...HandlerOption) (*Subscription, error) {
	if h == nil {
		return nil, fmt.Errorf("mesh: On(%q): nil handler", pattern)
	}
	o := newHandlerOptions(opts)
	if err := w.checkLiveOptions(&o); err != nil {
		return nil, fmt.Errorf("mesh: On(%q): %w", pattern, err)
	}
	queue := subjects.QueueGroup(w.cfg.Service, pattern)
	targeted, err := subjects.Filter(w.cfg.Namespace, w.cfg.Service, pattern)
	if err != nil {
		return nil, fmt.Errorf("mesh: On: %w", err)
	}
	broadcast, _ := subjects.Filter(w.cfg.Namespace, subjects.Broadcast, pattern)
	keys := []routeKey{{filter: targeted, queue: queue}, {filter: broadcast}}
	if o.oncePerService {
		keys[1].queue = queue
	}
	return w.register(pattern, h, o, keys)
}

// register subscribes handler h, registered for pattern, to the routes of
// keys.
func (w *Worker) register(pattern string, h Handler, o handlerOptions, keys []routeKey) (*Subscription, error) {
	s := &Subscription{w: w, b: newBinding(pattern, w.wrap(h, o), o)}

	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state.Load() != stateOpen {
		return nil, ErrClosed
	}
	for _, key := range keys {
		r, err := w.routeLocked(key)
		if err != nil {
			w.offLocked(s)
			return nil, err
		}
		if p := o.pending; p.set {
			if err := r.sub.SetPendingLimits(p.msgs, p.bytes); err != nil {
				w.offLocked(s)
				return nil, fmt.Errorf("mesh: On(%q): PendingLimits: %w", pattern, err)
			}
		}
		handlers := append(slices.Clone(*r.handlers.Load()), s.b)
		r.handlers.Store(&handlers)
		s.routes = append(s.routes, r)
	}
	if err := w.nc.Flush(); err != nil {
		w.offLocked(s)
		return nil, fmt.Errorf("mesh: On(%q): the server did not confirm the subscription: %w", pattern, err)
	}
	if err := refusedSubscription(w.nc, keys); err != nil {
		w.offLocked(s)
		return nil, fmt.Errorf("mesh: On(%q): %w", pattern, err)
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
		return nil, fmt.Errorf("mesh: subscribe to %s: %w", key.filter, err)
	}
	w.routes[key] = r
	return r, nil
}

func (w *Worker) off(s *Subscription) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.offLocked(s)
}

// offLocked removes s's binding from its routes and unsubscribes routes left
// without handlers.
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
			firstErr = fmt.Errorf("mesh: unsubscribe from %s: %w", r.key.filter, err)
		}
	}
	s.routes = nil
	close(s.b.runners.removed)
	return firstErr
}

// dispatch decodes one message and starts every handler of its route (see
// start). It runs on the subscription's delivery goroutine and blocks while
// a handler has its Concurrency of events running or about to run, which
// leaves further messages in the client's pending buffer. (Decoding here rather than on the handler's
// goroutine measured faster: BenchmarkEmitToHandler.)
func (w *Worker) dispatch(r *route, m *nats.Msg) {
	handlers := *r.handlers.Load()
	ev, ok := w.decode(m)
	if !ok {
		return
	}
	for _, b := range handlers {
		b.sem <- struct{}{}
		w.inflight.Add(1)
		w.start(b, ev)
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
			w.stats.invalid.Add(1)
			w.report(fmt.Errorf("%w on %s: a reply subject of %d bytes (at most %d are answered)", ErrInvalidMessage, m.Subject, len(m.Reply), maxReplySubject))
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
	ev.Target = targetOf(m.Subject, w.cfg.Namespace)
	w.stats.received(ev.Type)
	return ev, true
}

// maxReplySubject bounds the reply subjects of requests the worker
// answers. A reply subject is the requester's inbox (about 50 bytes from
// nats.go); answering a much longer one could make the worker's publish
// exceed the server's control line limit, which closes the connection.
const maxReplySubject = 1024

// targetOf returns the target token of a mesh event or request subject in
// namespace ns.
func targetOf(subject, ns string) string {
	if subjects.IsRequest(subject) {
		subject = subject[len(subjects.RequestPrefix)+1:]
	}
	rest := subject[len(ns)+1:]
	if i := strings.IndexByte(rest, '.'); i >= 0 {
		return rest[:i]
	}
	return rest
}

func (w *Worker) rejectInvalid(m *nats.Msg, err error) {
	w.stats.invalid.Add(1)
	w.report(fmt.Errorf("%w on %s: %w", ErrInvalidMessage, m.Subject, err), "subject", m.Subject)
	if m.Reply != "" && subjects.IsRequest(m.Subject) {
		// Only a request is answered; the reply subject of a stored event
		// is the stream's acknowledgement to its publisher.
		w.replyError(m.Reply, &RemoteError{Code: 400, Message: "not a valid CloudEvent: " + err.Error()})
	}
}

// run calls one live handler for one event, and answers a request it
// failed.
func (w *Worker) run(b *binding, ev *Event) {
	err := w.runHandler(b.handler, b.pattern, b.opts, ev)
	if err != nil && b.opts.respond && ev.reply != "" {
		w.replyError(ev.reply, asRemoteError(err))
	}
}

// runHandler calls h for ev with the handler's context, recovers a panic,
// counts the outcome and reports a failure.
func (w *Worker) runHandler(h Handler, pattern string, o handlerOptions, ev *Event) error {
	ctx := w.handlerCtx
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	w.stats.inFlight.Add(1)
	err := w.call(ctx, h, ev)
	w.stats.inFlight.Add(-1)
	if err == nil || (o.respond && isAnswer(err)) {
		// A responder's client error (code below 500) is an answer, not
		// a failure.
		w.stats.handled(ev.Type)
		return err
	}
	w.stats.failed(ev.Type)
	w.report(&HandlerError{Service: w.cfg.Service, Pattern: pattern, Event: ev.Type, ID: ev.ID, Err: err},
		"event", truncate(ev.Type, maxLoggedField), "id", truncate(ev.ID, maxLoggedField), "subject", ev.NATSSubject)
	return err
}

func (w *Worker) call(ctx context.Context, h Handler, ev *Event) (err error) {
	defer func() {
		if v := recover(); v != nil {
			w.stats.panics.Add(1)
			err = newPanicError(v)
		}
	}()
	return h.HandleEvent(ctx, ev)
}
