package mesh

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
)

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
// fails on invalid names, data that does not marshal and an event over
// the server's max_payload, and after Close.
func (w *Worker) Encode(event string, data any, opts ...EmitOption) (Encoded, error) {
	if w.state.Load() == stateClosed {
		return Encoded{}, fmt.Errorf("mesh: encode %q: %w", event, ErrClosed)
	}
	out := outgoing{s: w.out.Get()}
	defer w.release(out)
	for _, opt := range opts {
		opt.applyEmit(&out.s.Opts)
	}
	err := w.out.Prepare(out.s, event, data, false, true)
	if err == nil {
		err = w.out.Marshal(out.s)
	}
	if err != nil {
		return Encoded{}, fmt.Errorf("mesh: encode %q: %w", event, err)
	}
	msg := &out.s.Msg
	e := Encoded{ID: out.s.Event.ID, Event: event, Subject: msg.Subject, Header: make(nats.Header, len(msg.Header))}
	for k, v := range msg.Header {
		e.Header[k] = append([]string(nil), v...)
	}
	e.Data = append([]byte(nil), msg.Data...)
	return e, nil
}

// EmitEncoded stores an event Encode encoded in the namespace's event
// stream, as Emit does: it publishes again while the acknowledgement does
// not come, until ctx ends (ErrUnconfirmed), and the receipt's Duplicate
// says the stream already held the event. It fails when the namespace has
// no event stream, since only the stream drops a second copy.
func (w *Worker) EmitEncoded(ctx context.Context, e Encoded) (Receipt, error) {
	if w.state.Load() == stateClosed {
		return Receipt{}, fmt.Errorf("mesh: emit %q (id %s): %w", e.Event, e.ID, ErrClosed)
	}
	if err := w.Ready(ctx); err != nil {
		return Receipt{}, err
	}
	if !w.durable.Load() {
		return Receipt{}, fmt.Errorf("mesh: emit %q (id %s): the namespace has no event stream to store it once", e.Event, e.ID)
	}
	ack, err := w.store(ctx, &nats.Msg{Subject: e.Subject, Header: e.Header, Data: e.Data})
	if err != nil {
		w.stats.emitFailed.Add(1)
		return Receipt{ID: e.ID, Subject: e.Subject}, fmt.Errorf("mesh: emit %q (id %s): %w", e.Event, e.ID, err)
	}
	w.stats.emitted(e.Event)
	return Receipt{ID: e.ID, Subject: e.Subject, Stream: ack.Stream, Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
}
