package store

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// A fast batch (nats-server 2.14) stores messages published with reply
// subjects of the form <inbox>.<batch id>.<flow>.fail.<n>.<op>.$FI, n
// counting from 1. The server answers on them with flow acknowledgements
// ({"type":"ack","seq":n,"msgs":m}: the first n messages are stored, and
// the next acknowledgement comes after m more), an error or a gap that ends
// the batch, and, once the message with the commit op is stored, a
// publish acknowledgement whose count says how many messages of the batch
// were stored (a duplicate of a stored one counts as stored).
const (
	batchOpStart  = "0"
	batchOpAppend = "1"
	batchOpCommit = "2"
	batchOpPing   = "4"
	batchSuffix   = ".$FI"
	// batchFlow is the most messages the server may let pass between two
	// acknowledgements (it caps it at 500), batchWindow how many of those
	// intervals may be unacknowledged before the batch waits.
	batchFlow   = 500
	batchWindow = 4
)

// BatchResult is what the stream acknowledged of a batch: the stream, and
// the sequence of the last message stored.
type BatchResult struct {
	Stream   string
	Sequence uint64
}

// Batching reports whether the event stream allows fast batches.
func (s *Stream) Batching() bool {
	c := s.caps.Load()
	return c != nil && c.batch
}

// StoreBatch stores msgs in the event stream in order, as fast batches,
// holding at most batchWindow acknowledgement intervals unacknowledged. It
// waits for the stream's acknowledgement until ctx ends; without a
// deadline, until the server leaves it without an answer for
// Config.Timeout. It returns how many messages, from the first, are
// stored, and when not all, why the next one is not: an error wrapping
// Config.Unconfirmed when the stream did not confirm it in time (it and
// those after it may or may not be stored); otherwise none after it is
// stored. A batch the server ends early without an error (its first
// message a duplicate) is followed by another for the rest, which sends
// its first message alone: a batch of events stored before (a retry)
// then costs a round trip per event rather than a window of refused
// messages per event.
func (s *Stream) StoreBatch(ctx context.Context, msgs []*nats.Msg) (res BatchResult, stored int, err error) {
	// Without a deadline, a batch may take as long as it needs while the
	// server answers: Config.Timeout bounds each wait, not the whole.
	stall := time.Duration(0)
	if _, ok := ctx.Deadline(); !ok {
		stall = s.Timeout
	}
	for first := true; stored < len(msgs); first = false {
		b := batch{nc: s.JS.Conn(), msgs: msgs[stored:], unconfirmed: s.Unconfirmed, window: batchWindow * batchFlow, stall: stall}
		if !first {
			b.window = 1
		}
		last, n, err := b.run(ctx)
		if n > 0 {
			res = last
		}
		stored += n
		switch {
		case err != nil:
			return res, stored, err
		case n == 0:
			return res, stored, errors.New("the stream stored none of the batch")
		}
	}
	return res, stored, nil
}

// batch is one fast batch publish in progress.
type batch struct {
	nc          *nats.Conn
	msgs        []*nats.Msg
	unconfirmed error
	prefix      string // <inbox>.<batch id>.<flow>.fail.
	// sent and acked count the messages sent and those the server
	// acknowledged as stored; window is how many may be unacknowledged.
	sent, acked, window int
	// stored is how many the batch stored, failed why the next was not.
	stored int
	failed error
	// stall, if set, bounds each wait for the server's next answer.
	stall time.Duration
}

// batchReply is any answer of the server to a fast batch's message.
type batchReply struct {
	// Type is "ack", "gap" or "err"; "" for a publish acknowledgement.
	Type string `json:"type"`
	// Seq is the batch sequence of a flow acknowledgement, an error or a
	// gap; the stream sequence of a publish acknowledgement.
	Seq      uint64        `json:"seq"`
	Msgs     int           `json:"msgs"`
	Expected uint64        `json:"last_seq"`
	Stream   string        `json:"stream"`
	Batch    string        `json:"batch"`
	Count    int           `json:"count"`
	Error    *jsonAPIError `json:"error"`
	// of is the batch sequence of the message answered, from the subject.
	of int
}

type jsonAPIError struct {
	Code        int    `json:"code"`
	ErrCode     int    `json:"err_code"`
	Description string `json:"description"`
}

func (e *jsonAPIError) Error() string {
	return fmt.Sprintf("the stream refused it: %s (code %d, error %d)", e.Description, e.Code, e.ErrCode)
}

// maxUnread bounds the server's answers a batch holds unread: beyond the
// flow acknowledgements (at most batchWindow), only refusals of messages
// sent after the batch ended come in numbers, and those are dropped.
const maxUnread = 64

// run publishes b.msgs as one batch and returns how many of them the
// stream stored, and, when not all, why the next was not.
func (b *batch) run(ctx context.Context) (BatchResult, int, error) {
	// The batch's id is random, and its answers come four tokens or more
	// below the inbox: the inbox's name can be guessed (nats.go counts),
	// the id cannot, and services may publish three tokens deep at most in
	// each other's inboxes (see permissions).
	id := rand.Text()
	inbox := b.nc.NewInbox() + "." + id
	replies := make(chan *nats.Msg, maxUnread)
	sub, err := b.nc.Subscribe(inbox+".>", func(m *nats.Msg) {
		select {
		case replies <- m:
		default:
		}
	})
	if err != nil {
		return BatchResult{}, 0, fmt.Errorf("subscribe to the batch's replies: %w", err)
	}
	defer sub.Unsubscribe() //nolint:errcheck // the subscription ends either way
	b.prefix = inbox + "." + strconv.Itoa(batchFlow) + ".fail."
	for b.sent < len(b.msgs) && b.failed == nil {
		if b.sent < b.acked+b.window {
			if err := b.publish(); err != nil {
				return BatchResult{}, b.acked, err
			}
			continue
		}
		if res, done, err := b.await(ctx, replies); done || err != nil {
			return res, b.stored, err
		}
	}
	// Every message is sent (the last one commits), or the batch failed
	// and ends: either way its publish acknowledgement comes.
	for {
		if res, done, err := b.await(ctx, replies); done || err != nil {
			return res, b.stored, err
		}
	}
}

