package mesh

import (
	"fmt"
	"sync"
	"time"

	"github.com/exprsn/ipcmesh/codec"
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
	// HeaderDeadLetterOmitted lists, comma-separated, what of the original
	// message a dead letter leaves out: "data" when the body did not fit
	// under max_payload beside the headers, "headers" when some headers
	// could not be stored again (see DeadLetter.Omitted).
	HeaderDeadLetterOmitted = "Mesh-Dlq-Omitted"
)

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
	if d.w.handlerCtx.Err() != nil || d.abandoned.Load() {
		// Close gave up waiting, or the server is gone: leave the event
		// to be redelivered.
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
			d.w.report(fmt.Errorf("mesh: durable handler %s: ack the event at stream sequence %d: %w (it will be redelivered)", d.name, t.ev.StreamSequence, ackErr))
			return
		}
		d.stats.acked.Add(1)
	case IsPermanent(err) || t.ev.Deliveries >= uint64(d.opts.durable.maxDeliver):
		d.deadLetter(t.msg, t.ev, err)
	default:
		delay := backoffFor(d.opts.durable.backoff, t.ev.Deliveries)
		if nakErr := t.msg.NakWithDelay(delay); nakErr != nil {
			d.w.report(fmt.Errorf("mesh: durable handler %s: retry the event at stream sequence %d: %w (it will be redelivered after AckWait)", d.name, t.ev.StreamSequence, nakErr))
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
