package main

import (
	"context"
	"fmt"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// tap prints what travels in the namespace, read on nc, the operator's
// connection: every event, in arrival order (a fired scheduled event with
// the time it was scheduled for), and every dead letter. It decodes with
// the codec package.
//
// Events come from a subscription to "ipc.*.>", every target's events
// (what the operator may read). Requests travel under
// subjects.RequestPrefix, outside it, so the tap does not see them (and
// does not answer them, which would hide mesh.ErrNoResponders from
// requesters). Dead letters are read from their stream with an ordered
// consumer rather than subscribed to: one read there is stored, so a scene
// that waited for it can list it at once. The stream must exist. stop
// ends both reads; nc stays open.
func (t *tracer) tap(ctx context.Context, nc *nats.Conn) (stop func(), err error) {
	events, err := subjects.Filter(subjects.DefaultNamespace, "*", ">")
	if err != nil {
		return nil, fmt.Errorf("tap: %w", err)
	}
	sub, err := nc.Subscribe(events, t.event)
	if err != nil {
		return nil, fmt.Errorf("tap: %w", err)
	}
	var cc jetstream.ConsumeContext
	err = nc.Flush()
	if err == nil {
		cc, err = t.readDeadLetters(ctx, nc)
	}
	if err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("tap: %w", err)
	}
	return func() {
		cc.Stop()
		_ = sub.Unsubscribe()
	}, nil
}

// event prints an event seen on the wire.
func (t *tracer) event(m *nats.Msg) {
	var ev codec.Event
	if err := codec.DecodeMsg(m, &ev); err != nil {
		t.printf(row, "tap", "invalid", m.Subject, err)
		return
	}
	addr, err := subjects.Parse(m.Subject)
	if err != nil {
		t.printf(row, "tap", "invalid", m.Subject, err)
		return
	}
	details := abbreviate(string(ev.Data))
	if m.Header.Get(subjects.HeaderRedrive) != "" {
		details = "re-driven: " + details
	}
	if at, ok := ev.Extension(subjects.ScheduledTimeExtension); ok {
		details = subjects.ScheduledTimeExtension + " " + at + ": " + details
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.printfLocked(row, short(ev.Source), "-> "+short(addr.Target), ev.Type, details)
	t.tapped[ev.ID] = true
	t.changedLocked()
}

// readDeadLetters prints and counts the dead letters of the namespace as
// they are stored.
func (t *tracer) readDeadLetters(ctx context.Context, nc *nats.Conn) (jetstream.ConsumeContext, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	stream := subjects.DeadLetterStream(subjects.DefaultNamespace)
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stream, err)
	}
	return cons.Consume(func(m jetstream.Msg) {
		h := m.Headers()
		event := m.Subject() // if it is not a valid CloudEvent
		var ev codec.Event
		if codec.Decode(h, m.Data(), &ev) == nil {
			event = ev.Type
		}
		service := h.Get(subjects.HeaderDeadLetterService)
		t.mu.Lock()
		defer t.mu.Unlock()
		t.printfLocked(row, "dlq", "<- "+short(service), event, h.Get(subjects.HeaderDeadLetterReason))
		t.calls[call{service, event, true}]++
		t.changedLocked()
	})
}
