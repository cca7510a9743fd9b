package durable

import (
	"errors"
	"fmt"
	"time"
)

// run runs the handler for the tasks of one call and settles each event.
func (c *Consumer[E]) run(tasks []task[E]) {
	if c.halt.Err() != nil || c.abandoned.Load() {
		// The worker's Close gave up waiting, or the server is gone:
		// leave the events to be redelivered.
		return
	}
	events := make([]E, len(tasks))
	for i, t := range tasks {
		events[i] = t.ev
	}
	returned := false
	defer func() {
		if !returned { // the handler ended the goroutine (runtime.Goexit); Handle reported it
			for _, t := range tasks {
				c.settle(t, ErrExited)
			}
		}
	}()
	outcomes := c.hooks.Handle(events)
	returned = true
	for i, t := range tasks {
		c.settle(t, outcomes[i])
	}
}

// ErrExited is the outcome of a handler call that ended its goroutine
// (runtime.Goexit) instead of returning: its events are retried, and
// dead-lettered after MaxDeliver tries, as for any failure.
var ErrExited = errors.New("the handler ended its goroutine (runtime.Goexit, which t.FailNow calls) instead of returning")

// settle acknowledges, retries or dead-letters one event after its handler
// returned err.
func (c *Consumer[E]) settle(t task[E], err error) {
	c.keeper.remove(t.msg)
	switch {
	case err == nil:
		if ackErr := t.msg.Ack(); ackErr != nil {
			c.hooks.Report(fmt.Errorf("mesh: durable handler %s: ack the event at stream sequence %d: %w (it will be redelivered)", c.cfg.Name, t.d.Sequence, ackErr))
			return
		}
		c.counters.Acked.Add(1)
	case c.hooks.Permanent(err) || t.d.Deliveries >= uint64(c.cfg.MaxDeliver):
		c.deadLetter(t, err)
	default:
		delay := backoffFor(c.cfg.Backoff, t.d.Deliveries)
		if nakErr := t.msg.NakWithDelay(delay); nakErr != nil {
			c.hooks.Report(fmt.Errorf("mesh: durable handler %s: retry the event at stream sequence %d: %w (it will be redelivered after AckWait)", c.cfg.Name, t.d.Sequence, nakErr))
			return
		}
		c.counters.Retried.Add(1)
	}
}

// backoffFor returns the delay before the retry that follows delivery n
// (1-based); the last delay repeats.
func backoffFor(backoff []time.Duration, n uint64) time.Duration {
	i := int(min(n, uint64(len(backoff)))) - 1
	return backoff[max(i, 0)]
}
