package mesh

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// HeaderRedrive marks a re-driven event with the sequence of the dead
// letter it came from.
const HeaderRedrive = "Mesh-Redrive"

// DeadLetter is an event that a durable handler could not handle, as kept in
// the dead-letter stream: the original message unchanged, plus why.
type DeadLetter struct {
	// Sequence is the dead letter's sequence in the dead-letter stream.
	Sequence uint64
	// Event is the original event; nil if it was not a valid CloudEvent
	// (then Reason says why, and Data and Header hold what was sent), or
	// if the dead letter omits part of it (see Omitted).
	Event *Event
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
	// not be stored again (keys nats.go refuses, JetStream's Nats-*
	// headers, more than 16 KiB of them). The original stays readable in
	// the event stream at StreamSequence, within the stream's limits;
	// Redrive reads it from there. "" when nothing was left out.
	Omitted string
}

// DeadLetters reads and re-drives a namespace's dead letters. Its methods
// are safe for concurrent use.
type DeadLetters struct {
	js jetstream.JetStream
	ns string
}

// NewDeadLetters returns the dead letters of namespace ns.
func NewDeadLetters(js jetstream.JetStream, ns string) *DeadLetters {
	return &DeadLetters{js: js, ns: ns}
}

// DeadLetters returns the worker's namespace's dead letters, or nil when
// StreamConfig.Disable is set.
func (w *Worker) DeadLetters() *DeadLetters {
	if w.js == nil {
		return nil
	}
	return NewDeadLetters(w.js, w.cfg.Namespace)
}

func (q *DeadLetters) stream(ctx context.Context) (jetstream.Stream, error) {
	s, err := q.js.Stream(ctx, DeadLetterStreamName(q.ns))
	if err != nil {
		return nil, fmt.Errorf("mesh: dead letters of %q: %w%s", q.ns, err, jetStreamHint(err))
	}
	return s, nil
}

// List returns up to limit dead letters of service (all services if
// service is ""), oldest first, starting at sequence from (1 for the
// start). limit <= 0 means no limit.
func (q *DeadLetters) List(ctx context.Context, service string, from uint64, limit int) ([]DeadLetter, error) {
	s, err := q.stream(ctx)
	if err != nil {
		return nil, err
	}
	filter := DeadLetterPrefix + "." + q.ns + ".>"
	if service != "" {
		if err := subjects.ValidateService(service); err != nil {
			return nil, fmt.Errorf("mesh: dead letters: %w", err)
		}
		filter = DeadLetterPrefix + "." + q.ns + "." + service + ".>"
	}
	var out []DeadLetter
	for seq := max(from, 1); limit <= 0 || len(out) < limit; {
		raw, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("mesh: read dead letter at %d: %w", seq, err)
		}
		out = append(out, q.parse(raw))
		seq = raw.Sequence + 1
	}
	return out, nil
}

