package mesh

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/internal/headers"
	"github.com/exprsn/ipcmesh/mesh/internal/conn"
	"github.com/exprsn/ipcmesh/mesh/internal/outbound"
	"github.com/exprsn/ipcmesh/mesh/internal/store"
	"github.com/exprsn/ipcmesh/schedules"
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

// storedAs returns r with where the stream's acknowledgement ack says the
// event is stored.
func (r Receipt) storedAs(ack *jetstream.PubAck) Receipt {
	r.Stream, r.Sequence, r.Duplicate = ack.Stream, ack.Sequence, ack.Duplicate
	return r
}

// EmitWithReceipt is Emit, returning what became of the event.
func (w *Worker) EmitWithReceipt(ctx context.Context, event string, data any, opts ...EmitOption) (Receipt, error) {
	out, err := w.prepareEmit(ctx, event, data, opts)
	if err != nil {
		w.stats.EmitFailed.Add(1)
		return Receipt{}, fmt.Errorf("mesh: emit %q: %w", event, err)
	}
	defer w.out.Put(out)
	r := Receipt{ID: out.ID, Subject: out.Msg.Subject}
	if w.store.Durable() {
		var ack *jetstream.PubAck
		ack, err = w.store.Store(ctx, &out.Msg)
		if err == nil {
			r = r.storedAs(ack)
		}
	} else {
		err = w.publish(&out.Msg)
	}
	out.Sent(err)
	if err != nil {
		w.stats.EmitFailed.Add(1)
		if errors.Is(err, ErrUnconfirmed) {
			// The caller may retry as the same event: it needs the id.
			return Receipt{ID: r.ID, Subject: r.Subject}, fmt.Errorf("mesh: emit %q to %s (id %s): %w", event, out.Target, headers.Truncate(r.ID, maxLoggedField), err)
		}
		return Receipt{}, fmt.Errorf("mesh: emit %q to %s: %w", event, out.Target, err)
	}
	w.stats.Emitted(event)
	return r, nil
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
	if !w.conn.IsReady() {
		w.stats.EmitFailed.Add(1)
		return nil, fmt.Errorf("mesh: emit %q: %w: not connected yet (see Worker.Ready)", event, ErrDisconnected)
	}
	if !w.store.Durable() {
		w.stats.EmitFailed.Add(1)
		return nil, fmt.Errorf("mesh: emit %q asynchronously: %w", event, w.store.Missing())
	}
	out, err := w.prepareEmit(ctx, event, data, opts)
	if err != nil {
		w.stats.EmitFailed.Add(1)
		return nil, fmt.Errorf("mesh: emit %q: %w", event, err)
	}
	defer w.out.Put(out)
	// The client keeps the message until it is acknowledged, for retries:
	// it gets the body for its own (see Scratch.Detach).
	msg := &nats.Msg{Subject: out.Msg.Subject, Header: out.Msg.Header, Data: out.Detach()}
	f, err := w.store.StoreAsync(ctx, msg)
	out.Sent(err)
	if err != nil {
		w.stats.EmitFailed.Add(1)
		return nil, fmt.Errorf("mesh: emit %q to %s: %w", event, out.Target, err)
	}
	w.stats.Emitted(event)
	return &AsyncEmit{id: out.ID, subject: msg.Subject, future: f}, nil
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
		return Receipt{ID: a.id, Subject: a.subject}.storedAs(ack), nil
	case err := <-a.future.Err():
		return Receipt{}, fmt.Errorf("mesh: emit on %s (id %s): %w", a.subject, headers.Truncate(a.id, maxLoggedField), store.Hint(err))
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
	if n, err := w.store.Await(ctx); err != nil {
		return fmt.Errorf("mesh: flush: %d asynchronous emits not yet acknowledged: %w", n, err)
	}
	return nil
}

