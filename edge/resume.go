package edge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// replayWait is how long a catch-up waits for the next message before
	// it asks the server whether any is left.
	replayWait = 2 * time.Second
	// replayFlush is how many caught-up messages are written between
	// flushes.
	replayFlush = 64
)

// errReplay marks a failure of the catch-up's consumer, not of the browser.
type errReplay struct{ err error }

func (e *errReplay) Error() string { return "edge: catch up from the event stream: " + e.err.Error() }
func (e *errReplay) Unwrap() error { return e.err }

// catchUp sends the events stored after lastID (a stream sequence) up to
// and including after, the sequence from which c receives live events, so
// that the browser misses none and gets none twice. It does nothing
// without an event stream, or when lastID is not a sequence, or not behind.
// When the catch-up's consumer fails, the browser is sent a GapEvent and
// goes on with live events.
func (c *conn) catchUp(ctx context.Context, lastID string, after uint64) error {
	last, err := strconv.ParseUint(lastID, 10, 64)
	if c.h.stream == nil || err != nil || last >= after {
		return nil
	}
	c.h.stats.resumed.Add(1)
	start := last + 1
	if after-last > c.h.cfg.MaxResume {
		start = after - c.h.cfg.MaxResume + 1
		if err := c.flushed(gapFrame(last, start)); err != nil {
			return err
		}
	}
	err = c.replay(ctx, start, after)
	if rerr := (*errReplay)(nil); errors.As(err, &rerr) {
		c.h.cfg.Logger.Warn("edge: resume failed, going on live", "last_event_id", last, "error", err)
		return c.flushed(gapFrame(last, after+1))
	}
	return err
}

// replay writes the events of sequences start to until with an ordered
// consumer of its own, which it deletes after.
func (c *conn) replay(ctx context.Context, start, until uint64) error {
	cons, err := c.h.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects:    c.h.filters,
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       start,
		InactiveThreshold: time.Minute,
	})
	if err != nil {
		return &errReplay{err}
	}
	it, err := cons.Messages()
	if err != nil {
		return &errReplay{err}
	}
	defer c.h.deleteConsumer(ctx, cons, it)
	if info := cons.CachedInfo(); info == nil || info.NumPending == 0 {
		return nil
	}
	for n := 1; ; n++ {
		m, err := nextMsg(ctx, cons, it)
		if m == nil || err != nil {
			return errors.Join(err, c.rc.Flush())
		}
		done, err := c.replayed(m, until)
		if done || err != nil {
			return errors.Join(err, c.rc.Flush())
		}
		if n%replayFlush == 0 {
			if err := c.rc.Flush(); err != nil {
				return err
			}
		}
	}
}

// replayed writes m if its sequence is at most until, and reports whether
// the catch-up is done: m is the last message before the live ones, or the
// last one pending, or the hub dropped c meanwhile.
func (c *conn) replayed(m jetstream.Msg, until uint64) (done bool, err error) {
	md, err := m.Metadata()
	if err != nil {
		return true, &errReplay{err}
	}
	seq := md.Sequence.Stream
	if seq > until {
		return true, nil
	}
	if f, err := decode(c.h.ns, m.Subject(), m.Headers(), m.Data(), seq); err == nil {
		c.deadline()
		if err := c.send(f); err != nil {
			return true, err
		}
	}
	select {
	case <-c.gone:
		return true, nil
	default:
		return seq == until || md.NumPending == 0, nil
	}
}

// nextMsg returns the catch-up's next message, or nil when none is left.
func nextMsg(ctx context.Context, cons jetstream.Consumer, it jetstream.MessagesContext) (jetstream.Msg, error) {
	for {
		wait, cancel := context.WithTimeout(ctx, replayWait)
		m, err := it.Next(jetstream.NextContext(wait))
		cancel()
		switch {
		case err == nil:
			return m, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout):
			return nil, &errReplay{err}
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return nil, &errReplay{err}
		}
		if info.NumPending == 0 {
			return nil, nil
		}
	}
}

// deleteConsumer stops consuming and deletes the ordered consumer, which
// would otherwise stay on the server for its inactive threshold.
func (h *Handler) deleteConsumer(ctx context.Context, cons jetstream.Consumer, consuming interface{ Stop() }) {
	consuming.Stop()
	info := cons.CachedInfo()
	if info == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := h.stream.DeleteConsumer(ctx, info.Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		h.cfg.Logger.Debug(fmt.Sprintf("edge: delete consumer %s", info.Name), "error", err)
	}
}
