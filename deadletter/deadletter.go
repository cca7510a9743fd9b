package deadletter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/internal/headers"
	"github.com/exprsn/ipcmesh/streams"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DeadLetter is an event that a durable handler could not handle, as kept in
// the dead-letter stream: the original message unchanged, plus why.
type DeadLetter struct {
	// Sequence is the dead letter's sequence in the dead-letter stream.
	Sequence uint64
	// Event is the original event; nil if it was not a valid CloudEvent
	// (then Reason says why, and Data and Header hold what was sent). For
	// a dead letter that omits part of it (see Omitted), Event is read from
	// the event stream, and is nil once the stream no longer has it, or
	// when what the stream holds there is not the dead letter's event
	// (see Invalid).
	Event *codec.Event
	// Data and Header are the original message's body and headers.
	Data   []byte
	Header nats.Header
	// Reason is the handler's last error, or why the event was refused.
	Reason string
	// Service names the failing service: the service token of the dead
	// letter's subject, "_dlq.<ns>.<service>.<event tokens>", which only
	// that service (and the operator) may publish on. It is "" when the
	// Mesh-Dlq-Service header disagrees with it (see Invalid). Handler
	// names the failing durable handler, as the dead letter says.
	Service, Handler string
	// Deliveries is how many times the event was delivered.
	Deliveries uint64
	// Subject and StreamSequence are where the event was in the event
	// stream.
	Subject        string
	StreamSequence uint64
	// Time is when the event was dead-lettered.
	Time time.Time
	// Omitted says what of the original message the dead letter leaves
	// out, comma-separated: "data" when the body did not fit under
	// max_payload beside the headers, "headers" when some headers could
	// not be stored again (keys nats.go refuses, or more than fit under
	// JetStream's 64 KiB header limit; JetStream's own Nats-* headers are
	// never copied and not counted here). The original stays readable in
	// the event stream at StreamSequence, within the stream's limits;
	// Redrive reads it from there. "" when nothing was left out.
	Omitted string
	// Invalid says why the dead letter is not one the mesh wrote as it
	// stands, and Redrive refuses it (ErrInconsistent): its
	// Mesh-Dlq-Service header names another service than its subject, its
	// Mesh-Dlq-Subject is not an event the service receives (its own
	// targeted events and broadcasts), or, for one that omits part of the
	// event, the event stream holds at its StreamSequence another event
	// than its own (another subject, another service's, another id or
	// source). A service may publish dead letters of its own service with
	// any headers: such a letter was written by hand or forged. Values it
	// quotes are cut to 256 bytes. "" for a consistent dead letter.
	Invalid string
}

// Queue reads, re-drives and purges a namespace's dead letters. Its
// methods are safe for concurrent use.
type Queue struct {
	js jetstream.JetStream
	ns string
}

// New returns the dead letters of namespace ns.
func New(js jetstream.JetStream, ns string) *Queue {
	return &Queue{js: js, ns: ns}
}

func (q *Queue) stream(ctx context.Context) (jetstream.Stream, error) {
	s, err := q.js.Stream(ctx, subjects.DeadLetterStream(q.ns))
	if err != nil {
		return nil, fmt.Errorf("deadletter: dead letters of %q: %w%s", q.ns, err, streams.Hint(err))
	}
	return s, nil
}

// List returns up to limit dead letters of service (all services if
// service is ""), oldest first, starting at sequence from (1 for the
// start). limit <= 0 means no limit.
func (q *Queue) List(ctx context.Context, service string, from uint64, limit int) ([]DeadLetter, error) {
	s, err := q.stream(ctx)
	if err != nil {
		return nil, err
	}
	if service != "" {
		if err := subjects.ValidateService(service); err != nil {
			return nil, fmt.Errorf("deadletter: list: %w", cut(err))
		}
	}
	filter := subjects.DeadLetterFilter(q.ns, service)
	var out []DeadLetter
	for seq := max(from, 1); limit <= 0 || len(out) < limit; {
		raw, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("deadletter: read dead letter at %d: %w", seq, err)
		}
		out = append(out, q.parse(ctx, raw).DeadLetter)
		seq = raw.Sequence + 1
	}
	return out, nil
}

// Get returns the dead letter at sequence seq.
func (q *Queue) Get(ctx context.Context, seq uint64) (*DeadLetter, error) {
	l, err := q.get(ctx, seq)
	if err != nil {
		return nil, err
	}
	return &l.DeadLetter, nil
}

// letter is a dead letter with, for one that omits part of the event,
// the original as read from the event stream, or why it could not be.
type letter struct {
	DeadLetter
	orig    *jetstream.RawStreamMsg
	origErr error
}

