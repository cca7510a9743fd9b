package edge

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	sse "github.com/tmaxmax/go-sse"
)

// The names of the messages the handler itself sends. They contain a '.',
// which no event name sent to browsers can (see EventName), so another
// publisher cannot forge them.
const (
	// DroppedEvent is the last message of a stream the handler ends, with
	// data {"reason": "<reason>"}: ReasonSlow, ReasonWriteTimeout or
	// ReasonShutdown. A browser dropped as slow reconnects by itself and,
	// on an event stream, resumes after the last id it received.
	DroppedEvent = "edge.dropped"
	// GapEvent is sent first to a browser whose Last-Event-ID was too far
	// behind (see Config.MaxResume), or whose catch-up from the event
	// stream failed, with data {"last_event_id": N, "resumed_at": M}: the
	// events after N and before M were skipped.
	GapEvent = "edge.gap"
)

// Reasons for ending a stream, in DroppedEvent and Stats.Dropped.
const (
	// ReasonSlow: the browser fell Config.BufferSize events (or
	// Config.BufferBytes) behind.
	ReasonSlow = "slow"
	// ReasonWriteTimeout: a write took longer than Config.WriteTimeout.
	ReasonWriteTimeout = "write_timeout"
	// ReasonShutdown: Handler.Close ended the stream.
	ReasonShutdown = "shutdown"
)

var (
	heartbeat = []byte(": heartbeat\n\n")
	opening   = []byte(": ok\n\n")
)

// frame is one SSE message, rendered once and shared by every connection.
type frame struct {
	ev   *mesh.Event // nil for the handler's own messages
	text []byte
}

// eventFrame renders ev as an SSE message: "id:" its stream sequence (none
// for live events), "event:" EventName(ev.Type), "data:" the CloudEvent in
// structured JSON, over several data lines if the event's JSON data holds
// line breaks (the browser joins them with "\n", which JSON reads as
// whitespace).
func eventFrame(ev *mesh.Event) (*frame, error) {
	body, err := codec.AppendStructured(nil, &ev.Event)
	if err != nil {
		return nil, err
	}
	m := sse.Message{Type: sse.Type(EventName(ev.Type))}
	if ev.StreamSequence != 0 {
		m.ID = sse.ID(strconv.FormatUint(ev.StreamSequence, 10))
	}
	m.AppendData(string(body))
	return &frame{ev: ev, text: render(&m)}, nil
}

// controlFrame renders one of the handler's own messages, without an id
// (the browser's last event id stays that of the last event).
func controlFrame(name, data string) []byte {
	m := sse.Message{Type: sse.Type(name)}
	m.AppendData(data)
	return render(&m)
}

func droppedFrame(reason string) []byte {
	return controlFrame(DroppedEvent, fmt.Sprintf(`{"reason":%q}`, reason))
}

func gapFrame(last, resumedAt uint64) []byte {
	return controlFrame(GapEvent, fmt.Sprintf(`{"last_event_id":%d,"resumed_at":%d}`, last, resumedAt))
}

func render(m *sse.Message) []byte {
	var b bytes.Buffer
	_, _ = m.WriteTo(&b) // a bytes.Buffer does not fail
	return b.Bytes()
}

// EventName is the SSE event name ("event:" field) of an event of type t:
// t cut to subjects.MaxEventLen bytes, with every byte outside the event
// name alphabet (ASCII letters, digits, '-', '_', ':') replaced by '_'.
// Types come from other publishers, unchecked against their subject, so
// they may hold line breaks, which would forge SSE fields, or a '.', which
// would forge the handler's own messages. The data keeps the type as sent.
func EventName(t string) string {
	t = t[:min(len(t), subjects.MaxEventLen)]
	if !needsCleaning(t) {
		return t
	}
	b := []byte(t)
	for i, c := range b {
		if !nameByte(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

func needsCleaning(t string) bool {
	for i := 0; i < len(t); i++ {
		if !nameByte(t[i]) {
			return true
		}
	}
	return false
}

func nameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == ':'
}
