package hostiletest

import (
	"bytes"
	"encoding/json"
	"fmt"

	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/nats-io/nats.go"
)

// input is one message as a hostile publisher sends it.
type input struct {
	// Suffix is the subject after "<ns>.<service>.": "hostile.event" if
	// empty.
	Suffix string
	// Header is sent with nats.go, which checks and writes it.
	Header nats.Header
	// RawHeader, if set, is the whole header block, sent by hand as is
	// (see headerBlock): what nats.go refuses to send.
	RawHeader []byte
	// Body is the payload.
	Body []byte
	// Raw sends the message by hand even without RawHeader: for payloads
	// over max_payload, which only the server may refuse.
	Raw bool
}

func (in input) suffix() string {
	if in.Suffix == "" {
		return "hostile.event"
	}
	return in.Suffix
}

func (in input) raw() bool { return in.Raw || in.RawHeader != nil }

// block is the header block a raw send writes: RawHeader, or Header as
// nats.go would write it; nil for none.
func (in input) block() []byte {
	if in.RawHeader != nil || len(in.Header) == 0 {
		return in.RawHeader
	}
	var lines []string
	for k, vs := range in.Header {
		for _, v := range vs {
			lines = append(lines, k+": "+v)
		}
	}
	return headerBlock(lines...)
}

// header returns the headers as a receiving nats.go client decodes them,
// without the pseudo-headers of an inline status; nil if it cannot.
func (in input) header() nats.Header {
	if in.RawHeader == nil {
		return in.Header
	}
	h, err := nats.DecodeHeadersMsg(in.RawHeader)
	if err != nil {
		return nil
	}
	if first, _, _ := bytes.Cut(in.RawHeader, []byte("\r\n")); len(bytes.TrimSpace(first)) > len("NATS/1.0") {
		h.Del("Status")
		h.Del("Description")
	}
	return h
}

// size is the message's size as the server counts it against max_payload.
func (in input) size() int {
	if in.raw() {
		return len(in.block()) + len(in.Body)
	}
	return wireHeaderSize(in.Header) + len(in.Body)
}

// wireHeaderSize is the size of the header block nats.go writes for h.
func wireHeaderSize(h nats.Header) int {
	if len(h) == 0 {
		return 0
	}
	n := len("NATS/1.0\r\n\r\n")
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(": ") + len(v) + len("\r\n")
		}
	}
	return n
}

// send publishes in to subject without asking for an answer, and returns
// once the server has processed it, or with the server's refusal.
func (e *env) send(raw *rawConn, subject string, in input) error {
	if in.raw() {
		if err := raw.publish(subject, "", in.block(), in.Body); err != nil {
			// The server refuses a payload over max_payload on reading
			// its control line and closes the connection, so the rest
			// of the write can fail first: its -ERR is the answer.
			return raw.serverError(err)
		}
		return raw.flush()
	}
	if err := e.nc.PublishMsg(&nats.Msg{Subject: subject, Header: in.Header, Data: in.Body}); err != nil {
		return err
	}
	return e.nc.Flush()
}

// ask publishes in to subject with a reply subject and returns the answer.
func (e *env) ask(raw *rawConn, subject string, in input) (nats.Header, []byte, error) {
	if in.raw() {
		m, err := raw.request(subject, in.block(), in.Body)
		return m.Header, m.Data, err
	}
	m, err := e.nc.RequestMsg(&nats.Msg{Subject: subject, Header: in.Header, Data: in.Body}, rawWait)
	if err != nil {
		return nil, nil, err
	}
	return m.Header, m.Data, nil
}

// store publishes in to subject, in the event stream, and returns its
// stream sequence, or the refusal of the server or the stream.
func (e *env) store(raw *rawConn, subject string, in input) (uint64, error) {
	h, data, err := e.ask(raw, subject, in)
	if err != nil {
		return 0, err
	}
	return parsePubAck(h, data)
}

