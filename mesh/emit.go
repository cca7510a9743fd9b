package mesh

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
)

// EmitOption changes one Emit or Request.
type EmitOption func(*emitOptions)

type emitOptions struct {
	target      string
	id          string
	contentType string
	extensions  []codec.Extension
}

// To sends the event to one instance of service instead of broadcasting it.
func To(service string) EmitOption {
	return func(o *emitOptions) { o.target = service }
}

// ToSelf sends the event to this worker's own service (one instance of it,
// possibly this one).
func ToSelf() EmitOption {
	return func(o *emitOptions) { o.target = "" }
}

// Broadcast sends the event to every service listening for it; it is the
// default.
func Broadcast() EmitOption {
	return func(o *emitOptions) { o.target = subjects.Broadcast }
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
// Emit returns once the event is written to the connection: delivery to live
// handlers is at most once. It fails with a clear error, sending nothing, on
// an invalid event or target name, data that does not marshal, an event
// over the server's max_payload (ErrTooLarge), a done ctx, or after Close
// (ErrClosed). While the worker is reconnecting, events are buffered by the
// NATS client (8 MiB by default) and sent on reconnect.
func (w *Worker) Emit(ctx context.Context, event string, data any, opts ...EmitOption) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mesh: emit %q: %w", event, err)
	}
	if w.state.Load() == stateClosed {
		return fmt.Errorf("mesh: emit %q: %w", event, ErrClosed)
	}
	msg, buf, target, err := w.encode(event, data, opts, false)
	if err != nil {
		return err
	}
	defer w.putBuf(buf)
	if err := w.publish(msg); err != nil {
		return fmt.Errorf("mesh: emit %q to %s: %w", event, target, err)
	}
	w.stats.emitted(event)
	return nil
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

// encode builds the NATS message of an event, or of a request if request is
// set. The body lives in buf, which the caller returns to the pool after
// publishing.
func (w *Worker) encode(event string, data any, opts []EmitOption, request bool) (*nats.Msg, *[]byte, string, error) {
	o := emitOptions{target: subjects.Broadcast}
	for _, opt := range opts {
		opt(&o)
	}
	if o.target == "" {
		o.target = w.cfg.Service
	}
	subjectOf := subjects.Subject
	if request {
		subjectOf = subjects.RequestSubject
	}
	subject, err := subjectOf(w.cfg.Namespace, o.target, event)
	if err != nil {
		return nil, nil, o.target, fmt.Errorf("mesh: emit: %w", err)
	}
	ev := codec.Event{
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
	if err := setData(&ev, data); err != nil {
		return nil, nil, o.target, fmt.Errorf("mesh: emit %q: %w", event, err)
	}
	msg := &nats.Msg{Subject: subject}
	buf := w.getBuf()
	if w.cfg.Encoding == codec.Binary {
		msg.Header = nats.Header{}
		err = codec.SetBinaryHeaders(msg.Header, &ev)
		msg.Data = ev.Data
	} else {
		*buf, err = codec.AppendStructured((*buf)[:0], &ev)
		msg.Data = *buf
	}
	if err != nil {
		w.putBuf(buf)
		return nil, nil, o.target, fmt.Errorf("mesh: emit %q: %w", event, err)
	}
	if max := w.nc.MaxPayload(); int64(len(msg.Data)+headerSize(msg.Header)) > max {
		w.putBuf(buf)
		return nil, nil, o.target, fmt.Errorf("mesh: emit %q: %w: the event is %d bytes, the server allows %d",
			event, ErrTooLarge, len(msg.Data)+headerSize(msg.Header), max)
	}
	return msg, buf, o.target, nil
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

func headerSize(h nats.Header) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4
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

const maxPooledBuf = 64 << 10

func (w *Worker) getBuf() *[]byte {
	if b, ok := w.emitBufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 1024)
	return &b
}

func (w *Worker) putBuf(b *[]byte) {
	if b != nil && cap(*b) <= maxPooledBuf {
		w.emitBufs.Put(b)
	}
}
