// Package outbound builds the NATS messages of a worker's events, requests
// and replies: subject, CloudEvent, duplicate key, body and the size check,
// in pooled scratches, so that an emit allocates next to nothing.
package outbound

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/internal/headers"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options are what a call's options set on an outgoing event.
type Options struct {
	Target      string
	Self        bool
	ID          string
	ContentType string
	Extensions  []codec.Extension
	// Schedule, when set, makes the event a schedule message that fires
	// later; it needs the event stream (dedup).
	Schedule Schedule
	// TTL is how long the event stream keeps the event (Nats-TTL), or
	// each firing of a scheduled event; 0 for the stream's MaxAge. It
	// applies only when the event is stored (dedup).
	TTL time.Duration
}

// Encoder encodes the events of one worker. It is safe for concurrent
// use; its fields are set once, before use.
type Encoder struct {
	Namespace, Service string
	Mode               codec.Mode
	// MaxPayload is the server's max_payload, read at each encode.
	MaxPayload func() int64
	// TooLarge is the error an event over MaxPayload wraps.
	TooLarge error
	// FiringTTL is the TTL of a scheduled event's firings when the emit
	// sets none, read at each scheduled encode; 0 for none.
	FiringTTL func() time.Duration

	pool     sync.Pool // *Scratch
	subjects subjectCache
}

// Scratch is one outgoing message being built and sent. Nothing in it may
// be kept after the send (nats.go copies what it publishes); Put returns
// it to the pool.
type Scratch struct {
	Opts   Options
	Event  codec.Event
	Msg    nats.Msg
	Target string // the target the options resolved to
	// ID is the id the event was emitted with: Event.ID, except for a
	// one-time scheduled event, whose firing's id is "<ID>@<time>".
	ID string
	// Done, if set, receives the send's outcome (see Sent).
	Done func(error)
	buf  []byte
}

// Copy returns copies of the headers and body of s's message, for a
// message kept after the send.
func (s *Scratch) Copy() (nats.Header, []byte) {
	h := make(nats.Header, len(s.Msg.Header))
	for k, v := range s.Msg.Header {
		h[k] = append([]string(nil), v...)
	}
	return h, append([]byte(nil), s.Msg.Data...)
}

// Detach returns s's message body and leaves s without it, for a message
// kept after the send: in structured mode the body is s's own buffer,
// which s gives up (the next event encoded in s gets a new one) instead of
// it being copied; in binary mode it is a copy, since the body is the
// caller's data.
func (s *Scratch) Detach() []byte {
	if len(s.Msg.Data) > 0 && len(s.buf) > 0 && &s.Msg.Data[0] == &s.buf[0] {
		data := s.Msg.Data
		s.buf, s.Msg.Data = nil, nil
		return data
	}
	return append([]byte(nil), s.Msg.Data...)
}

// Sent reports the outcome of sending s to Done, if set.
func (s *Scratch) Sent(err error) {
	if s.Done != nil {
		s.Done(err)
	}
}

// maxPooledBuf bounds the body buffers kept for reuse.
const maxPooledBuf = 64 << 10

// envelopeRoom is room enough for a structured envelope's attributes
// besides the data, unless extensions or long ids make them longer.
const envelopeRoom = 512

// Get returns an empty scratch whose target is a broadcast.
func (e *Encoder) Get() *Scratch {
	s, ok := e.pool.Get().(*Scratch)
	if !ok {
		s = &Scratch{}
	}
	s.Opts.Target = subjects.Broadcast
	return s
}

// Put returns s to the pool.
func (e *Encoder) Put(s *Scratch) {
	if cap(s.buf) > maxPooledBuf {
		return
	}
	s.Opts = Options{Extensions: s.Opts.Extensions[:0]}
	s.Event = codec.Event{}
	s.Msg = nats.Msg{}
	s.Target, s.ID, s.Done = "", "", nil
	e.pool.Put(s)
}

// Prepare builds the subject and the event of s: event with data, sent as
// a request if request is set, with the event stream's duplicate key if
// dedup is set.
func (e *Encoder) Prepare(s *Scratch, event string, data any, request, dedup bool) error {
	o := &s.Opts
	s.Target = o.Target
	if o.Self {
		s.Target = e.Service
	}
	subject, err := e.subjects.subject(e.Namespace, s.Target, event, request)
	if err != nil {
		return err
	}
	s.Event = codec.Event{
		ID:              o.ID,
		Source:          e.Service,
		Type:            event,
		Time:            time.Now().UTC(),
		DataContentType: o.ContentType,
		Extensions:      o.Extensions,
	}
	if s.Event.ID == "" {
		s.Event.ID = NewID()
	}
	s.ID = s.Event.ID
	if err := setData(&s.Event, data); err != nil {
		return err
	}
	if err := checkTTL(o.TTL); err != nil {
		return err
	}
	s.Msg.Subject = subject
	switch {
	case !dedup:
	case o.Schedule.IsSet():
		var ttl time.Duration
		if e.FiringTTL != nil {
			ttl = e.FiringTTL()
		}
		return e.schedule(s, ttl)
	default:
		// The stream drops a retried publish of the same event.
		s.Msg.Header = nats.Header{jetstream.MsgIDHeader: []string{subjects.DuplicateKey(s.Event.Source, s.Event.ID)}}
		if o.TTL > 0 {
			s.Msg.Header.Set(jetstream.MsgTTLHeader, o.TTL.String())
		}
	}
	return nil
}

// PrepareReply builds the event of s: a responder's reply with data to a
// request for event, sent on subject.
func (e *Encoder) PrepareReply(s *Scratch, event, subject string, data any) error {
	s.Event = codec.Event{ID: NewID(), Source: e.Service, Type: event, Time: time.Now().UTC(), Extensions: s.Opts.Extensions}
	s.Msg.Subject = subject
	return setData(&s.Event, data)
}

// Marshal encodes s.Event into s.Msg in the encoder's mode and checks the
// server's max_payload, header framing included.
func (e *Encoder) Marshal(s *Scratch) error {
	msg, ev := &s.Msg, &s.Event
	var err error
	if e.Mode == codec.Binary {
		if msg.Header == nil {
			msg.Header = nats.Header{}
		}
		err = codec.SetBinaryHeaders(msg.Header, ev)
		msg.Data = ev.Data
	} else {
		if need := len(ev.Data) + envelopeRoom; cap(s.buf) < need {
			// One allocation of about the size needed, rather than the
			// copies of growing a buffer to it.
			s.buf = make([]byte, 0, need)
		}
		s.buf, err = codec.AppendStructured(s.buf[:0], ev)
		msg.Data = s.buf
	}
	if err != nil {
		return err
	}
	// Before the first connection the limit is unknown (0): the server
	// refuses an event too large then.
	if size, limit := int64(len(msg.Data)+headers.WireSize(msg.Header)), e.MaxPayload(); limit > 0 && size > limit {
		return fmt.Errorf("%w: the event is %d bytes, the server allows %d", e.TooLarge, size, limit)
	}
	return nil
}

// setData puts data on ev: JSON-marshalled, except []byte, sent as is
// (application/octet-stream unless a content type is set),
// json.RawMessage, embedded as is, and nil, no data.
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