func (q *Queue) get(ctx context.Context, seq uint64) (*letter, error) {
	s, err := q.stream(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := s.GetMsg(ctx, seq)
	if err != nil {
		return nil, fmt.Errorf("deadletter: dead letter %d: %w", seq, err)
	}
	l := q.parse(ctx, raw)
	return &l, nil
}

// parse reads a dead letter, checks it (DeadLetter.Invalid) and decodes
// its event, from the event stream for one that omits part of it.
func (q *Queue) parse(ctx context.Context, raw *jetstream.RawStreamMsg) letter {
	h := raw.Header
	dl := DeadLetter{
		Sequence: raw.Sequence,
		Data:     raw.Data,
		Header:   nats.Header{},
		Reason:   h.Get(subjects.HeaderDeadLetterReason),
		Handler:  h.Get(subjects.HeaderDeadLetterHandler),
		Subject:  h.Get(subjects.HeaderDeadLetterSubject),
		Time:     raw.Time,
		Omitted:  h.Get(subjects.HeaderDeadLetterOmitted),
	}
	dl.Deliveries = number(h.Get(subjects.HeaderDeadLetterDeliveries))
	dl.StreamSequence = number(h.Get(subjects.HeaderDeadLetterSequence))
	for k, vs := range h {
		if !strings.HasPrefix(k, "Mesh-Dlq-") && k != jetstream.MsgIDHeader {
			dl.Header[k] = vs
		}
	}
	if dl.Service, dl.Invalid = q.owner(raw.Subject, h); dl.Invalid == "" {
		dl.Invalid = q.checkHeaders(&dl, h)
	}
	l := letter{DeadLetter: dl}
	var ev codec.Event
	switch {
	case l.Omitted == "":
		if codec.Decode(l.Header, l.Data, &ev) == nil {
			l.Event = &ev
		}
	case l.Invalid == "":
		// The event as it was is in the event stream, while its limits
		// keep it; it must be the dead letter's own.
		if l.orig, l.origErr = q.original(ctx, &l.DeadLetter); l.origErr != nil {
			break
		}
		decoded := codec.Decode(l.orig.Header, l.orig.Data, &ev) == nil
		if !decoded {
			ev = codec.Event{}
		}
		if l.Invalid = q.checkOriginal(&l.DeadLetter, l.orig, &ev); l.Invalid == "" && decoded {
			l.Event = &ev
		}
	}
	return l
}

// number reads a count or sequence of a dead letter's headers; 0 when it
// is not one.
func number(s string) uint64 {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// Redrive sends the dead letter at seq again to the service that failed it,
// and only to it: on "<ns>.<service>.<event>", never as a broadcast, with
// its original id and the Mesh-Redrive header. Then it removes the dead
// letter. Every handler of that service matching the event receives it,
// live or durable; use the idempotency guard where that matters.
//
// The service is the one of the dead letter's subject (DeadLetter.Service).
// Redrive refuses, with ErrInconsistent, a dead letter whose headers
// disagree with it or that points at another event than its own
// (DeadLetter.Invalid): nothing but its subject's service token says whose
// a dead letter is, since a service may write its own with any headers.
func (q *Queue) Redrive(ctx context.Context, seq uint64) error {
	l, err := q.get(ctx, seq)
	if err != nil {
		return err
	}
	if l.Invalid != "" {
		return fmt.Errorf("deadletter: redrive dead letter %d: %w: %s (written by hand or forged; look at it with meshctl dlq show %d)", seq, ErrInconsistent, l.Invalid, seq)
	}
	msg := &nats.Msg{Header: nats.Header{}, Data: l.Data}
	for k, vs := range l.Header {
		msg.Header[k] = vs
	}
	original := l.Subject
	if l.Omitted != "" {
		// The dead letter left part of the event out: send the original,
		// which parse checked is its own.
		if l.origErr != nil {
			return l.origErr
		}
		msg.Data, msg.Header, original = l.orig.Data, nats.Header{}, l.orig.Subject
		headers.Copy(msg.Header, l.orig.Header, headers.MaxStreamHeader-len(subjects.HeaderRedrive)-64)
	}
	a, err := subjects.Parse(original)
	if err != nil {
		return fmt.Errorf("deadletter: redrive dead letter %d: original subject: %w", seq, cut(err))
	}
	if msg.Subject, err = subjects.Subject(q.ns, l.Service, a.Event); err != nil {
		return fmt.Errorf("deadletter: redrive dead letter %d: %w", seq, cut(err))
	}
	msg.Header.Set(subjects.HeaderRedrive, strconv.FormatUint(seq, 10))
	// A new message id, or the stream would drop it as a duplicate.
	msg.Header.Set(jetstream.MsgIDHeader, "redrive:"+q.ns+":"+strconv.FormatUint(seq, 10))
	if _, err := q.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("deadletter: redrive dead letter %d to %s: %w%s", seq, l.Service, cut(err), streams.Hint(err))
	}
	s, err := q.stream(ctx)
	if err != nil {
		return err
	}
	if err := s.DeleteMsg(ctx, seq); err != nil {
		return fmt.Errorf("deadletter: redrive dead letter %d: sent, but not removed: %w", seq, err)
	}
	return nil
}

// original reads from the event stream the event a dead letter came from.
func (q *Queue) original(ctx context.Context, dl *DeadLetter) (*jetstream.RawStreamMsg, error) {
	s, err := q.js.Stream(ctx, subjects.EventStream(q.ns))
	if err != nil {
		return nil, fmt.Errorf("deadletter: redrive dead letter %d: it omits %s, and the event stream cannot be read: %w%s", dl.Sequence, dl.Omitted, err, streams.Hint(err))
	}
	raw, err := s.GetMsg(ctx, dl.StreamSequence)
	if err != nil {
		return nil, fmt.Errorf("deadletter: redrive dead letter %d: it omits %s, and the original at sequence %d of %s cannot be read (removed by the stream's limits?): %w",
			dl.Sequence, dl.Omitted, dl.StreamSequence, subjects.EventStream(q.ns), err)
	}
	return raw, nil
}

// Purge removes the dead letters of service, or all of them if service is
// "".
func (q *Queue) Purge(ctx context.Context, service string) error {
	s, err := q.stream(ctx)
	if err != nil {
		return err
	}
	var opts []jetstream.StreamPurgeOpt
	if service != "" {
		if err := subjects.ValidateService(service); err != nil {
			return fmt.Errorf("deadletter: purge dead letters: %w", cut(err))
		}
		opts = append(opts, jetstream.WithPurgeSubject(subjects.DeadLetterFilter(q.ns, service)))
	}
	if err := s.Purge(ctx, opts...); err != nil {
		return fmt.Errorf("deadletter: purge dead letters: %w", cut(err))
	}
	return nil
}
