package mesh

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Headers a dead letter carries besides the original event's.
const (
	HeaderDeadLetterReason     = "Mesh-Dlq-Reason"
	HeaderDeadLetterService    = "Mesh-Dlq-Service"
	HeaderDeadLetterHandler    = "Mesh-Dlq-Handler"
	HeaderDeadLetterDeliveries = "Mesh-Dlq-Deliveries"
	HeaderDeadLetterSubject    = "Mesh-Dlq-Subject"
	HeaderDeadLetterSequence   = "Mesh-Dlq-Stream-Seq"
	HeaderDeadLetterTime       = "Mesh-Dlq-Time"
)

// maxReasonLen bounds the reason a dead letter carries, so that it fits
// under max_payload with the original event.
const maxReasonLen = 1024

// deadLetterTimeout bounds the publish of a dead letter.
const deadLetterTimeout = 10 * time.Second

// receive is the consumer's callback: it decodes one message and hands it
// to the executor (or the batcher). Invalid messages go to the dead-letter
// stream without reaching the handler.
func (d *durable) receive(msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		d.w.report(fmt.Errorf("mesh: durable handler %s: message without JetStream metadata: %w", d.name, err))
		_ = msg.Term()
		return
	}
	ev := &Event{NATSSubject: msg.Subject(), StreamSequence: meta.Sequence.Stream, Deliveries: meta.NumDelivered, Handler: d.name,
		Replayed: isReplay(msg.Headers())}
	ev.Target = targetOf(ev.NATSSubject, d.w.cfg.Namespace)
	d.stats.pending.Store(meta.NumPending)
	if meta.NumDelivered > 1 {
		d.stats.redelivered.Add(1)
	}
	if err := codec.DecodeOwned(msg.Headers(), msg.Data(), &ev.Event); err != nil {
		d.w.stats.invalid.Add(1)
		err = fmt.Errorf("%w: %w", ErrInvalidMessage, err)
		d.w.report(fmt.Errorf("mesh: durable handler %s: %w", d.name, err), "subject", ev.NATSSubject)
		d.deadLetter(msg, ev, err)
		return
	}
	d.w.stats.received(ev.Type)
	if meta.NumDelivered > uint64(d.opts.durable.maxDeliver) {
		d.deadLetter(msg, ev, fmt.Errorf("not handled after %d deliveries (the last ones got no answer: did the handler crash or hang?)", meta.NumDelivered-1))
		return
	}
	t := task{ev: ev, msg: msg}
	// From now until it is settled, the keeper reports the event in
	// progress, whether it waits for its turn or its handler runs.
	d.keeper.add(msg)
	if d.batcher != nil {
		d.batcher.add(t)
		return
	}
	d.exec.run(t)
}

// process runs the handler for one event and settles the message.
func (d *durable) process(t task) {
	if d.w.handlerCtx.Err() != nil {
		// Close gave up waiting: leave the event to be redelivered.
		return
	}
	err := d.w.runHandler(d.handler, d.pattern, d.opts, t.ev)
	d.settle(t, err)
}

// keeper holds the events a durable handler has received and not yet
// settled, waiting or running, and reports them in progress every AckWait/3
// from one goroutine: a long handler keeps its event, prefetched events
// keep theirs, and no event costs a timer of its own.
type keeper struct {
	mu      sync.Mutex
	running map[jetstream.Msg]struct{}
	stopped chan struct{}
	done    chan struct{}
}

func newKeeper(every time.Duration) *keeper {
	k := &keeper{running: map[jetstream.Msg]struct{}{}, stopped: make(chan struct{}), done: make(chan struct{})}
	go k.loop(every)
	return k
}

func (k *keeper) loop(every time.Duration) {
	defer close(k.done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-k.stopped:
			return
		case <-tick.C:
		}
		// Under the lock, so that no event is reported in progress after
		// settle took it out (which would undo a delayed retry).
		k.mu.Lock()
		for m := range k.running {
			_ = m.InProgress()
		}
		k.mu.Unlock()
	}
}

func (k *keeper) add(m jetstream.Msg) {
	k.mu.Lock()
	k.running[m] = struct{}{}
	k.mu.Unlock()
}

func (k *keeper) remove(m jetstream.Msg) {
	k.mu.Lock()
	delete(k.running, m)
	k.mu.Unlock()
}

