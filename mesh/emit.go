package mesh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/textproto"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// EmitOption changes one Emit or Request.
type EmitOption func(*emitOptions)

type emitOptions struct {
	target      string
	self        bool
	id          string
	contentType string
	extensions  []codec.Extension
}

// To sends the event to one instance of service instead of broadcasting it.
// An empty or invalid service name fails the emit.
func To(service string) EmitOption {
	return func(o *emitOptions) { o.target, o.self = service, false }
}

// ToSelf sends the event to this worker's own service (one instance of it,
// possibly this one).
func ToSelf() EmitOption {
	return func(o *emitOptions) { o.self = true }
}

// Broadcast sends the event to every service listening for it; it is the
// default.
func Broadcast() EmitOption {
	return func(o *emitOptions) { o.target, o.self = subjects.Broadcast, false }
}

// WithID sets the event's CloudEvents id. Default: a new unique id. Set it
// to retry an emit as the same event, so receivers can tell.
func WithID(id string) EmitOption {
	return func(o *emitOptions) { o.id = id }
}

// WithContentType sets the data's content type. Default: application/json
// for anything but []byte, application/octet-stream for []byte.
func WithContentType(ct string) EmitOption {
	return func(o *emitOptions) { o.contentType = ct }
}

// PartitionKeyExtension is the CloudEvents extension that orders events for
// OrderedByKey durable handlers.
const PartitionKeyExtension = "partitionkey"

// WithPartitionKey sets the event's partition key (the CloudEvents
// partitionkey extension): durable handlers with OrderedByKey handle events
// that share a key in order.
func WithPartitionKey(key string) EmitOption {
	return WithExtension(PartitionKeyExtension, key)
}

// WithExtension sets a CloudEvents extension attribute, e.g.
// WithExtension("correlationid", id). Names are lowercase letters and
// digits; the emit fails otherwise.
func WithExtension(name, value string) EmitOption {
	return func(o *emitOptions) { o.extensions = append(o.extensions, codec.Extension{Name: name, Value: value}) }
}

// Emit sends event with data, to every service listening for it unless an
// option (To, ToSelf) names a target. Data is marshalled as JSON, except
// []byte, sent as is (see WithContentType), json.RawMessage, embedded as is,
// and nil, sent as an event without data.
//
// When the namespace has an event stream (see Durable), Emit returns once
// the event is stored, or with an error (no stream, a timeout, the server
// gone); retrying an emit with the same WithID stores the event once within
// the stream's duplicate window. Without a stream, Emit returns once the
// event is written to the connection and delivery to live handlers is at
// most once; while the worker is reconnecting, events are buffered by the
// NATS client (8 MiB by default) and sent on reconnect.
//
// Emit fails with a clear error, sending nothing, on an invalid event or
// target name, data that does not marshal, an event over the server's
// max_payload (ErrTooLarge), a done ctx, or after Close (ErrClosed).
func (w *Worker) Emit(ctx context.Context, event string, data any, opts ...EmitOption) error {
	_, err := w.EmitWithReceipt(ctx, event, data, opts...)
	return err
}

// Receipt says what became of an emitted event.
type Receipt struct {
	// ID is the event's CloudEvents id.
	ID string
	// Subject is the subject it was sent on.
	Subject string
	// Stream and Sequence say where the event stream stored it; empty and 0
	// when the namespace has no stream.
	Stream   string
	Sequence uint64
	// Duplicate is set when the stream already had an event with this id
	// (a retried emit) and did not store it again.
	Duplicate bool
}

// EmitWithReceipt is Emit, returning what became of the event.
func (w *Worker) EmitWithReceipt(ctx context.Context, event string, data any, opts ...EmitOption) (Receipt, error) {
	out, err := w.prepareEmit(ctx, event, data, opts)
	if err != nil {
		w.stats.emitFailed.Add(1)
		return Receipt{}, err
	}
	defer w.release(out)
	r := Receipt{ID: out.id, Subject: out.msg.Subject}
	if w.durable {
		var ack *jetstream.PubAck
		ack, err = w.js.PublishMsg(ctx, out.msg)
		if err == nil {
			r.Stream, r.Sequence, r.Duplicate = ack.Stream, ack.Sequence, ack.Duplicate
		}
		err = withHint(err)
	} else {
		err = w.publish(out.msg)
	}
	out.sent(err)
	if err != nil {
		w.stats.emitFailed.Add(1)
		return Receipt{}, fmt.Errorf("mesh: emit %q to %s: %w", event, out.target, err)
	}
	w.stats.emitted(event)
	return r, nil
}