// Get returns the dead letter at sequence seq.
func (q *DeadLetters) Get(ctx context.Context, seq uint64) (*DeadLetter, error) {
	s, err := q.stream(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := s.GetMsg(ctx, seq)
	if err != nil {
		return nil, fmt.Errorf("mesh: dead letter %d: %w", seq, err)
	}
	dl := q.parse(raw)
	return &dl, nil
}

func (q *DeadLetters) parse(raw *jetstream.RawStreamMsg) DeadLetter {
	h := raw.Header
	dl := DeadLetter{
		Sequence: raw.Sequence,
		Data:     raw.Data,
		Header:   nats.Header{},
		Reason:   h.Get(HeaderDeadLetterReason),
		Service:  h.Get(HeaderDeadLetterService),
		Handler:  h.Get(HeaderDeadLetterHandler),
		Subject:  h.Get(HeaderDeadLetterSubject),
		Time:     raw.Time,
		Omitted:  h.Get(HeaderDeadLetterOmitted),
	}
	dl.Deliveries, _ = strconv.ParseUint(h.Get(HeaderDeadLetterDeliveries), 10, 64)
	dl.StreamSequence, _ = strconv.ParseUint(h.Get(HeaderDeadLetterSequence), 10, 64)
	for k, vs := range h {
		if !strings.HasPrefix(k, "Mesh-Dlq-") && k != jetstream.MsgIDHeader {
			dl.Header[k] = vs
		}
	}
	ev := &Event{NATSSubject: dl.Subject, StreamSequence: dl.StreamSequence, Deliveries: dl.Deliveries}
	if dl.Omitted == "" && codec.Decode(dl.Header, dl.Data, &ev.Event) == nil {
		if a, err := subjects.Parse(dl.Subject); err == nil {
			ev.Target = a.Target
		}
		dl.Event = ev
	}
	return dl
}

// Redrive sends the dead letter at seq again to the service that failed it,
// and only to it: on "<ns>.<service>.<event>", never as a broadcast, with
// its original id and the Mesh-Redrive header. Then it removes the dead
// letter. Every handler of that service matching the event receives it,
// live or durable; use the idempotency guard where that matters.
func (q *DeadLetters) Redrive(ctx context.Context, seq uint64) error {
	dl, err := q.Get(ctx, seq)
	if err != nil {
		return err
	}
	a, err := subjects.Parse(dl.Subject)
	if err != nil {
		return fmt.Errorf("mesh: redrive dead letter %d: original subject: %w", seq, err)
	}
	subject, err := subjects.Subject(q.ns, dl.Service, a.Event)
	if err != nil {
		return fmt.Errorf("mesh: redrive dead letter %d: %w", seq, err)
	}
	msg := &nats.Msg{Subject: subject, Header: nats.Header{}, Data: dl.Data}
	for k, vs := range dl.Header {
		msg.Header[k] = vs
	}
	if dl.Omitted != "" {
		// The dead letter left part of the event out: send the original.
		orig, err := q.original(ctx, dl)
		if err != nil {
			return err
		}
		msg.Data, msg.Header = orig.Data, nats.Header{}
		copyHeaders(msg.Header, orig.Header, maxStreamHeader-len(HeaderRedrive)-64)
	}
	msg.Header.Set(HeaderRedrive, strconv.FormatUint(seq, 10))
	// A new message id, or the stream would drop it as a duplicate.
	msg.Header.Set(jetstream.MsgIDHeader, "redrive:"+q.ns+":"+strconv.FormatUint(seq, 10))
	if _, err := q.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("mesh: redrive dead letter %d to %s: %w", seq, dl.Service, withHint(err))
	}
	s, err := q.stream(ctx)
	if err != nil {
		return err
	}
	if err := s.DeleteMsg(ctx, seq); err != nil {
		return fmt.Errorf("mesh: redrive dead letter %d: sent, but not removed: %w", seq, err)
	}
	return nil
}

// original reads from the event stream the event a dead letter came from.
func (q *DeadLetters) original(ctx context.Context, dl *DeadLetter) (*jetstream.RawStreamMsg, error) {
	s, err := q.js.Stream(ctx, EventStreamName(q.ns))
	if err != nil {
		return nil, fmt.Errorf("mesh: redrive dead letter %d: it omits %s, and the event stream cannot be read: %w%s", dl.Sequence, dl.Omitted, err, jetStreamHint(err))
	}
	raw, err := s.GetMsg(ctx, dl.StreamSequence)
	if err != nil {
		return nil, fmt.Errorf("mesh: redrive dead letter %d: it omits %s, and the original at sequence %d of %s cannot be read (removed by the stream's limits?): %w",
			dl.Sequence, dl.Omitted, dl.StreamSequence, EventStreamName(q.ns), err)
	}
	return raw, nil
}

// Purge removes the dead letters of service, or all of them if service is
// "".
func (q *DeadLetters) Purge(ctx context.Context, service string) error {
	s, err := q.stream(ctx)
	if err != nil {
		return err
	}
	var opts []jetstream.StreamPurgeOpt
	if service != "" {
		if err := subjects.ValidateService(service); err != nil {
			return fmt.Errorf("mesh: purge dead letters: %w", err)
		}
		opts = append(opts, jetstream.WithPurgeSubject(DeadLetterPrefix+"."+q.ns+"."+service+".>"))
	}
	if err := s.Purge(ctx, opts...); err != nil {
		return fmt.Errorf("mesh: purge dead letters: %w", err)
	}
	return nil
}