// stop ends the keeper's goroutine.
func (k *keeper) stop() {
	close(k.stopped)
	<-k.done
}

// settle acknowledges, retries or dead-letters one event after its handler
// returned err.
func (d *durable) settle(t task, err error) {
	d.keeper.remove(t.msg)
	switch {
	case err == nil:
		if ackErr := t.msg.Ack(); ackErr != nil {
			d.w.report(fmt.Errorf("mesh: durable handler %s: ack event %s: %w (it will be redelivered)", d.name, t.ev.ID, ackErr))
			return
		}
		d.stats.acked.Add(1)
	case IsPermanent(err) || t.ev.Deliveries >= uint64(d.opts.durable.maxDeliver):
		d.deadLetter(t.msg, t.ev, err)
	default:
		delay := backoffFor(d.opts.durable.backoff, t.ev.Deliveries)
		if nakErr := t.msg.NakWithDelay(delay); nakErr != nil {
			d.w.report(fmt.Errorf("mesh: durable handler %s: retry event %s: %w (it will be redelivered after AckWait)", d.name, t.ev.ID, nakErr))
			return
		}
		d.stats.retried.Add(1)
	}
}

// backoffFor returns the delay before the retry that follows delivery n
// (1-based); the last delay repeats.
func backoffFor(backoff []time.Duration, n uint64) time.Duration {
	i := int(min(n, uint64(len(backoff)))) - 1
	return backoff[max(i, 0)]
}

// deadLetter stores the event, unchanged, in the dead-letter stream with
// why it failed, and then terminates it in the event stream. If the dead
// letter cannot be stored the event is retried instead: nothing is lost.
func (d *durable) deadLetter(msg jetstream.Msg, ev *Event, cause error) {
	w := d.w
	reason := cause.Error()
	dl := &nats.Msg{
		Subject: deadLetterSubject(w.cfg.Namespace, w.cfg.Service, ev.NATSSubject),
		Header:  nats.Header{},
		Data:    msg.Data(),
	}
	for k, vs := range msg.Headers() {
		if k != jetstream.MsgIDHeader {
			dl.Header[k] = vs
		}
	}
	dl.Header.Set(HeaderDeadLetterReason, truncate(reason, maxReasonLen))
	dl.Header.Set(HeaderDeadLetterService, w.cfg.Service)
	dl.Header.Set(HeaderDeadLetterHandler, d.name)
	dl.Header.Set(HeaderDeadLetterDeliveries, strconv.FormatUint(ev.Deliveries, 10))
	dl.Header.Set(HeaderDeadLetterSubject, ev.NATSSubject)
	dl.Header.Set(HeaderDeadLetterSequence, strconv.FormatUint(ev.StreamSequence, 10))
	dl.Header.Set(HeaderDeadLetterTime, time.Now().UTC().Format(time.RFC3339Nano))
	dl.Header.Set(jetstream.MsgIDHeader, d.name+":"+strconv.FormatUint(ev.StreamSequence, 10))

	ctx, cancel := context.WithTimeout(context.Background(), deadLetterTimeout)
	defer cancel()
	if _, err := w.js.PublishMsg(ctx, dl); err != nil {
		w.report(fmt.Errorf("mesh: durable handler %s: store dead letter for event %s: %w%s (it will be retried)", d.name, ev.ID, err, jetStreamHint(err)))
		_ = msg.NakWithDelay(backoffFor(d.opts.durable.backoff, ev.Deliveries))
		return
	}
	if err := msg.TermWithReason(truncate(reason, 200)); err != nil {
		w.report(fmt.Errorf("mesh: durable handler %s: terminate dead-lettered event %s: %w", d.name, ev.ID, err))
	}
	d.stats.deadLettered.Add(1)
	w.log.Warn("mesh: event dead-lettered", "handler", d.name, "event", ev.Type, "id", ev.ID, "reason", reason)
	if w.cfg.OnDeadLetter != nil {
		w.cfg.OnDeadLetter(ev, reason)
	}
}

// deadLetterSubject is "_dlq.<ns>.<service>.<event tokens>" for an event
// that travelled on subject.
func deadLetterSubject(ns, service, subject string) string {
	rest := subject[len(ns)+1:]
	for i := 0; i < len(rest); i++ {
		if rest[i] == '.' {
			rest = rest[i+1:]
			break
		}
	}
	return DeadLetterPrefix + "." + ns + "." + service + "." + rest
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
