package edge

import (
	"context"
	"errors"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// conn is one browser's stream. The hub puts messages in its buffer (ch)
// without waiting; the request's goroutine writes them to the browser.
type conn struct {
	h      *Handler
	rw     http.ResponseWriter
	rc     *http.ResponseController
	filter Filter
	ch     chan *frame
	// queued is the bytes of the messages in ch.
	queued atomic.Int64
	// gone is closed when the hub drops the connection, reason saying why.
	gone   chan struct{}
	reason string
}

func newConn(h *Handler, w http.ResponseWriter, filter Filter) *conn {
	return &conn{
		h:      h,
		rw:     w,
		rc:     http.NewResponseController(w),
		filter: filter,
		ch:     make(chan *frame, h.cfg.BufferSize),
		gone:   make(chan struct{}),
	}
}

// offer puts f in c's buffer without waiting, and reports false when the
// buffer is full: Config.BufferSize messages, or Config.BufferBytes bytes
// unless it is empty. The hub calls it under its lock.
func (c *conn) offer(f *frame) bool {
	n := int64(len(f.text))
	if q := c.queued.Add(n); q > int64(c.h.cfg.BufferBytes) && q != n {
		c.queued.Add(-n)
		return false
	}
	select {
	case c.ch <- f:
		return true
	default:
		c.queued.Add(-n)
		return false
	}
}

// end marks c dropped for reason. The hub calls it once, under its lock.
func (c *conn) end(reason string) {
	c.reason = reason
	close(c.gone)
}

// run writes the stream: the headers and an opening comment, the events
// after lastID when resuming, then live events and heartbeats until the
// browser leaves or the hub drops c.
func (c *conn) run(ctx context.Context, lastID string, after uint64) {
	h := c.rw.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	c.rw.WriteHeader(http.StatusOK)
	c.deadline()
	err := c.flushed(opening)
	if err == nil {
		err = c.catchUp(ctx, lastID, after)
	}
	if err == nil {
		err = c.serve(ctx)
	}
	if err != nil {
		c.fail(err)
		return
	}
	// The connection may serve another request: lift the deadline.
	_ = c.rc.SetWriteDeadline(time.Time{})
}

// serve writes live events and heartbeats.
func (c *conn) serve(ctx context.Context) error {
	tick := time.NewTicker(c.h.cfg.Heartbeat)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-c.gone:
			return c.goodbye()
		case f := <-c.ch:
			c.deadline()
			err = c.sendQueued(f)
		case <-tick.C:
			c.deadline()
			err = c.flushed(heartbeat)
		}
		if err != nil {
			return err
		}
	}
}

// sendQueued writes f and the messages queued behind it, then flushes.
func (c *conn) sendQueued(f *frame) error {
	for n := len(c.ch); ; n-- {
		c.queued.Add(-int64(len(f.text)))
		if err := c.send(f); err != nil {
			return err
		}
		if n == 0 {
			return c.rc.Flush()
		}
		f = <-c.ch // only this goroutine receives: never waits
	}
}

// send writes f if the browser may see its event.
func (c *conn) send(f *frame) error {
	if c.filter != nil && !c.filter(f.ev) {
		return nil
	}
	if _, err := c.rw.Write(f.text); err != nil {
		return err
	}
	c.h.stats.sent.Add(1)
	return nil
}

// goodbye tells the browser why the hub dropped it, if it still reads.
func (c *conn) goodbye() error {
	_ = c.rc.SetWriteDeadline(time.Now().Add(min(c.h.cfg.WriteTimeout, time.Second)))
	return c.flushed(droppedFrame(c.reason))
}

func (c *conn) flushed(p []byte) error {
	if _, err := c.rw.Write(p); err != nil {
		return err
	}
	return c.rc.Flush()
}

// deadline bounds the writes that follow by Config.WriteTimeout.
func (c *conn) deadline() {
	_ = c.rc.SetWriteDeadline(time.Now().Add(c.h.cfg.WriteTimeout))
}

// fail ends a stream whose write failed: a timeout drops the browser as
// too slow to read; any other error means it left.
func (c *conn) fail(err error) {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.h.hub.drop(c, ReasonWriteTimeout)
	}
	c.h.cfg.Logger.Debug("edge: stream ended", "error", err)
}
