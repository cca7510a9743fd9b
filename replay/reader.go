package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/streams"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Query selects events of a namespace's event stream. The zero value
// selects every event of namespace "ipc" stored when the reader opens.
type Query struct {
	// Namespace is the mesh namespace. Default: "ipc".
	Namespace string
	// FromSeq and FromTime start the range at a stream sequence or a time;
	// with neither it starts at the stream's first event; with both, at
	// FromSeq.
	FromSeq  uint64
	FromTime time.Time
	// UntilSeq and UntilTime end the range, inclusive; with neither it ends
	// at the last event stored when the reader opened.
	UntilSeq  uint64
	UntilTime time.Time
	// Event is an event name or pattern ("post:created", "user:*").
	// Default: every event.
	Event string
	// Target keeps the events sent to this service ("all" for broadcasts).
	// Default: any target.
	Target string
	// Source keeps the events emitted by this service. Default: any.
	Source string
	// IncludeReplays keeps events that were themselves re-delivered by a
	// replay or a dead-letter re-drive. Default: false.
	IncludeReplays bool
}

func (q Query) withDefaults() Query {
	if q.Namespace == "" {
		q.Namespace = subjects.DefaultNamespace
	}
	if q.Event == "" {
		q.Event = ">"
	}
	if q.Target == "" {
		q.Target = "*"
	}
	return q
}

// Record is one event read from the stream.
type Record struct {
	// Sequence and Stored are the event's stream sequence and the time the
	// stream stored it.
	Sequence uint64
	Stored   time.Time
	// Subject is the subject the event was sent on, Target its target.
	Subject string
	Target  string
	// Header and Data are the message as stored.
	Header nats.Header
	Data   []byte
	// Event is the decoded CloudEvent.
	Event codec.Event
}

// Reader iterates over the events of a Query. It is not safe for concurrent
// use. Close it to delete its consumer.
type Reader struct {
	q       Query
	stream  jetstream.Stream
	cons    jetstream.Consumer
	it      jetstream.MessagesContext
	pending uint64 // messages left in the consumer's range
	total   uint64
	invalid uint64
	done    bool
}

// Open opens a reader on the events of q in js's stream for q.Namespace.
func Open(ctx context.Context, js jetstream.JetStream, q Query) (*Reader, error) {
	q = q.withDefaults()
	filter, err := subjects.Filter(q.Namespace, q.Target, q.Event)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if q.Source != "" {
		if err := subjects.ValidateService(q.Source); err != nil {
			return nil, fmt.Errorf("replay: source: %w", err)
		}
	}
	name := subjects.EventStream(q.Namespace)
	stream, err := js.Stream(ctx, name)
	if err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("replay: namespace %q has no event stream %s: %w", q.Namespace, name, err)
		}
		return nil, fmt.Errorf("replay: stream %s: %w%s", name, err, streams.Hint(err))
	}
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{filter},
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		InactiveThreshold: time.Minute,
	}
	switch {
	case q.FromSeq > 0:
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, q.FromSeq
	case !q.FromTime.IsZero():
		t := q.FromTime
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &t
	}
	cons, err := stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("replay: open a reader on %s: %w", name, err)
	}
	r := &Reader{q: q, stream: stream, cons: cons}
	info, err := cons.Info(ctx)
	if err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("replay: open a reader on %s: %w", name, err)
	}
	r.pending, r.total = info.NumPending, info.NumPending
	if r.pending == 0 {
		r.done = true
		return r, nil
	}
	r.it, err = cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("replay: read %s: %w", name, err)
	}
	return r, nil
}

// Total is the number of events in the stream that matched the query's
// range start and subject filter when the reader opened: an upper bound of
// what Next returns.
func (r *Reader) Total() uint64 { return r.total }

// Invalid is the number of messages skipped so far because they were not
// valid CloudEvents.
func (r *Reader) Invalid() uint64 { return r.invalid }

// Next returns the next matching event, or io.EOF after the last.
func (r *Reader) Next(ctx context.Context) (*Record, error) {
	for !r.done {
		msg, err := r.it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("replay: read: %w", err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return nil, fmt.Errorf("replay: read: %w", err)
		}
		r.pending = meta.NumPending
		if r.pending == 0 {
			r.done = true
		}
		if r.beyondRange(meta) {
			r.done = true
			break
		}
		rec, ok := r.record(msg, meta)
		if ok {
			return rec, nil
		}
	}
	return nil, io.EOF
}

func (r *Reader) beyondRange(meta *jetstream.MsgMetadata) bool {
	return (r.q.UntilSeq > 0 && meta.Sequence.Stream > r.q.UntilSeq) ||
		(!r.q.UntilTime.IsZero() && meta.Timestamp.After(r.q.UntilTime))
}

// record decodes msg and applies the filters the server cannot.
func (r *Reader) record(msg jetstream.Msg, meta *jetstream.MsgMetadata) (*Record, bool) {
	h := msg.Headers()
	if !r.q.IncludeReplays && (h.Get(subjects.HeaderReplay) != "" || h.Get(subjects.HeaderRedrive) != "") {
		return nil, false
	}
	rec := &Record{
		Sequence: meta.Sequence.Stream,
		Stored:   meta.Timestamp,
		Subject:  msg.Subject(),
		Header:   h,
		Data:     msg.Data(),
	}
	if err := codec.Decode(h, rec.Data, &rec.Event); err != nil {
		r.invalid++
		return nil, false
	}
	if r.q.Source != "" && rec.Event.Source != r.q.Source {
		return nil, false
	}
	if a, err := subjects.Parse(rec.Subject); err == nil {
		rec.Target = a.Target
	}
	return rec, true
}

// Close stops reading and deletes the reader's consumer.
func (r *Reader) Close() error {
	if r.it != nil {
		r.it.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	name := r.cons.CachedInfo().Name
	if err := r.stream.DeleteConsumer(ctx, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("replay: delete reader consumer %s: %w", name, err)
	}
	return nil
}