// await takes in the server's next answer: a flow acknowledgement moves
// the window; an error or a gap fails the batch, which the server then
// ends; a publish acknowledgement ends it, done set, with b.stored and
// the error of the failed message, if any. err is set when the batch
// cannot go on.
func (b *batch) await(ctx context.Context, replies <-chan *nats.Msg) (res BatchResult, done bool, err error) {
	r, err := b.next(ctx, replies)
	if err != nil {
		b.stored = b.acked
		return res, false, err
	}
	switch {
	case r.Type == "ack":
		b.acked = max(b.acked, min(int(r.Seq), b.sent))
		if r.Msgs > 0 {
			b.window = batchWindow * r.Msgs
		}
	case r.Type == "err":
		b.fail(r.err(fmt.Errorf("event %d of the batch was refused", r.Seq)))
	case r.Type == "gap":
		b.fail(fmt.Errorf("the stream saw event %d of the batch where it expected %d", r.Seq, r.Expected))
	case r.Type != "":
		// Not an answer this engine knows: ignored.
	case r.Batch != "" || r.Error == nil:
		// The publish acknowledgement: the batch ended.
		b.stored = r.Count
		if r.Batch == "" {
			b.stored = r.of
		}
		b.stored = min(max(b.stored, 0), b.sent)
		if r.Error != nil {
			b.fail(r.Error)
		}
		return BatchResult{Stream: r.Stream, Sequence: r.Seq}, true, b.failed
	case r.of <= 1:
		// The first message refused: the server holds no batch.
		b.stored = 0
		return res, false, r.Error
	default:
		// A message refused before it joined the batch: a ping past it
		// makes the server end the batch there.
		b.fail(r.Error)
		if err := b.ping(); err != nil {
			b.stored = b.acked
			return res, false, err
		}
	}
	return res, false, nil
}

// fail keeps err if it is the first reason the batch failed.
func (b *batch) fail(err error) {
	if b.failed == nil {
		b.failed = err
	}
}

// err is the server's error in r, or else alt.
func (r *batchReply) err(alt error) error {
	if r.Error != nil {
		return r.Error
	}
	return alt
}

// publish sends the next message, the last one with the commit op. Its
// error wraps b.unconfirmed when messages sent before are not yet
// acknowledged.
func (b *batch) publish() error {
	op := batchOpAppend
	switch {
	case b.sent == len(b.msgs)-1:
		op = batchOpCommit
	case b.sent == 0:
		op = batchOpStart
	}
	m := *b.msgs[b.sent]
	b.sent++
	m.Reply = b.prefix + strconv.Itoa(b.sent) + "." + op + batchSuffix
	if err := b.nc.PublishMsg(&m); err != nil {
		if b.sent-1 > b.acked {
			// Messages sent before are not acknowledged yet: they may
			// be stored.
			return fmt.Errorf("%w: publish: %w", b.unconfirmed, err)
		}
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}

// ping asks the server for the batch's state as of the last message sent:
// it acknowledges again, or ends the batch at a gap.
func (b *batch) ping() error {
	ping := &nats.Msg{Subject: b.msgs[0].Subject, Reply: b.prefix + strconv.Itoa(b.sent) + "." + batchOpPing + batchSuffix}
	if err := b.nc.PublishMsg(ping); err != nil {
		return fmt.Errorf("%w: ping the batch: %w", b.unconfirmed, err)
	}
	return nil
}

// next returns the server's next answer, skipping what is not JSON. After
// attempt without one it pings the batch; when ctx ends, or after b.stall
// without an answer, it fails with b.unconfirmed. Counts in answers are
// bounded by the messages sent, so that a forged or garbled one cannot
// claim more.
func (b *batch) next(ctx context.Context, replies <-chan *nats.Msg) (*batchReply, error) {
	if b.stall > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.stall)
		defer cancel()
	}
	t := time.NewTimer(attempt)
	defer t.Stop()
	for {
		select {
		case m := <-replies:
			r := batchReply{of: replySeq(m.Subject)}
			if json.Unmarshal(m.Data, &r) != nil {
				continue // not the server's: whatever it is, the batch goes on
			}
			return &r, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %d of %d events of the batch confirmed: %w", b.unconfirmed, b.acked, len(b.msgs), ctx.Err())
		case <-t.C:
			if err := b.ping(); err != nil {
				return nil, err
			}
			t.Reset(attempt)
		}
	}
}

// replySeq returns the batch sequence in a batch reply subject, or 0.
func replySeq(subject string) int {
	rest := strings.TrimSuffix(subject, batchSuffix)
	rest = rest[:max(strings.LastIndexByte(rest, '.'), 0)]
	n, _ := strconv.Atoi(rest[strings.LastIndexByte(rest, '.')+1:])
	return n
}
