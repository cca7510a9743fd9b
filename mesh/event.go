package mesh

import (
	"encoding/json"
	"fmt"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
)

// Event is an event as a handler receives it: the CloudEvent (ID, Source =
// the emitting service, Type = the event name as emitted, Time, Data,
// DataContentType, Extensions...) plus where it travelled.
//
// Every handler that matches a delivery receives the same *Event: treat it
// as read-only. It stays valid after the handler returns.
type Event struct {
	codec.Event

	// Target is the service the event was sent to, or "all" for a
	// broadcast.
	Target string
	// NATSSubject is the subject the event travelled on, e.g.
	// "ipc.all.post.created".
	NATSSubject string

	// StreamSequence is the event's sequence in the event stream, for events
	// delivered to durable handlers; 0 for live events.
	StreamSequence uint64
	// Replayed is set when the event is a copy re-delivered by replay or by
	// a dead-letter re-drive (the Mesh-Replay or Mesh-Redrive header): its
	// ID and Time are the original's, so idempotent handlers can skip it.
	Replayed bool
	// Handler is the name of the durable handler (its consumer) the event
	// was delivered to; "" for live events.
	Handler string
	// Deliveries counts the deliveries of this event to a durable handler,
	// this one included (1 on the first try); 0 for live events.
	Deliveries uint64

	// reply is the NATS reply subject of a request, "" for an event.
	reply string
}

// isReplay reports whether h marks a replayed or re-driven event.
func isReplay(h nats.Header) bool {
	return h != nil && (h.Get(subjects.HeaderReplay) != "" || h.Get(subjects.HeaderRedrive) != "")
}

// IsBroadcast reports whether the event was sent to every service.
func (e *Event) IsBroadcast() bool { return e.Target == subjects.Broadcast }

// IsRequest reports whether the sender waits for a reply.
func (e *Event) IsRequest() bool { return e.reply != "" }

// Decode unmarshals the event's JSON data into v. It fails if the event has
// no data or its content type is not JSON.
func (e *Event) Decode(v any) error {
	if e.Data == nil {
		return fmt.Errorf("mesh: event %q (id %s) has no data to decode", e.Type, e.ID)
	}
	if e.DataContentType != "" && !codec.IsJSONContentType(e.DataContentType) {
		return fmt.Errorf("mesh: event %q (id %s) has data of type %q, not JSON", e.Type, e.ID, e.DataContentType)
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("mesh: decode data of event %q (id %s) into %T: %w", e.Type, e.ID, v, err)
	}
	return nil
}
