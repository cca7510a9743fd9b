package hostiletest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
)

// outcome is what must become of a hostile input.
type outcome int

const (
	// invalid: not a valid CloudEvent. It never reaches a handler; it is
	// reported (ErrInvalidMessage, Stats.Invalid), answered with code 400
	// on the request path and dead-lettered on the durable paths.
	invalid outcome = iota
	// valid: a valid CloudEvent, however large or odd its attributes and
	// headers. It is delivered normally; on the durable paths the handler
	// fails it permanently, so it is dead-lettered.
	valid
	// tolerated: a valid body in a header block nats.go cannot decode.
	// Either of the above, but the other events flow, and on the durable
	// paths it is settled.
	tolerated
	// refused: over max_payload. The server refuses it; the sender gets
	// an error.
	refused
)

func (o outcome) String() string {
	return [...]string{"invalid", "valid", "tolerated", "refused"}[o]
}

// hostileCase is one row of the hostile-publisher table. Each runs on
// every path (live, request, durable, durable behind the idempotency
// guard) against a fresh server with the default max_payload (1 MiB).
type hostileCase struct {
	name string
	kind outcome
	// in builds the message of an invalid or refused case for a server
	// with max_payload max.
	in func(max int) input
	// ev builds the event of a valid or tolerated case.
	ev func(max int) event
	// streamRefuses says that the event stream refuses to store it (a
	// header block over JetStream's 64 KiB): on the durable paths the
	// sender gets the stream's error, and nothing is to be handled.
	streamRefuses bool
}

// build returns the message of the case as v says, and the event it
// carries (the zero event for invalid and refused cases).
func (c hostileCase) build(max int, v variant) (input, event) {
	if c.in != nil {
		return c.in(max), event{}
	}
	ev := c.ev(max)
	return ev.input(v), ev
}

// sizes are the lengths of the attribute values: 1 byte; past the NATS
// control line (4 KiB), where a value put in a subject or a header line
// breaks the protocol; past JetStream's 64 KiB of headers; and 1 MB,
// within the server's max_payload.
var sizes = []struct {
	name string
	n    int
}{{"1 B", 1}, {"4 KiB", 4<<10 + 1}, {"64 KiB", 64<<10 + 1}, {"1 MB", 1_000_000}}

// basic is a small valid event; the cases change one thing about it.
func basic() event {
	return event{id: "hostile-1", source: "hostile-sender", typ: "hostile:event"}
}