// prepareEmit checks the worker and ctx, and encodes an event for the
// stream when there is one.
func (w *Worker) prepareEmit(ctx context.Context, event string, data any, opts []EmitOption) (*outbound.Scratch, error) {
	// Before the worker is ready, whether the namespace stores events is
	// not known: only a worker without streams sends.
	if err := w.conn.Sendable(ctx, w.cfg.Stream.Disable); err != nil {
		return nil, err
	}
	return w.encode(ctx, SendEvent, event, data, func(o *sendOptions) {
		for _, opt := range opts {
			opt.applyEmit(o)
		}
	}, w.store.Durable())
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

// encode builds the NATS message of an event, or of a request when kind is
// SendRequest, with the options apply sets; a stored event carries the
// event stream's duplicate key.
func (w *Worker) encode(ctx context.Context, kind SendKind, event string, data any, apply func(*sendOptions), stored bool) (*outbound.Scratch, error) {
	out := w.out.Get()
	apply(&out.Opts)
	if err := w.store.Check(&out.Opts); err != nil {
		w.out.Put(out)
		return nil, err
	}
	if err := w.out.Prepare(out, event, data, kind == SendRequest, stored); err != nil {
		w.out.Put(out)
		return nil, err
	}
	out.Done = w.onSend(ctx, kind, &out.Event, out.Msg.Subject, out.Target)
	if err := w.out.Marshal(out); err != nil {
		out.Sent(err)
		w.out.Put(out)
		return nil, err
	}
	return out, nil
}

// onSend calls the OnSend hook, if set, and returns what it returns.
func (w *Worker) onSend(ctx context.Context, kind SendKind, ev *codec.Event, subject, target string) func(error) {
	if w.cfg.OnSend == nil {
		return nil
	}
	return w.cfg.OnSend(ctx, Send{Kind: kind, Event: ev, Subject: subject, Target: target})
}

func (w *Worker) publish(msg *nats.Msg) error {
	if msg.Header == nil {
		return w.nc.Publish(msg.Subject, msg.Data)
	}
	return w.nc.PublishMsg(msg)
}

// Encoded is an event encoded for the event stream now and stored later by
// EmitEncoded: a transactional outbox keeps it in a database row between
// the two. Its Header carries the stream's duplicate key, derived from the
// event's source and id, so that storing it again within the stream's
// duplicate window stores nothing.
type Encoded struct {
	// ID, Event and Subject are the event's id, type and subject.
	ID, Event, Subject string
	// Header and Data are the NATS message's headers and body.
	Header nats.Header
	Data   []byte
}

// Encode encodes event with data and opts as Emit would send it, at the
// time of the call, and sends nothing: see EmitEncoded. It fails as Emit
// fails on invalid names, data that does not marshal, an event over the
// server's max_payload, a schedule or TTL the server or the namespace's
// streams cannot hold (ErrUnsupported), and after Close. Config.OnSend is
// called as for Emit, so the encoded event carries what the hook adds (a
// signature, trace context); the func it returns is called when Encode
// returns.
func (w *Worker) Encode(ctx context.Context, event string, data any, opts ...EmitOption) (Encoded, error) {
	if w.conn.State() == conn.Closed {
		return Encoded{}, fmt.Errorf("mesh: encode %q: %w", event, ErrClosed)
	}
	out, err := w.encode(ctx, SendEvent, event, data, func(o *sendOptions) {
		for _, opt := range opts {
			opt.applyEmit(o)
		}
	}, true)
	if err != nil {
		return Encoded{}, fmt.Errorf("mesh: encode %q: %w", event, err)
	}
	defer w.out.Put(out)
	out.Sent(nil)
	e := Encoded{ID: out.Event.ID, Event: event, Subject: out.Msg.Subject}
	e.Header, e.Data = out.Copy()
	return e, nil
}

// EmitEncoded stores an event Encode encoded in the namespace's event
// stream, as Emit does: it publishes again while the acknowledgement does
// not come, until ctx ends (ErrUnconfirmed), and the receipt's Duplicate
// says the stream already held the event. It fails when the namespace has
// no event stream, since only the stream drops a second copy, and, sending
// nothing, when e's subject is not one Encode makes for the worker's
// namespace (an event subject, or a schedule's): an Encoded kept outside
// the worker (an outbox's row) may have been changed.
func (w *Worker) EmitEncoded(ctx context.Context, e Encoded) (Receipt, error) {
	event, id := headers.Truncate(e.Event, maxLoggedField), headers.Truncate(e.ID, maxLoggedField)
	if w.conn.State() == conn.Closed {
		return Receipt{}, fmt.Errorf("mesh: emit %q (id %s): %w", event, id, ErrClosed)
	}
	if err := w.Ready(ctx); err != nil {
		return Receipt{}, err
	}
	if !w.store.Durable() {
		return Receipt{}, fmt.Errorf("mesh: emit %q (id %s): the namespace has no event stream to store it once", event, id)
	}
	if err := w.checkEncoded(e.Subject); err != nil {
		w.stats.EmitFailed.Add(1)
		return Receipt{}, fmt.Errorf("mesh: emit %q (id %s): %w", event, id, err)
	}
	ack, err := w.store.Store(ctx, &nats.Msg{Subject: e.Subject, Header: e.Header, Data: e.Data})
	if err != nil {
		w.stats.EmitFailed.Add(1)
		return Receipt{ID: e.ID, Subject: e.Subject}, fmt.Errorf("mesh: emit %q (id %s): %w", event, id, err)
	}
	w.stats.Emitted(e.Event)
	return Receipt{ID: e.ID, Subject: e.Subject}.storedAs(ack), nil
}

// checkEncoded refuses a subject that Encode does not make for the
// worker's namespace: neither an event subject of it nor a schedule
// subject of it.
func (w *Worker) checkEncoded(subject string) error {
	if subjects.ScheduleKey(w.cfg.Namespace, subject) != "" {
		return nil
	}
	a, err := subjects.Parse(subject)
	switch {
	case err != nil:
		return fmt.Errorf("not an event subject: %w", err)
	case subjects.IsRequest(subject):
		return fmt.Errorf("subject %q is a request's, not an event's", subject)
	case a.Namespace != w.cfg.Namespace:
		return fmt.Errorf("subject %q is of namespace %q, not the worker's %q", subject, a.Namespace, w.cfg.Namespace)
	}
	return nil
}

// ErrUnsupported is returned by an emit that asks for what the server or
// the namespace's streams cannot do: a schedule or a TTL on a server too
// old (the error names the version needed), or without the streams that
// hold them. Nothing is sent.
var ErrUnsupported = errors.New("not supported by the server or the namespace's streams")

// emitOnly is an option of emits alone.
type emitOnly func(*sendOptions)

func (o emitOnly) applyEmit(s *sendOptions) { o(s) }

// At delivers the event at t instead of now: it reaches, at t, exactly the
// handlers an emit of it at t would reach, live and durable. Emit returns
// once the schedule is stored; the receipt's ID cancels it
// (Worker.CancelSchedule). The delivered event's id is "<id>@<t>" (t in
// RFC 3339, UTC, with nanoseconds) and its extension scheduledtime is t.
// The server fires within about a second after t; a t in the past fires
// at once. Needs the namespace's streams on nats-server 2.12 or later
// (ErrUnsupported otherwise). Default: now.
func At(t time.Time) EmitOption {
	return emitOnly(func(o *sendOptions) { o.Schedule = outbound.NewSchedule(outbound.Schedule{At: t}) })
}

// After is At(time.Now().Add(d)), the time taken when the event is
// emitted. d must be positive.
func After(d time.Duration) EmitOption {
	return emitOnly(func(o *sendOptions) { o.Schedule = outbound.NewSchedule(outbound.Schedule{After: d}) })
}

// Every delivers the event every d (at least 1 s; the server keeps whole
// seconds) from its emit on, until the schedule is cancelled. Each firing
// has id "<id>@<its scheduled time>" and extension scheduledtime. After a
// server outage a recurring schedule fires once, late, not once per
// missed time. Needs nats-server 2.14 or later.
func Every(d time.Duration) EmitOption {
	return emitOnly(func(o *sendOptions) { o.Schedule = outbound.NewSchedule(outbound.Schedule{Every: d}) })
}

// Cron delivers the event on the server's cron schedule expr (six fields,
// with seconds: "0 30 9 * * 1-5", or "@hourly", "@daily"...) in the time
// zone tz ("" for UTC), until cancelled. The server checks expr: a bad one
// fails the emit. Each firing's scheduledtime is when it was stored,
// truncated to the second (the scheduled time while the server fires
// less than a second late). Needs nats-server 2.14 or later.
func Cron(expr, tz string) EmitOption {
	return emitOnly(func(o *sendOptions) {
		o.Schedule = outbound.NewSchedule(outbound.Schedule{Cron: expr, TimeZone: tz})
	})
}

// TTL makes the event stream remove the event after d (at least 1 s;
// whole seconds), for events whose value goes stale (presence, typing), so
// that a replay or a durable handler that comes late does not act on them.
// With a schedule, each firing is kept d. It has no effect without an
// event stream, where nothing is kept. Needs nats-server 2.11 or later and
// an event stream updated by streams.Ensure (ErrUnsupported otherwise).
// Default: the stream's MaxAge.
func TTL(d time.Duration) TTLOption { return TTLOption(d) }

// Schedules returns the namespace's pending scheduled events, of every
// service (see schedules.List). It reads the schedule stream, which a
// service with least-privilege permissions may not: that is the
// operator's (meshctl schedules list).
func (w *Worker) Schedules(ctx context.Context) ([]schedules.Schedule, error) {
	return w.store.Schedules(ctx)
}

// CancelSchedule cancels the scheduled event this service emitted with id
// (the Receipt's ID), so that it fires no more. It fails with an error
// matching schedules.ErrNotFound when no such schedule is pending (never
// made, fired, or cancelled more than about a second ago: see
// schedules.Cancel). It needs only the permission to schedule. Events of
// another service are cancelled with schedules.Cancel and the schedule's
// Key.
func (w *Worker) CancelSchedule(ctx context.Context, id string) error {
	return w.store.Cancel(ctx, w.cfg.Service, id)
}
