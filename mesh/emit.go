package mesh

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/internal/headers"
	"github.com/exprsn/ipcmesh/mesh/internal/outbound"
	"github.com/exprsn/ipcmesh/streams"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Emit sends event with data, to every service listening for it unless an
// option (To, ToSelf) names a target. Data is marshalled as JSON, except
// []byte, sent as is (see WithContentType), json.RawMessage, embedded as is,
// and nil, sent as an event without data.
//
// When the namespace has an event stream (see Durable), Emit returns nil
// once the event is stored. When the stream's acknowledgement does not
// come, Emit publishes the event again, as the same event, until ctx ends
// (or Config.RequestTimeout without a deadline), and then fails with
// ErrUnconfirmed: the event may or may not be stored, and emitting it again
// WithID of the id EmitWithReceipt's receipt gives stores it at most once
// within the stream's duplicate window. Without a stream, Emit returns once the
// event is written to the connection and delivery to live handlers is at
// most once; while the worker is reconnecting, events are buffered by the
// NATS client (8 MiB by default) and sent on reconnect.
//
// Emit fails with a clear error, sending nothing, on an invalid event or
// target name, data that does not marshal, an event over the server's
// max_payload (ErrTooLarge), a done ctx, or after Close (ErrClosed).
func (w *Worker) Emit(ctx context.Context, event string, data any, opts ...EmitOption) error {
	_, err := w.EmitWithReceipt(ctx, event, data, opts...)
	return err
}

// Receipt says what became of an emitted event.
type Receipt struct {
	// ID is the event's CloudEvents id; for a scheduled event, the id it
	// was emitted with, which Worker.CancelSchedule takes (each firing's
	// id is "<ID>@<its time>").
	ID string
	// Subject is the subject it was sent on; for a scheduled event, the
	// subject of its schedule (subjects.ScheduleSubject).
	Subject string
	// Stream and Sequence say where the event stream stored it; empty and 0
	// when the namespace has no stream.
	Stream   string
	Sequence uint64
	// Duplicate is set when the stream already had an event with this id
	// (a retried emit) and did not store it again.
	Duplicate bool
}

// EmitWithReceipt is Emit, returning what became of the event.
func (w *Worker) EmitWithReceipt(ctx context.Context, event string, data any, opts ...EmitOption) (Receipt, error) {
	out, err := w.prepareEmit(ctx, event, data, opts)
	if err != nil {
		w.stats.emitFailed.Add(1)
		return Receipt{}, fmt.Errorf("mesh: emit %q: %w", event, err)
	}
	defer w.release(out)
	r := Receipt{ID: out.s.ID, Subject: out.s.Msg.Subject}
	if w.durable.Load() {
		var ack *jetstream.PubAck
		ack, err = w.store(ctx, &out.s.Msg)
		if err == nil {
			r.Stream, r.Sequence, r.Duplicate = ack.Stream, ack.Sequence, ack.Duplicate
		}
	} else {
		err = w.publish(&out.s.Msg)
	}
	out.sent(err)
	if err != nil {
		w.stats.emitFailed.Add(1)
		if errors.Is(err, ErrUnconfirmed) {
			// The caller may retry as the same event: it needs the id.
			return Receipt{ID: r.ID, Subject: r.Subject}, fmt.Errorf("mesh: emit %q to %s (id %s): %w", event, out.s.Target, headers.Truncate(r.ID, maxLoggedField), err)
		}
		return Receipt{}, fmt.Errorf("mesh: emit %q to %s: %w", event, out.s.Target, err)
	}
	w.stats.emitted(event)
	return r, nil
}

// storeAttempt bounds one try to store an event; store tries again, with
// the same duplicate key, until the emit's ctx ends.
const storeAttempt = 2 * time.Second

