package durable

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/exprsn/ipcmesh/internal/errtext"
	"github.com/exprsn/ipcmesh/internal/headers"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Bounds on what a dead letter carries, so that it can always be stored.
const (
	// maxReasonLen bounds the reason a dead letter carries.
	maxReasonLen = 1024
	// deadLetterRetries is how many more deliveries an event past its
	// tries gets when no dead letter could be stored (the dead-letter
	// stream unavailable); after them it is terminated and reported.
	deadLetterRetries = 3
	// deadLetterTimeout bounds the publish of a dead letter.
	deadLetterTimeout = 10 * time.Second
)

// deadLetter stores the event in the dead-letter stream with why it
// failed, and then terminates it in the event stream.
//
// The dead letter copies the original body and the headers that can be
// published again, within the stream's limits; what does not fit or cannot
// be stored is left out and named in Mesh-Dlq-Omitted, and the original
// stays readable in the event stream at Mesh-Dlq-Stream-Seq. If even a dead
// letter without the original's body and headers cannot be stored, the
// event is retried deadLetterRetries more times, then terminated with a
// report that names its stream sequence: no event is retried forever.
func (c *Consumer[E]) deadLetter(t task[E], cause error) {
	reason := errtext.Of(cause, maxReasonLen)
	ctx, cancel := context.WithTimeout(context.Background(), deadLetterTimeout)
	defer cancel()
	dl := c.deadLetterMsg(t, reason, true)
	_, err := c.js.PublishMsg(ctx, dl)
	if err != nil && dl.Header.Get(subjects.HeaderDeadLetterOmitted) != "data,headers" {
		dl = c.deadLetterMsg(t, reason, false)
		_, err = c.js.PublishMsg(ctx, dl)
	}
	if err != nil {
		c.deadLetterFailed(t, err)
		return
	}
	if err := t.msg.TermWithReason(headers.Truncate(reason, 200)); err != nil {
		c.hooks.Report(fmt.Errorf("mesh: durable handler %s: terminate the dead-lettered event at stream sequence %d: %w", c.cfg.Name, t.d.Sequence, err))
	}
	c.counters.DeadLettered.Add(1)
	c.hooks.DeadLettered(t.ev, reason)
}

// deadLetterFailed retries an event whose dead letter could not be stored,
// for deadLetterRetries deliveries past its tries, then terminates it.
func (c *Consumer[E]) deadLetterFailed(t task[E], err error) {
	if t.d.Deliveries < uint64(c.cfg.MaxDeliver+deadLetterRetries) {
		c.hooks.Report(fmt.Errorf("mesh: durable handler %s: store the dead letter of the event at stream sequence %d: %w (it will be retried)",
			c.cfg.Name, t.d.Sequence, err))
		_ = t.msg.NakWithDelay(backoffFor(c.cfg.Backoff, t.d.Deliveries))
		return
	}
	_ = t.msg.TermWithReason("dead letter not stored")
	c.counters.Terminated.Add(1)
	c.hooks.Report(fmt.Errorf("mesh: durable handler %s: gave up on the event at stream sequence %d after %d deliveries: no dead letter could be stored (%w); it is terminated, and stays readable in stream %s at that sequence until the stream's limits remove it",
		c.cfg.Name, t.d.Sequence, t.d.Deliveries, err, c.cfg.Stream))
}

// setDeadLetterHeaders sets the dead-letter headers of the event d, which
// cfg's handler failed for reason; the subject header only when known.
func setDeadLetterHeaders(h nats.Header, cfg Config, reason string, d Delivery) {
	h.Set(subjects.HeaderDeadLetterReason, headers.Truncate(reason, maxReasonLen))
	h.Set(subjects.HeaderDeadLetterService, cfg.Service)
	h.Set(subjects.HeaderDeadLetterHandler, cfg.Name)
	h.Set(subjects.HeaderDeadLetterDeliveries, strconv.FormatUint(d.Deliveries, 10))
	if d.Subject != "" {
		h.Set(subjects.HeaderDeadLetterSubject, d.Subject)
	}
	h.Set(subjects.HeaderDeadLetterSequence, strconv.FormatUint(d.Sequence, 10))
	h.Set(subjects.HeaderDeadLetterTime, time.Now().UTC().Format(time.RFC3339Nano))
	h.Set(jetstream.MsgIDHeader, cfg.Name+":"+strconv.FormatUint(d.Sequence, 10))
}

// deadLetterMsg builds the dead letter of an event; with original unset,
// it leaves out the original's body and headers.
func (c *Consumer[E]) deadLetterMsg(t task[E], reason string, original bool) *nats.Msg {
	dl := &nats.Msg{
		Subject: subjects.DeadLetterSubject(c.cfg.Namespace, c.cfg.Service, t.d.Subject),
		Header:  nats.Header{},
	}
	setDeadLetterHeaders(dl.Header, c.cfg, reason, t.d)
	// The original's headers go in what room is left under the stream's
	// header limit and max_payload, after the omission header.
	maxPayload := c.maxBytes()
	omission := len(subjects.HeaderDeadLetterOmitted) + len(": data,headers\r\n")
	budget := int(min(int64(headers.MaxStreamHeader), maxPayload)) - headers.WireSize(dl.Header) - omission
	var omitted []string
	if !original || !headers.Copy(dl.Header, t.msg.Headers(), budget) {
		omitted = append(omitted, "headers")
	}
	room := maxPayload - int64(headers.WireSize(dl.Header)+omission)
	if original && int64(len(t.msg.Data())) <= room {
		dl.Data = t.msg.Data()
	} else {
		omitted = append([]string{"data"}, omitted...)
	}
	if len(omitted) > 0 {
		dl.Header.Set(subjects.HeaderDeadLetterOmitted, strings.Join(omitted, ","))
	}
	return dl
}