// cases returns the table.
func cases() []hostileCase {
	var cs []hostileCase

	// Huge attributes and extension values, structured mode.
	for _, s := range sizes {
		n := s.n
		cs = append(cs,
			hostileCase{name: "id of " + s.name, kind: valid, ev: func(int) event { e := basic(); e.id = fill(n); return e }},
			hostileCase{name: "source of " + s.name, kind: valid, ev: func(int) event { e := basic(); e.source = fill(n); return e }},
			hostileCase{name: "type of " + s.name, kind: valid, ev: func(int) event { e := basic(); e.typ = fill(n); return e }},
			hostileCase{name: "extension value of " + s.name, kind: valid, ev: func(int) event {
				e := basic()
				e.exts = []ext{{name: "hostileext", value: fill(n)}}
				return e
			}},
		)
	}
	cs = append(cs,
		hostileCase{name: "extension value a 1 MB JSON number", kind: valid, ev: func(int) event {
			e := basic()
			e.exts = []ext{{name: "hostilenum", value: digits(1_000_000), number: true}}
			return e
		}},
		hostileCase{name: "128 extensions of 7 KiB", kind: valid, ev: func(int) event {
			e := basic()
			for i := range 128 {
				e.exts = append(e.exts, ext{name: "x" + strconv.Itoa(i), value: fill(7 << 10)})
			}
			return e
		}},
	)

	// Huge attributes in binary mode: in headers.
	cs = append(cs,
		hostileCase{name: "binary mode, ce-id of 4 KiB", kind: valid, ev: func(int) event {
			e := basic()
			e.binary, e.id = true, fill(4<<10+1)
			return e
		}},
		hostileCase{name: "binary mode, ce-source near JetStream's 64 KiB of headers", kind: valid, ev: func(int) event {
			e := basic()
			e.binary, e.source = true, fill(65535-200)
			return e
		}},
		hostileCase{name: "binary mode, ce-type over JetStream's 64 KiB of headers", kind: valid, streamRefuses: true, ev: func(int) event {
			e := basic()
			e.binary, e.typ = true, fill(64<<10+1)
			return e
		}},
	)

	// Header keys and values nats.go refuses or alters, around a valid
	// structured event.
	withRaw := func(name string, lines ...string) hostileCase {
		return hostileCase{name: name, kind: valid, ev: func(int) event {
			e := basic()
			e.rawHeader = headerBlock(lines...)
			return e
		}}
	}
	cs = append(cs,
		withRaw("header key with a space", "Bad Key: v"),
		withRaw("header key with a slash", "a/b: v"),
		withRaw("header key with bytes over 0x7f", "K\xffey\xc3: v"),
		withRaw("header key with control bytes", "K\x01\x7fey: v"),
		withRaw("header key of separators only", `()<>@,;\"[]?={}: v`),
		withRaw("header value with NUL, DEL and invalid UTF-8", "X-Value: a\x00b\x7fc\xff\xfe"),
		withRaw("header value with a bare CR", "X-Value: a\rb"),
		withRaw("header value of 60 KiB", "X-Big: "+fill(60<<10)),
		hostileCase{name: "3,000 header lines", kind: valid, ev: func(int) event {
			e := basic()
			e.header = manyHeaders(3000)
			return e
		}},
		hostileCase{name: "header block of 64 KiB less 16 bytes", kind: valid, ev: func(int) event {
			e := basic()
			e.header = nats.Header{"X-Pad": {fill(65535 - 16 - len("NATS/1.0\r\nX-Pad: \r\n\r\n"))}}
			return e
		}},
		hostileCase{name: "header block over JetStream's 64 KiB", kind: valid, streamRefuses: true, ev: func(int) event {
			e := basic()
			e.header = nats.Header{"X-Pad": {fill(64 << 10)}}
			return e
		}},
		hostileCase{name: "JetStream header Nats-Expected-Stream", kind: valid, ev: func(int) event {
			e := basic()
			e.header = nats.Header{"Nats-Expected-Stream": {"MESH_" + ns}}
			return e
		}},
		hostileCase{name: "status line with an event body", kind: valid, ev: func(int) event {
			e := basic()
			e.rawHeader = statusBlock("503")
			return e
		}},
	)

	// Header blocks nats.go cannot decode at all: it passes the body on
	// without headers.
	withBlock := func(name string, block string) hostileCase {
		return hostileCase{name: name, kind: tolerated, ev: func(int) event {
			e := basic()
			e.rawHeader = []byte(block)
			return e
		}}
	}
	cs = append(cs,
		withBlock("header line without a colon", "NATS/1.0\r\nX-A: b\r\ngarbage\r\n\r\n"),
		withBlock("header block without the NATS/1.0 line", "HTTP/1.1 200 OK\r\nX-A: b\r\n\r\n"),
		withBlock("header block without its blank line", "NATS/1.0\r\nX-A: b\r\n"),
		withBlock("header block with a short status", "NATS/1.0 1\r\n\r\n"),
	)

	// Messages that are not CloudEvents.
	bad := func(name string, in func(max int) input) hostileCase {
		return hostileCase{name: name, kind: invalid, in: in}
	}
	body := func(s string) func(int) input { return func(int) input { return input{Body: []byte(s)} } }
	const head = `{"specversion":"1.0","id":"hostile-1","source":"hostile-sender","type":"hostile:event"`
	statusOnly := func(status string, lines ...string) func(int) input {
		return func(int) input { return input{RawHeader: statusBlock(status, lines...)} }
	}
	rawBlock := func(block string) func(int) input {
		return func(int) input { return input{RawHeader: []byte(block)} }
	}
	cs = append(cs,
		bad("not JSON", body("hello")),
		bad("empty body", body("")),
		bad("JSON array", body(`[{"specversion":"1.0"}]`)),
		bad("data nested 20,000 deep", body(head+`,"data":`+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+"}")),
		bad("unbalanced nesting up to max_payload", func(max int) input {
			return input{Body: []byte(head + `,"data":` + strings.Repeat("[", max-len(head)-len(`,"data":`)))}
		}),
		bad("extension value an object", body(head+`,"hostileext":{"a":{"b":[1,2,{"c":null}]}}}`)),
		bad("invalid UTF-8 in id", body(`{"specversion":"1.0","id":"\xff\xfe","source":"s","type":"t"}`)),
		bad("lone surrogate escape in type", body(`{"specversion":"1.0","id":"1","source":"s","type":"\ud800"}`)),
		bad("control byte in source", body("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"a\x01b\",\"type\":\"t\"}")),
		bad("id given twice", body(`{"specversion":"1.0","id":"1","id":"2","source":"s","type":"t"}`)),
		bad("data and data_base64", body(head+`,"data":1,"data_base64":"AA=="}`)),
		bad("bad data_base64", body(head+`,"data_base64":"!!!!"}`)),
		bad("129 extensions", func(int) input {
			var b strings.Builder
			b.WriteString(head)
			for i := range 129 {
				fmt.Fprintf(&b, `,"x%d":"v"`, i)
			}
			b.WriteString("}")
			return input{Body: []byte(b.String())}
		}),
		bad("time of 1 MB", body(head+`,"time":"`+fill(1_000_000)+`"}`)),
		bad("NUL bytes", body(strings.Repeat("\x00", 1000))),
		bad("binary mode, bad percent-encoding", func(int) input {
			return input{Header: nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"a%zz"}, "ce-source": {"s"}, "ce-type": {"t"}}}
		}),
		bad("binary mode, percent-encoded invalid UTF-8", func(int) input {
			return input{Header: nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"%ff%fe"}, "ce-source": {"s"}, "ce-type": {"t"}}}
		}),
		bad("binary mode, ce-id given twice", func(int) input {
			return input{Header: nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"1", "2"}, "ce-source": {"s"}, "ce-type": {"t"}}}
		}),
		bad("binary mode in a header block nats.go cannot decode", func(int) input {
			return input{RawHeader: headerBlock("ce-specversion: 1.0", "ce-id: 1", "ce-source: s", "ce-type: t", "garbage")}
		}),
		bad("binary mode with a header key nats.go refuses", func(int) input {
			return input{RawHeader: headerBlock("ce-specversion: 1.0", "ce-id: 1", "ce-source: s", "ce-type: t", "ce-bad key: v")}
		}),
		bad("inline status 100 Idle Heartbeat, no body", statusOnly("100 Idle Heartbeat")),
		bad("inline status 100 FlowControl Request, no body", statusOnly("100 FlowControl Request")),
		bad("inline status 400 Bad Request, no body", statusOnly("400 Bad Request")),
		bad("inline status 404 No Messages, no body", statusOnly("404 No Messages")),
		bad("inline status 408 Request Timeout, no body", statusOnly("408 Request Timeout", "Nats-Pending-Messages: 1000000", "Nats-Pending-Bytes: 0")),
		bad("inline status 409 Consumer Deleted, no body", statusOnly("409 Consumer Deleted")),
		bad("inline status 503, no body", statusOnly("503")),
		// The server takes "NATS/1.0\r..." for a plain header line; nats.go
		// reads what follows the bare CR as an inline status.
		bad("status 100 behind a bare CR, no body", rawBlock("NATS/1.0\r100 Idle Heartbeat\r\n\r\n")),
		bad("status 400 behind a bare CR, no body", rawBlock("NATS/1.0\r400 Bad Request\r\n\r\n")),
		bad("status 404 behind a bare CR, no body", rawBlock("NATS/1.0\r404 No Messages\r\n\r\n")),
		bad("status 408 behind a bare CR, no body", rawBlock("NATS/1.0\r408 Request Timeout\r\nNats-Pending-Messages: 1\r\n\r\n")),
		bad("status 409 Consumer Deleted behind a bare CR, no body", rawBlock("NATS/1.0\r409 Consumer Deleted\r\n\r\n")),
		bad("binary mode event behind a bare CR, no body", rawBlock("NATS/1.0\rce-specversion: 1.0\r\nce-id: 1\r\nce-source: s\r\nce-type: t\r\n\r\n")),
		// The server, storing or delivering, cuts the first line at its
		// first CR: "NATS/1.0\n...\r409" reaches the consumer as
		// "NATS/1.0\r409".
		bad("status 409 behind an LF and a bare CR, no body", rawBlock("NATS/1.0\nX-A: b\r409 Consumer Deleted\r\n\r\n")),
	)

	// Sizes around max_payload.
	padded := func(name string, withHeader bool, less int) hostileCase {
		return hostileCase{name: name, kind: valid, ev: func(max int) event {
			e := basic()
			if withHeader {
				e.header = nats.Header{"X-Hostile": {fill(100)}}
			}
			e.size = max - less
			return e
		}}
	}
	garbage := func(less int) func(int) input {
		return func(max int) input { return input{Body: []byte(fill(max - less))} }
	}
	cs = append(cs,
		padded("event of exactly max_payload", false, 0),
		padded("event of max_payload less 1", false, 1),
		padded("headers and event of exactly max_payload", true, 0),
		bad("garbage of exactly max_payload", garbage(0)),
		bad("garbage of max_payload less 1", garbage(1)),
		hostileCase{name: "body of max_payload plus 1", kind: refused, in: func(max int) input {
			return input{}.withBody(max + 1)
		}},
		hostileCase{name: "headers and body of max_payload plus 1", kind: refused, in: func(max int) input {
			h := headerBlock("X-Hostile: " + fill(100))
			return input{RawHeader: h}.withBody(max + 1 - len(h))
		}},
	)

	// A subject as long as the control line allows a publisher with a
	// short reply subject: 4,035 bytes after "<ns>.<service>.", up to
	// 4,060 in all.
	cs = append(cs, hostileCase{name: "subject of 4,060 bytes", kind: valid, ev: func(int) event {
		e := basic()
		e.suffix = "hostile." + strings.Repeat("t.", 2012) + "end"
		e.raw = true // nats.go's reply subjects are too long for it
		return e
	}})
	return cs
}

// withBody gives in a body of n bytes of garbage.
func (in input) withBody(n int) input {
	in.Raw = true
	in.Body = []byte(fill(n))
	return in
}
