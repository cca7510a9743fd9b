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
	// the event stream, and is nil once the stream no longer has it.
	Event *codec.Event
	// Data and Header are the original message's body and headers.
	Data   []byte
	Header nats.Header
	// Reason is the handler's last error, or why the event was refused.
	Reason string
	// Service and Handler name the failing service and durable handler.
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
			return nil, fmt.Errorf("deadletter: list: %w", err)
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
		out = append(out, q.parse(ctx, raw))
		seq = raw.Sequence + 1
	}
	return out, nil
}

// Get returns the dead letter at sequence seq.
func (q *Queue) Get(ctx context.Context, seq uint64) (*DeadLetter, error) {
	s, err := q.stream(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := s.GetMsg(ctx, seq)
	if err != nil {
		return nil, fmt.Errorf("deadletter: dead letter %d: %w", seq, err)
	}
	dl := q.parse(ctx, raw)
	return &dl, nil
}

func (q *Queue) parse(ctx context.Context, raw *jetstream.RawStreamMsg) DeadLetter {
	h := raw.Header
	dl := DeadLetter{
		Sequence: raw.Sequence,
		Data:     raw.Data,
		Header:   nats.Header{},
		Reason:   h.Get(subjects.HeaderDeadLetterReason),
		Service:  h.Get(subjects.HeaderDeadLetterService),
		Handler:  h.Get(subjects.HeaderDeadLetterHandler),
		Subject:  h.Get(subjects.HeaderDeadLetterSubject),
		Time:     raw.Time,
		Omitted:  h.Get(subjects.HeaderDeadLetterOmitted),
	}
	dl.Deliveries, _ = strconv.ParseUint(h.Get(subjects.HeaderDeadLetterDeliveries), 10, 64)
	dl.StreamSequence, _ = strconv.ParseUint(h.Get(subjects.HeaderDeadLetterSequence), 10, 64)
	for k, vs := range h {
		if !strings.HasPrefix(k, "Mesh-Dlq-") && k != jetstream.MsgIDHeader {
			dl.Header[k] = vs
		}
	}
	var ev codec.Event
	switch {
	case dl.Omitted == "":
		if codec.Decode(dl.Header, dl.Data, &ev) == nil {
			dl.Event = &ev
		}
	default:
		// The event as it was is in the event stream, while its limits
		// keep it.
		if orig, err := q.original(ctx, &dl); err == nil && codec.Decode(orig.Header, orig.Data, &ev) == nil {
			dl.Event = &ev
		}
	}
	return dl
}

// Redrive sends the dead letter at seq again to the service that failed it,
// and only to it: on "<ns>.<service>.<event>", never as a broadcast, with
// its original id and the Mesh-Redrive header. Then it removes the dead
// letter. Every handler of that service matching the event receives it,
// live or durable; use the idempotency guard where that matters.
func (q *Queue) Redrive(ctx context.Context, seq uint64) error {
	dl, err := q.Get(ctx, seq)
	if err != nil {
		return err
	}
	msg := &nats.Msg{Header: nats.Header{}, Data: dl.Data}
	for k, vs := range dl.Header {
		msg.Header[k] = vs
	}
	original := dl.Subject
	if dl.Omitted != "" {
		// The dead letter left part of the event out: send the original.
		orig, err := q.original(ctx, dl)
		if err != nil {
			return err
		}
		msg.Data, msg.Header, original = orig.Data, nats.Header{}, orig.Subject
		headers.Copy(msg.Header, orig.Header, headers.MaxStreamHeader-len(subjects.HeaderRedrive)-64)
	}
	a, err := subjects.Parse(original)
	if err != nil {
		return fmt.Errorf("deadletter: redrive dead letter %d: original subject: %w", seq, err)
	}
	if msg.Subject, err = subjects.Subject(q.ns, dl.Service, a.Event); err != nil {
		return fmt.Errorf("deadletter: redrive dead letter %d: %w", seq, err)
	}
	msg.Header.Set(subjects.HeaderRedrive, strconv.FormatUint(seq, 10))
	// A new message id, or the stream would drop it as a duplicate.
	msg.Header.Set(jetstream.MsgIDHeader, "redrive:"+q.ns+":"+strconv.FormatUint(seq, 10))
	if _, err := q.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("deadletter: redrive dead letter %d to %s: %w%s", seq, dl.Service, err, streams.Hint(err))
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
			return fmt.Errorf("deadletter: purge dead letters: %w", err)
		}
		opts = append(opts, jetstream.WithPurgeSubject(subjects.DeadLetterFilter(q.ns, service)))
	}
	if err := s.Purge(ctx, opts...); err != nil {
		return fmt.Errorf("deadletter: purge dead letters: %w", err)
	}
	return nil
}