// event is a valid CloudEvent that a hostile publisher sends: structured
// mode (the whole event as JSON in the body) unless binary.
type event struct {
	id, source, typ string
	exts            []ext
	binary          bool
	// suffix, header and rawHeader are as in input: where and with what
	// header block the event is sent.
	suffix    string
	header    nats.Header
	rawHeader []byte
	// size, if set, pads the data so that the header block and the body
	// are exactly size bytes.
	size int
	// raw sends it by hand even with well-formed headers.
	raw bool
}

// ext is an extension attribute; a number is written as a JSON number,
// which receivers read as its literal text.
type ext struct {
	name, value string
	number      bool
}

// variant is what changes between two sends of one hostile event.
type variant struct {
	// data is the event's data, a JSON string: "ok", or "fail" for a
	// handler to fail it permanently.
	data string
	// tag is appended to the id, to make another event with the same
	// attributes.
	tag string
}

// input returns the message that carries the event as v says.
func (e event) input(v variant) input {
	in := input{Suffix: e.suffix, Header: e.header, RawHeader: e.rawHeader, Raw: e.raw}
	if e.binary {
		h := nats.Header{"ce-specversion": {"1.0"}, "ce-id": {e.id + v.tag}, "ce-source": {e.source}, "ce-type": {e.typ}, "Content-Type": {"application/json"}}
		for _, x := range e.exts {
			h.Set("ce-"+x.name, x.value)
		}
		for k, vs := range e.header {
			h[k] = vs
		}
		in.Header = h
		in.Body = []byte(`"` + v.data + `"`)
		return in
	}
	pad := 0
	if e.size > 0 {
		pad = e.size - in.size() - len(e.structured(v, 0))
		if pad < 0 {
			panic(fmt.Sprintf("hostiletest: event of %d bytes does not fit in %d", in.size()+len(e.structured(v, 0)), e.size))
		}
	}
	in.Body = e.structured(v, pad)
	return in
}

// structured is the event's JSON with pad bytes added to its data.
func (e event) structured(v variant, pad int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"specversion":"1.0","id":`)
	b.Write(jsonString(e.id + v.tag))
	b.WriteString(`,"source":`)
	b.Write(jsonString(e.source))
	b.WriteString(`,"type":`)
	b.Write(jsonString(e.typ))
	for _, x := range e.exts {
		b.WriteString(`,"` + x.name + `":`)
		if x.number {
			b.WriteString(x.value)
		} else {
			b.Write(jsonString(x.value))
		}
	}
	b.WriteString(`,"data":"` + v.data + strings.Repeat("p", pad) + `"}`)
	return b.Bytes()
}

func jsonString(s string) []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return b
}

// check fails the test unless got is the event as sent with v: it was
// delivered normally, huge attributes and all.
func (e event) check(t *testing.T, got *mesh.Event, v variant) {
	t.Helper()
	same := func(attr, got, want string) {
		if got != want {
			t.Errorf("attribute %s: got %d bytes %q, want %d bytes %q", attr, len(got), truncated(got), len(want), truncated(want))
		}
	}
	same("id", got.ID, e.id+v.tag)
	same("source", got.Source, e.source)
	same("type", got.Type, e.typ)
	for _, x := range e.exts {
		value, _ := got.Extension(x.name)
		same(x.name, value, x.value)
	}
}

// fill returns n bytes of a repeating pattern, so that a cut or shifted
// value does not compare equal.
func fill(n int) string {
	const pattern = "abcdefghijklmnopqrstuvwxyz0123456789-"
	return strings.Repeat(pattern, n/len(pattern)+1)[:n]
}

// digits returns a JSON number of n digits.
func digits(n int) string { return "1" + strings.Repeat("0", n-1) }

// manyHeaders returns n well-formed headers.
func manyHeaders(n int) nats.Header {
	h := nats.Header{}
	for i := range n {
		h.Set(fmt.Sprintf("X-Hostile-%05d", i), "v")
	}
	return h
}
