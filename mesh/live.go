package mesh

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/exprsn/ipcmesh/mesh/internal/conn"
	"github.com/exprsn/ipcmesh/mesh/internal/durable"
	"github.com/exprsn/ipcmesh/mesh/internal/inbound"
	"github.com/exprsn/ipcmesh/mesh/internal/live"
	"github.com/exprsn/ipcmesh/mesh/internal/rpc"
	"github.com/exprsn/ipcmesh/mesh/internal/sched"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
)

// Subscription is a registered handler; Off removes it.
type Subscription struct {
	w       *Worker
	pattern string
	sched   *sched.Scheduler[*Event] // a live handler's
	routes  []*liveRoute             // a live handler's
	durable *durable.Handler[*Event] // a durable handler's
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
		var err error
		if s.durable != nil {
			s.w.callers.Release(s.durable)
			err = s.w.durables.Remove(ctx, s.durable)
		} else if err = s.w.live.Remove(s.routes, s.sched); s.w.conn.State() != conn.Open {
			err = nil // unsubscribed by Close
		}
		if err != nil {
			s.offErr = fmt.Errorf("mesh: off %q: %w", s.pattern, err)
		}
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
	keys, err := live.Keys(w.cfg.Namespace, w.cfg.Service, pattern, o.oncePerService)
	return w.register(ctx, pattern, h, o, false, keys, err)
}

// maxIdleRunners is how many goroutines of one live handler wait for its
// next event.
const maxIdleRunners = 1

// register checks the options o of h, a live handler or a responder, and
// subscribes it to the routes of keys (or fails with keysErr), waiting for
// the server to confirm. Its calls run on a scheduler of its own: at most
// Concurrency (default Config.MaxConcurrent) events are queued or running,
// on reused goroutines, at most maxIdleRunners of which wait for the next
// event.
func (w *Worker) register(ctx context.Context, pattern string, h Handler, o handlerOptions, responder bool, keys []live.Key, keysErr error) (*Subscription, error) {
	what := "on"
	if responder {
		what = "on request"
	}
	err := cmp.Or(o.pending.Check(), keysErr)
	if o.concurrency < 0 {
		err = fmt.Errorf("Concurrency %d: want at least 1", o.concurrency)
	}
	if err != nil {
		return nil, fmt.Errorf("mesh: %s %q: %w", what, pattern, err)
	}
	o.concurrency = cmp.Or(o.concurrency, w.cfg.MaxConcurrent)
	h, s := w.wrap(h, o), &Subscription{w: w, pattern: pattern}
	s.sched = sched.New(sched.Config{
		Workers: o.concurrency, Bound: o.concurrency, Idle: maxIdleRunners, Group: &w.inflight,
		Enter: func(release func()) func() { return w.callers.Enter(s, release) },
	}, func(evs []*Event) { w.run(pattern, h, o.timeout, responder, evs[0]) })
	ctx, cancel := w.bounded(ctx)
	defer cancel()
	if s.routes, err = w.live.Add(ctx, s.sched, keys, o.pending, w.conn.Usable, w.conn.IsReady); err != nil {
		return nil, fmt.Errorf("mesh: %s %q: %w", what, pattern, err)
	}
	return s, nil
}

// run calls a live handler for one event (see invoke).
func (w *Worker) run(pattern string, h Handler, timeout time.Duration, responder bool, ev *Event) {
	w.invoke(pattern, responder, ev, timeout, func(ctx context.Context) error { return h.HandleEvent(ctx, ev) })
}

// dispatch decodes one message and queues it for every handler of its
// route. It runs on the subscription's delivery goroutine and blocks while
// a handler has its Concurrency of events running or queued, which leaves
// further messages in the client's pending buffer. (Decoding here rather
// than on the handler's goroutine measured faster: BenchmarkEmitToHandler.)
func (w *Worker) dispatch(r *liveRoute, m *nats.Msg) {
	handlers := *r.Bindings.Load()
	ev, ok := w.decode(m)
	if !ok {
		return
	}
	for _, s := range handlers {
		s.Push(0, ev)
	}
}

// decode decodes a live message into an Event; a message that is not a
// valid CloudEvent is reported and refused.
func (w *Worker) decode(m *nats.Msg) (*Event, bool) {
	reply, err := rpc.ReplyTo(m.Subject, m.Reply)
	ev := &Event{NATSSubject: m.Subject, Replayed: inbound.Replayed(m.Header), reply: reply}
	if err == nil {
		err = inbound.Decode(&ev.Event, m.Header, m.Data, func() time.Time { return inbound.LiveStored(m.Header) })
	}
	if err != nil {
		w.rejectInvalid(m, err)
		return nil, false
	}
	ev.Target = subjects.TargetOf(m.Subject, w.cfg.Namespace)
	w.stats.Received(ev.Type)
	return ev, true
}

func (w *Worker) rejectInvalid(m *nats.Msg, err error) {
	w.stats.Invalid.Add(1)
	w.report(fmt.Errorf("mesh: %w on %s: %w", ErrInvalidMessage, m.Subject, err), "subject", m.Subject)
	if reply, rerr := rpc.ReplyTo(m.Subject, m.Reply); rerr == nil && reply != "" {
		w.replyError(reply, &RemoteError{Code: 400, Message: "not a valid CloudEvent: " + err.Error()})
	}
}