// EmitAsync emits like Emit to the namespace's event stream without waiting
// for the stream's acknowledgement: the returned future reports it (Ok) or
// the failure (Err), and every failure is also reported through
// Config.OnError and counted in Stats.EmitFailed. At most
// Config.MaxPendingEmits acknowledgements are pending; past that EmitAsync
// waits for one until ctx's deadline, or for Config.AsyncEmitTimeout when
// ctx has none (cancelling ctx does not end that wait). Close waits for the
// pending ones.
//
// EmitAsync needs the event stream: without it, it returns an error.
func (w *Worker) EmitAsync(ctx context.Context, event string, data any, opts ...EmitOption) (jetstream.PubAckFuture, error) {
	if !w.durable {
		w.stats.emitFailed.Add(1)
		return nil, fmt.Errorf("mesh: EmitAsync(%q): namespace %q has no event stream %s: create it with meshctl serve, or set Config.Stream.Manage",
			event, w.cfg.Namespace, EventStreamName(w.cfg.Namespace))
	}
	out, err := w.prepareEmit(ctx, event, data, opts)
	if err != nil {
		w.stats.emitFailed.Add(1)
		return nil, err
	}
	defer w.release(out)
	// The client keeps the message until it is acknowledged, for retries:
	// it gets its own copy, not the pooled one.
	msg := &nats.Msg{Subject: out.msg.Subject, Header: out.msg.Header, Data: append([]byte(nil), out.msg.Data...)}
	// Wait for room among the pending acknowledgements until ctx ends, or
	// for AsyncEmitTimeout without a deadline.
	stall := w.cfg.AsyncEmitTimeout
	if dl, ok := ctx.Deadline(); ok {
		stall = max(time.Until(dl), time.Millisecond)
	}
	pubOpts := []jetstream.PublishOpt{jetstream.WithStallWait(stall)}
	f, err := w.js.PublishMsgAsync(msg, pubOpts...)
	out.sent(err)
	if err != nil {
		w.stats.emitFailed.Add(1)
		return nil, fmt.Errorf("mesh: emit %q to %s: %w", event, out.target, withHint(err))
	}
	w.stats.emitted(event)
	return f, nil
}

func (w *Worker) onAsyncEmitError(_ jetstream.JetStream, msg *nats.Msg, err error) {
	w.stats.emitFailed.Add(1)
	w.report(fmt.Errorf("mesh: asynchronous emit on %s (id %s) was not stored: %w", msg.Subject, msg.Header.Get(jetstream.MsgIDHeader), withHint(err)))
}

func withHint(err error) error {
	if err == nil {
		return nil
	}
	if h := jetStreamHint(err); h != "" {
		return fmt.Errorf("%w%s", err, h)
	}
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
		return fmt.Errorf("%w: no stream stores this subject; create it with meshctl serve, or set Config.Stream.Manage", err)
	}
	return err
}

// prepareEmit checks the worker and ctx, and encodes an event for the
// stream when there is one.
func (w *Worker) prepareEmit(ctx context.Context, event string, data any, opts []EmitOption) (outgoing, error) {
	if err := ctx.Err(); err != nil {
		return outgoing{}, fmt.Errorf("mesh: emit %q: %w", event, err)
	}
	if w.state.Load() == stateClosed {
		return outgoing{}, fmt.Errorf("mesh: emit %q: %w", event, ErrClosed)
	}
	if err := w.lostErr(); err != nil {
		return outgoing{}, fmt.Errorf("mesh: emit %q: %w", event, err)
	}
	return w.encode(ctx, SendEvent, event, data, opts)
}

// TryEmit is Emit for callers that must not fail because an event could not
// be sent, such as an HTTP handler whose user should not see a mesh outage:
// it logs the error and reports it to Config.OnError, and returns whether
// the emit succeeded.
func (w *Worker) TryEmit(ctx context.Context, event string, data any, opts ...EmitOption) bool {
	if err := w.Emit(ctx, event, data, opts...); err != nil {
		w.report(err, "event", event)
		return false
	}
	return true
}

// outgoing is an encoded event ready to send. It lives in a pooled
// scratch, which goes back to the pool with release once the send is done;
// sent reports the send's outcome to the OnSend hook.
type outgoing struct {
	s      *scratch
	msg    *nats.Msg
	target string
	id     string
	done   func(error)
}

func (o outgoing) sent(err error) {
	if o.done != nil {
		o.done(err)
	}
}

// scratch is what encoding one event needs, reused across emits so that an
// emit allocates next to nothing. Nothing in it may be kept after the send:
// nats.go copies what it publishes.
type scratch struct {
	opts emitOptions
	ev   codec.Event
	msg  nats.Msg
	buf  []byte
}

// maxPooledBuf bounds the body buffers kept for reuse.
const maxPooledBuf = 64 << 10

