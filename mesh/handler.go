package mesh

import (
	"context"
	"errors"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/internal/headers"
	"github.com/exprsn/ipcmesh/mesh/internal/durable"
	"github.com/exprsn/ipcmesh/mesh/internal/inbound"
	"github.com/exprsn/ipcmesh/subjects"
)

// Handler handles events. HandleEvent may be called concurrently, for
// different events, up to its Concurrency at once; ctx is cancelled when
// the handler's Timeout passes or when Close gives up waiting. An error or
// a panic is reported (Config.OnError, logs, Stats) and never stops the
// worker.
type Handler interface {
	HandleEvent(ctx context.Context, ev *Event) error
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, ev *Event) error

// HandleEvent calls f(ctx, ev).
func (f HandlerFunc) HandleEvent(ctx context.Context, ev *Event) error { return f(ctx, ev) }

// Typed adapts a function taking the event's JSON data decoded into T. An
// event whose data does not decode into T fails with the decode error,
// marked Permanent (a retry would not decode either), and fn is not called.
func Typed[T any](fn func(ctx context.Context, ev *Event, data T) error) Handler {
	return HandlerFunc(func(ctx context.Context, ev *Event) error {
		var data T
		if err := ev.Decode(&data); err != nil {
			return Permanent(err)
		}
		return fn(ctx, ev, data)
	})
}

// Middleware wraps a Handler, for cross-cutting work around every event.
type Middleware func(Handler) Handler

// wrap applies the worker's and the handler's middleware to h.
func (w *Worker) wrap(h Handler, o handlerOptions) Handler {
	for i := len(o.middleware) - 1; i >= 0; i-- {
		h = o.middleware[i](h)
	}
	for i := len(w.cfg.Middleware) - 1; i >= 0; i-- {
		h = w.cfg.Middleware[i](h)
	}
	return h
}

// Every handler, live, responder, durable or batch, is called through call
// and its outcome counted by outcome; a single-event handler through
// invoke, which does both.

// errOverrun is reported for a handler call still running its Timeout (at
// least minOverrun) after its Timeout ended its context: Go cannot stop a
// goroutine, so the call keeps its event (a durable one is kept in
// progress) and its Concurrency slot until it returns.
var errOverrun = errors.New("still running after its Timeout ended its context: the handler ignores its context, and keeps its event and its Concurrency slot until it returns")

// minOverrun is the least a call may run past its Timeout before it is
// reported.
const minOverrun = time.Second

// errExited is the outcome of a handler that ended its goroutine
// (runtime.Goexit) instead of returning.
var errExited = durable.ErrExited

// invoke calls a single-event handler for ev through call, counts its
// outcome (see outcome) and answers a failed request, also when the
// handler ends its goroutine instead of returning: that fails with
// errExited.
func (w *Worker) invoke(pattern string, responder bool, ev *Event, timeout time.Duration, fn func(ctx context.Context) error) (err error) {
	start := time.Now()
	took := time.Duration(-1)
	err = errExited
	defer func() {
		if took < 0 { // exited: call did not return
			took = time.Since(start)
		}
		err = w.outcome(pattern, responder, ev, took, err, true)
		if err != nil && responder && ev.reply != "" {
			w.replyError(ev.reply, asRemoteError(err))
		}
	}()
	took, err = w.call(pattern, ev, timeout, 1, fn)
	return err
}

// call runs fn, the call of pattern's handler for n events from ev on,
// with the handler's context (which carries the worker, and ends after
// timeout if set, or when Close gives up), counts it in Stats.InFlight,
// turns a panic into a *PanicError, and returns how long fn ran, panic
// included. A call still running well after its timeout is reported (see
// errOverrun).
func (w *Worker) call(pattern string, ev *Event, timeout time.Duration, n int, fn func(ctx context.Context) error) (took time.Duration, err error) {
	ctx := w.handlerCtx
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
		overrun := time.AfterFunc(timeout+max(timeout, minOverrun), func() {
			w.report(&HandlerError{Service: w.cfg.Service, Pattern: pattern, Event: ev.Type, ID: ev.ID, Err: errOverrun},
				"event", headers.Truncate(ev.Type, maxLoggedField), "id", headers.Truncate(ev.ID, maxLoggedField), "timeout", timeout)
		})
		defer overrun.Stop()
	}
	w.stats.InFlight.Add(int64(n))
	defer w.stats.InFlight.Add(-int64(n))
	start := time.Now()
	defer func() {
		took = time.Since(start)
		if v := recover(); v != nil {
			w.stats.Panics.Add(1)
			err = newPanicError(v)
		}
	}()
	return 0, fn(ctx)
}

// outcome counts the outcome err of handling ev, which took took (see
// EventStats.HandlerTime), and, with report set, reports a failure. A
// responder's answer (a *RemoteError with a code below 500) counts as
// handled; so does an event the idempotency guard skipped
// (ErrAlreadyHandled), also counted in DurableStats.Skipped and returned
// as nil.
func (w *Worker) outcome(pattern string, responder bool, ev *Event, took time.Duration, err error, report bool) error {
	switch {
	case err == nil || responder && isAnswer(err):
		w.stats.Handled(ev.Type, took)
		return err
	case errors.Is(err, ErrAlreadyHandled):
		w.stats.Handled(ev.Type, took)
		if ev.Handler != "" {
			w.stats.Durable(ev.Handler).Skipped.Add(1)
		}
		return nil
	}
	w.stats.Failed(ev.Type, took)
	if !report {
		return err
	}
	w.report(&HandlerError{Service: w.cfg.Service, Pattern: pattern, Event: ev.Type, ID: ev.ID, Err: err},
		"event", headers.Truncate(ev.Type, maxLoggedField), "id", headers.Truncate(ev.ID, maxLoggedField), "subject", ev.NATSSubject)
	return err
}

// Event is an event as a handler receives it: the CloudEvent (ID, Source =
// the emitting service, Type = the event name as emitted, Time, Data,
// DataContentType, Extensions...) plus where it travelled.
//
// Every handler that matches a delivery receives the same *Event: treat it
// as read-only. It stays valid after the handler returns.
type Event struct {
	codec.Event

	// Target is the service the event was sent to, or "all" for a
	// broadcast.
	Target string
	// NATSSubject is the subject the event travelled on, e.g.
	// "ipc.all.post.created".
	NATSSubject string

	// StreamSequence is the event's sequence in the event stream, for events
	// delivered to durable handlers; 0 for live events.
	StreamSequence uint64
	// Replayed is set when the event is a copy re-delivered by replay or by
	// a dead-letter re-drive (the Mesh-Replay or Mesh-Redrive header): its
	// ID and Time are the original's, so idempotent handlers can skip it.
	Replayed bool
	// Handler is the name of the durable handler (its consumer) the event
	// was delivered to; "" for live events.
	Handler string
	// Deliveries counts the deliveries of this event to a durable handler,
	// this one included (1 on the first try); 0 for live events.
	Deliveries uint64

	// reply is the NATS reply subject of a request, "" for an event.
	reply string
}

// IsBroadcast reports whether the event was sent to every service.
func (e *Event) IsBroadcast() bool { return e.Target == subjects.Broadcast }

// IsRequest reports whether the sender waits for a reply.
func (e *Event) IsRequest() bool { return e.reply != "" }

// Decode unmarshals the event's JSON data into v. It fails if the event has
// no data or its data is not JSON (see codec.Event.DataIsJSON: binary data,
// or data_base64, is not).
func (e *Event) Decode(v any) error { return inbound.Data(&e.Event, v) }
