package durable

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A stored message with an empty body and a Status header (which any
// publisher can send, and which nats.go reads even behind a bare CR) comes
// to the consumer as a status message, not an event: nats.go swallows it,
// or stops consuming altogether (400, or 409 "consumer deleted"). The
// engine stands up to both: it consumes again when the client stops, and
// the consumer's delivery limit ends a message the handler never sees,
// which the server's advisory then reports.

// restartPause is the pause before consuming again after the client
// stopped by itself.
const restartPause = time.Second

// consume consumes with a new consume context, and watches it.
func (c *Consumer[E]) consume() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopping {
		return nil
	}
	cc, err := c.cons.Consume(c.receive, c.opts...)
	if err != nil {
		return err
	}
	c.cc = cc
	go c.watch(cc)
	return nil
}

// watch waits for cc to close and, unless Stop closed it, reports it and
// consumes again.
func (c *Consumer[E]) watch(cc jetstream.ConsumeContext) {
	<-cc.Closed()
	for {
		c.mu.Lock()
		stopping := c.stopping
		c.mu.Unlock()
		if stopping {
			return
		}
		cause := "no reason given"
		if p := c.lastErr.Load(); p != nil {
			cause = (*p).Error()
		}
		c.hooks.Report(fmt.Errorf("mesh: durable handler %s: the NATS client stopped consuming (%s); consuming again in %s", c.cfg.Name, cause, restartPause))
		select {
		case <-c.halt.Done():
			return
		case <-time.After(restartPause):
		}
		err := c.consume()
		if err == nil {
			return
		}
		c.lastErr.Store(&err)
	}
}

// consumeError receives the errors of the consume context: those that
// stop it are kept for watch's report, those worth an operator's look are
// reported.
func (c *Consumer[E]) consumeError(_ jetstream.ConsumeContext, err error) {
	c.lastErr.Store(&err)
	switch {
	case errors.Is(err, jetstream.ErrNoHeartbeat), errors.Is(err, jetstream.ErrConsumerNotFound):
		c.hooks.Report(fmt.Errorf("mesh: durable handler %s: %w (retrying)", c.cfg.Name, err))
	}
}

// maxDeliveries is the server's advisory of an event that reached a
// consumer's delivery limit.
type maxDeliveries struct {
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
}

// watchMaxDeliveries dead-letters the events that reached the consumer's
// delivery limit: those the handler never saw. The dead letter carries
// neither body nor headers (the engine never had them; the original stays
// in the event stream at its sequence), and is reported through
// Hooks.Unseen; if it cannot be stored, the event is reported terminated.
// One instance of the service receives each advisory (a queue group named
// after the consumer).
func (c *Consumer[E]) watchMaxDeliveries(nc *nats.Conn) error {
	subject := "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + c.cfg.Stream + "." + c.cfg.Name
	sub, err := nc.QueueSubscribe(subject, c.cfg.Name, func(m *nats.Msg) {
		var a maxDeliveries
		if json.Unmarshal(m.Data, &a) != nil {
			return
		}
		cause := c.hooks.Unseen(a.StreamSeq, a.Deliveries)
		c.hooks.Report(fmt.Errorf("mesh: durable handler %s: %w", c.cfg.Name, cause))
		if err := c.storeUnseen(a, cause.Error()); err != nil {
			c.counters.Terminated.Add(1)
			c.hooks.Report(fmt.Errorf("mesh: durable handler %s: the event at stream sequence %d is terminated without a dead letter (%w); it stays readable in stream %s at that sequence",
				c.cfg.Name, a.StreamSeq, err, c.cfg.Stream))
			return
		}
		c.counters.DeadLettered.Add(1)
	})
	if err != nil {
		return fmt.Errorf("subscribe to %s: %w", subject, err)
	}
	c.maxed = sub
	return nil
}

// storeUnseen stores the dead letter of an event the handler never saw.
func (c *Consumer[E]) storeUnseen(a maxDeliveries, reason string) error {
	dl := &nats.Msg{Subject: subjects.DeadLetterPrefix + "." + c.cfg.Namespace + "." + c.cfg.Service + "._unseen", Header: nats.Header{}}
	setDeadLetterHeaders(dl.Header, c.cfg, reason, Delivery{Sequence: a.StreamSeq, Deliveries: a.Deliveries})
	dl.Header.Set(subjects.HeaderDeadLetterOmitted, "data,headers")
	ctx, cancel := context.WithTimeout(context.Background(), deadLetterTimeout)
	defer cancel()
	_, err := c.js.PublishMsg(ctx, dl)
	return err
}