func (w *Worker) scratch() *scratch {
	if s, ok := w.scratches.Get().(*scratch); ok {
		return s
	}
	return &scratch{buf: make([]byte, 0, 1024)}
}

// release returns an outgoing event's scratch to the pool.
func (w *Worker) release(o outgoing) {
	s := o.s
	if s == nil || cap(s.buf) > maxPooledBuf {
		return
	}
	s.opts = emitOptions{extensions: s.opts.extensions[:0]}
	s.ev = codec.Event{}
	s.msg = nats.Msg{}
	w.scratches.Put(s)
}

// encode builds the NATS message of an event, or of a request when kind is
// SendRequest.
func (w *Worker) encode(ctx context.Context, kind SendKind, event string, data any, opts []EmitOption) (outgoing, error) {
	s := w.scratch()
	out := outgoing{s: s}
	o := &s.opts
	o.target = subjects.Broadcast
	for _, opt := range opts {
		opt(o)
	}
	if o.self {
		o.target = w.cfg.Service
	}
	out.target = o.target
	request := kind == SendRequest
	subject, err := w.subjects.subject(w.cfg.Namespace, o.target, event, request)
	if err != nil {
		w.release(out)
		return outgoing{}, fmt.Errorf("mesh: emit: %w", err)
	}
	ev := &s.ev
	*ev = codec.Event{
		ID:              o.id,
		Source:          w.cfg.Service,
		Type:            event,
		Time:            time.Now().UTC(),
		DataContentType: o.contentType,
		Extensions:      o.extensions,
	}
	if ev.ID == "" {
		ev.ID = nuid.Next()
	}
	if err := setData(ev, data); err != nil {
		w.release(out)
		return outgoing{}, fmt.Errorf("mesh: emit %q: %w", event, err)
	}
	out.id = ev.ID
	out.msg = &s.msg
	out.msg.Subject = subject
	if w.durable && !request {
		// The stream drops a retried publish of the same event.
		out.msg.Header = nats.Header{jetstream.MsgIDHeader: []string{subjects.DuplicateKey(ev.Source, ev.ID)}}
	}
	if w.cfg.OnSend != nil {
		out.done = w.cfg.OnSend(ctx, Send{Kind: kind, Event: ev, Subject: subject, Target: o.target})
	}
	if err := w.marshal(out.msg, ev, &s.buf); err != nil {
		out.sent(err)
		w.release(out)
		return outgoing{}, fmt.Errorf("mesh: emit %q: %w", event, err)
	}
	return out, nil
}

// marshal encodes ev into msg in the worker's mode, with buf for the
// structured body, and checks the server's max_payload.
func (w *Worker) marshal(msg *nats.Msg, ev *codec.Event, buf *[]byte) error {
	var err error
	if w.cfg.Encoding == codec.Binary {
		if msg.Header == nil {
			msg.Header = nats.Header{}
		}
		err = codec.SetBinaryHeaders(msg.Header, ev)
		msg.Data = ev.Data
	} else {
		*buf, err = codec.AppendStructured((*buf)[:0], ev)
		msg.Data = *buf
	}
	if err != nil {
		return err
	}
	if size, max := int64(len(msg.Data)+wireHeaderSize(msg.Header)), w.nc.MaxPayload(); size > max {
		return fmt.Errorf("%w: the event is %d bytes, the server allows %d", ErrTooLarge, size, max)
	}
	return nil
}

// setData puts data on ev as the Emit doc says.
func setData(ev *codec.Event, data any) error {
	switch d := data.(type) {
	case nil:
		return nil
	case []byte:
		ev.Data = d
		if ev.DataContentType == "" {
			ev.DataContentType = "application/octet-stream"
		}
		return nil
	case json.RawMessage:
		ev.Data = d
	default:
		b, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("marshal data of type %T as JSON: %w", data, err)
		}
		ev.Data = b
	}
	if ev.DataContentType == "" {
		ev.DataContentType = codec.ContentTypeJSON
	}
	return nil
}

// wireHeaderSize is the size of h on the wire, counted as nats.go counts
// it against max_payload: the "NATS/1.0" line, each value trimmed as
// "key: value" with its line end, and the blank line; 0 without headers.
func wireHeaderSize(h nats.Header) int {
	if len(h) == 0 {
		return 0
	}
	n := len("NATS/1.0\r\n") + len("\r\n")
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(textproto.TrimString(v)) + len(": \r\n")
		}
	}
	return n
}

func (w *Worker) publish(msg *nats.Msg) error {
	if msg.Header == nil {
		return w.nc.Publish(msg.Subject, msg.Data)
	}
	return w.nc.PublishMsg(msg)
}