// store publishes msg to the event stream and waits for its
// acknowledgement. When the acknowledgement does not come (a timeout, the
// server gone or electing a leader), it publishes again: the duplicate key
// makes a retry of a stored event a duplicate, not a second event. It gives
// up when ctx ends (or after Config.RequestTimeout without a deadline),
// with an error matching ErrUnconfirmed.
func (w *Worker) store(ctx context.Context, msg *nats.Msg) (*jetstream.PubAck, error) {
	ctx, cancel := w.bounded(ctx)
	defer cancel()
	pause := 50 * time.Millisecond
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, storeAttempt)
		ack, err := w.js.PublishMsg(attempt, msg)
		cancelAttempt()
		switch {
		case err == nil:
			return ack, nil
		case !unconfirmed(err):
			return nil, withHint(err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrUnconfirmed, withHint(err))
		case <-time.After(pause):
			pause = min(2*pause, time.Second)
		}
	}
}

// unconfirmed reports whether a publish's error leaves the event's fate
// open, so that publishing it again is the way to know.
func unconfirmed(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrDisconnected)
}

// EmitAsync emits like Emit to the namespace's event stream without waiting
// for the stream's acknowledgement: the returned AsyncEmit reports it, and
// every failure is also reported through Config.OnError and counted in
// Stats.EmitFailed. At most Config.MaxPendingEmits acknowledgements are
// pending; past that EmitAsync waits for one until ctx's deadline, or for
// Config.AsyncEmitTimeout when ctx has none (cancelling ctx does not end
// that wait). Flush waits for every pending one; so does Close.
//
// EmitAsync needs the event stream: without it, it returns an error.
func (w *Worker) EmitAsync(ctx context.Context, event string, data any, opts ...EmitOption) (*AsyncEmit, error) {
	if !w.isReady() {
		w.stats.emitFailed.Add(1)
		return nil, fmt.Errorf("mesh: emit %q: %w: not connected yet (see Worker.Ready)", event, ErrDisconnected)
	}
	if !w.durable.Load() {
		w.stats.emitFailed.Add(1)
		return nil, fmt.Errorf("mesh: emit %q asynchronously: namespace %q has no event stream %s: set Config.Stream.Manage, or create it with streams.Ensure",
			event, w.cfg.Namespace, subjects.EventStream(w.cfg.Namespace))
	}
	out, err := w.prepareEmit(ctx, event, data, opts)
	if err != nil {
		w.stats.emitFailed.Add(1)
		return nil, fmt.Errorf("mesh: emit %q: %w", event, err)
	}
	defer w.release(out)
	// The client keeps the message until it is acknowledged, for retries:
	// it gets its own copy, not the pooled one.
	msg := &nats.Msg{Subject: out.s.Msg.Subject, Header: out.s.Msg.Header, Data: append([]byte(nil), out.s.Msg.Data...)}
	// Wait for room among the pending acknowledgements until ctx ends, or
	// for AsyncEmitTimeout without a deadline.
	stall := w.cfg.AsyncEmitTimeout
	if dl, ok := ctx.Deadline(); ok {
		stall = max(time.Until(dl), time.Millisecond)
	}
	f, err := w.js.PublishMsgAsync(msg, jetstream.WithStallWait(stall))
	out.sent(err)
	if err != nil {
		w.stats.emitFailed.Add(1)
		return nil, fmt.Errorf("mesh: emit %q to %s: %w", event, out.s.Target, withHint(err))
	}
	w.stats.emitted(event)
	return &AsyncEmit{id: out.s.ID, subject: msg.Subject, future: f}, nil
}

// AsyncEmit is what became of an EmitAsync, once the stream acknowledged
// the event or the emit failed.
type AsyncEmit struct {
	id, subject string
	future      jetstream.PubAckFuture
}

// Wait waits for the stream's acknowledgement of the event, or until ctx
// ends, and returns the event's receipt, or why it was not stored (the
// failure is also reported through Config.OnError).
func (a *AsyncEmit) Wait(ctx context.Context) (Receipt, error) {
	select {
	case ack := <-a.future.Ok():
		return Receipt{ID: a.id, Subject: a.subject, Stream: ack.Stream, Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
	case err := <-a.future.Err():
		return Receipt{}, fmt.Errorf("mesh: emit on %s (id %s): %w", a.subject, headers.Truncate(a.id, maxLoggedField), withHint(err))
	case <-ctx.Done():
		return Receipt{}, ctx.Err()
	}
}

// Flush waits until every event emitted so far is written to the server
// and every EmitAsync is acknowledged or failed, or until ctx ends, which
// it returns with how many acknowledgements are still pending. A ctx
// without a deadline is bounded by Config.RequestTimeout.
func (w *Worker) Flush(ctx context.Context) error {
	ctx, cancel := w.bounded(ctx)
	defer cancel()
	if err := w.nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("mesh: flush: %w", err)
	}
	if w.js == nil {
		return nil
	}
	select {
	case <-w.js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mesh: flush: %d asynchronous emits not yet acknowledged: %w", w.js.PublishAsyncPending(), ctx.Err())
	}
}

