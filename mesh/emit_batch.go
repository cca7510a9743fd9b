package mesh

import (
	"context"
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/mesh/internal/outbound"
	"github.com/nats-io/nats.go"
)

// BatchEvent is one event of EmitBatch.
type BatchEvent struct {
	// Event and Data are the event's name and data, as Emit takes them.
	Event string
	Data  any
	// Options change the event as they change an Emit.
	Options []BatchEventOption
}

// BatchEventOption changes one event of EmitBatch: an EventOption, To,
// ToSelf, Broadcast or TTL. A scheduled event is emitted alone (At,
// After, Every and Cron are not BatchEventOptions).
type BatchEventOption interface{ applyBatchEvent(*sendOptions) }

func (o EventOption) applyBatchEvent(s *sendOptions)  { o(s) }
func (t TargetOption) applyBatchEvent(s *sendOptions) { t.applyEmit(s) }

// TTLOption is TTL's option: an EmitOption and a BatchEventOption.
type TTLOption time.Duration

func (d TTLOption) applyEmit(o *sendOptions)       { o.TTL = time.Duration(d) }
func (d TTLOption) applyBatchEvent(o *sendOptions) { o.TTL = time.Duration(d) }

// EmitBatchError is the error of an EmitBatch that did not store every event.
type EmitBatchError struct {
	// Stored is how many events, from the first, the stream stored.
	Stored int
	// Event is the name of the event at index Stored, the first not
	// confirmed stored.
	Event string
	// Err is why that event was not stored. When it matches
	// ErrUnconfirmed, the stream did not confirm it before the context
	// ended: it and the events after it may or may not be stored, and
	// emitting them again WithID of their receipts' IDs stores each at
	// most once within the stream's duplicate window. Otherwise no event
	// after it was stored.
	Err error
}

// Error says which event was not stored, and why.
func (e *EmitBatchError) Error() string {
	return fmt.Sprintf("mesh: emit batch: %d events stored; event %d (%q): %v", e.Stored, e.Stored, e.Event, e.Err)
}

// Unwrap returns why the event was not stored.
func (e *EmitBatchError) Unwrap() error { return e.Err }

// EmitBatch stores events in the namespace's event stream, in order, each
// as Emit would store it (with its duplicate key), and returns a receipt
// for each, in order, with its ID and Subject. On nats-server 2.14 or
// later, with an event stream that streams.Ensure updated, the events go
// as fast batches: the stream acknowledges every few hundred events
// rather than each, which makes EmitBatch the fastest way to store many
// events (docs/performance.md); a receipt then has Stream set, and only
// the last stored event's receipt has its Sequence (a duplicate counts as
// stored, Duplicate unset). Otherwise EmitBatch stores one event after the
// other, as Emit does, with full receipts. Without an event stream, it
// sends each event as Emit does.
//
// Events are encoded first, and held until the call returns (emit a large
// import in calls of some thousands): an invalid one fails EmitBatch with
// the same errors as Emit, and nothing is sent. When the stream does not
// store every event, the error is an *EmitBatchError saying how many were
// stored and why the next was not; the receipts are still returned.
// EmitBatch waits for the stream until ctx ends; without a deadline, until
// the server leaves it Config.RequestTimeout without an answer, however
// long the whole batch takes.
func (w *Worker) EmitBatch(ctx context.Context, events []BatchEvent) ([]Receipt, error) {
	if err := w.conn.Sendable(ctx, w.cfg.Stream.Disable); err != nil {
		w.stats.EmitFailed.Add(1)
		return nil, fmt.Errorf("mesh: emit batch: %w", err)
	}
	outs := make([]*outbound.Scratch, 0, len(events))
	defer func() {
		for _, out := range outs {
			w.out.Put(out)
		}
	}()
	for i, e := range events {
		out, err := w.encode(ctx, SendEvent, e.Event, e.Data, func(o *sendOptions) {
			for _, opt := range e.Options {
				opt.applyBatchEvent(o)
			}
		}, w.store.Durable())
		if err != nil {
			for _, out := range outs {
				out.Sent(err)
			}
			w.stats.EmitFailed.Add(1)
			return nil, fmt.Errorf("mesh: emit batch: event %d (%q): %w; nothing sent", i, e.Event, err)
		}
		outs = append(outs, out)
	}
	receipts := make([]Receipt, len(outs))
	for i, out := range outs {
		receipts[i] = Receipt{ID: out.ID, Subject: out.Msg.Subject}
	}
	stored, err := w.storeBatch(ctx, outs, receipts)
	if stored == len(outs) {
		err = nil // every event stored: what else was said does not matter
	}
	for i, out := range outs {
		if i < stored {
			out.Sent(nil)
			w.stats.Emitted(events[i].Event)
		} else {
			out.Sent(err)
		}
	}
	if err != nil {
		w.stats.EmitFailed.Add(uint64(len(outs) - stored))
		return receipts, &EmitBatchError{Stored: stored, Event: events[stored].Event, Err: err}
	}
	return receipts, nil
}

// storeBatch stores the encoded events outs, filling in their receipts,
// and returns how many, from the first, were stored, and why the next one
// was not.
func (w *Worker) storeBatch(ctx context.Context, outs []*outbound.Scratch, receipts []Receipt) (int, error) {
	switch {
	case !w.store.Durable():
		for i, out := range outs {
			if err := w.publish(&out.Msg); err != nil {
				return i, err
			}
		}
		return len(outs), nil
	case !w.store.Batching():
		for i, out := range outs {
			ack, err := w.store.Store(ctx, &out.Msg)
			if err != nil {
				return i, err
			}
			receipts[i] = receipts[i].storedAs(ack)
		}
		return len(outs), nil
	}
	msgs := make([]*nats.Msg, len(outs))
	for i, out := range outs {
		msgs[i] = &out.Msg
	}
	res, stored, err := w.store.StoreBatch(ctx, msgs)
	for i := range stored {
		receipts[i].Stream = res.Stream
	}
	if stored > 0 {
		receipts[stored-1].Sequence = res.Sequence
	}
	return stored, err
}