func (w *Worker) onAsyncEmitError(_ jetstream.JetStream, msg *nats.Msg, err error) {
	w.stats.emitFailed.Add(1)
	w.report(fmt.Errorf("mesh: asynchronous emit on %s (duplicate key %s) was not stored: %w", msg.Subject, msg.Header.Get(jetstream.MsgIDHeader), withHint(err)))
}

func withHint(err error) error {
	if err == nil {
		return nil
	}
	if h := streams.Hint(err); h != "" {
		return fmt.Errorf("%w%s", err, h)
	}
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
		return fmt.Errorf("%w: no stream stores this subject; set Config.Stream.Manage, or create the streams with streams.Ensure", err)
	}
	return err
}

// prepareEmit checks the worker and ctx, and encodes an event for the
// stream when there is one.
func (w *Worker) prepareEmit(ctx context.Context, event string, data any, opts []EmitOption) (outgoing, error) {
	if err := ctx.Err(); err != nil {
		return outgoing{}, err
	}
	if err := w.lostErr(); err != nil {
		return outgoing{}, err
	}
	if w.state.Load() == stateClosed {
		return outgoing{}, ErrClosed
	}
	if !w.isReady() && !w.cfg.Stream.Disable {
		// Whether the namespace stores events is not known yet.
		return outgoing{}, fmt.Errorf("%w: not connected yet (see Worker.Ready)", ErrDisconnected)
	}
	return w.encode(ctx, SendEvent, event, data, func(o *sendOptions) {
		for _, opt := range opts {
			opt.applyEmit(o)
		}
	})
}

// TryEmit is Emit for callers that must not fail because an event could not
// be sent, such as an HTTP handler whose user should not see a mesh outage:
// it logs the error and reports it to Config.OnError, and returns whether
// the emit succeeded.
func (w *Worker) TryEmit(ctx context.Context, event string, data any, opts ...EmitOption) bool {
	if err := w.Emit(ctx, event, data, opts...); err != nil {
		w.report(err, "event", event)
		return false
	}
	return true
}

// outgoing is an encoded event ready to send, in a pooled scratch that
// release returns once the send is done; sent reports the send's outcome to
// the OnSend hook.
type outgoing struct {
	s    *outbound.Scratch
	done func(error)
}

func (o outgoing) sent(err error) {
	if o.done != nil {
		o.done(err)
	}
}

func (w *Worker) release(o outgoing) { w.out.Put(o.s) }

// encode builds the NATS message of an event, or of a request when kind is
// SendRequest, with the options apply sets.
func (w *Worker) encode(ctx context.Context, kind SendKind, event string, data any, apply func(*sendOptions)) (outgoing, error) {
	out := outgoing{s: w.out.Get()}
	apply(&out.s.Opts)
	if err := w.checkSchedule(&out.s.Opts); err != nil {
		w.release(out)
		return outgoing{}, err
	}
	if err := w.out.Prepare(out.s, event, data, kind == SendRequest, w.durable.Load() && kind == SendEvent); err != nil {
		w.release(out)
		return outgoing{}, err
	}
	if w.cfg.OnSend != nil {
		out.done = w.cfg.OnSend(ctx, Send{Kind: kind, Event: &out.s.Event, Subject: out.s.Msg.Subject, Target: out.s.Target})
	}
	if err := w.out.Marshal(out.s); err != nil {
		out.sent(err)
		w.release(out)
		return outgoing{}, err
	}
	return out, nil
}

func (w *Worker) publish(msg *nats.Msg) error {
	if msg.Header == nil {
		return w.nc.Publish(msg.Subject, msg.Data)
	}
	return w.nc.PublishMsg(msg)
}
