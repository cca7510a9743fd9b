// Package inbound turns a message a worker receives, live or from its
// durable consumers, into the CloudEvent its handlers see: the envelope
// decoded, and the firing of a recurring schedule given an id and a
// scheduled time of its own; tells replayed and re-driven copies; and
// decodes an event's JSON data for its handler.
package inbound

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/internal/errtext"
	"github.com/exprsn/ipcmesh/internal/headers"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Decode decodes the message with headers h and body data into ev, whose
// strings may share data: nats.go gives every message a body of its own,
// which nothing else writes to. A firing of a recurring schedule gets its
// id "<id>@<scheduled time>" and its scheduledtime extension (see
// setFiring); stored says when it was stored, for cron schedules.
func Decode(ev *codec.Event, h nats.Header, data []byte, stored func() time.Time) error {
	if err := codec.DecodeOwned(h, data, ev); err != nil {
		return err
	}
	if h != nil {
		setFiring(ev, h, stored)
	}
	return nil
}

// Stored decodes a message of the event stream into ev, as Decode does;
// its firings were stored at the message's stream timestamp.
func Stored(ev *codec.Event, msg jetstream.Msg) error {
	return Decode(ev, msg.Headers(), msg.Data(), func() time.Time {
		meta, err := msg.Metadata()
		if err != nil {
			return time.Now()
		}
		return meta.Timestamp
	})
}

// Data unmarshals the JSON data of ev into v. It fails if ev has no data
// or its content type is not JSON.
func Data(ev *codec.Event, v any) error {
	typ, id := headers.Truncate(ev.Type, maxQuoted), headers.Truncate(ev.ID, maxQuoted)
	if ev.Data == nil {
		return fmt.Errorf("mesh: event %q (id %s) has no data to decode", typ, id)
	}
	if !ev.DataIsJSON() {
		how := ""
		if ev.DataBase64 {
			how = ", as data_base64 or a binary-mode body that is not JSON"
		}
		return fmt.Errorf("mesh: decode data of event %q (id %s) into %T: the data is binary (content type %q%s), not JSON",
			typ, id, v, headers.Truncate(ev.DataContentType, maxQuoted), how)
	}
	if err := json.Unmarshal(ev.Data, v); err != nil {
		// The JSON error quotes the data (a number's digits, say).
		return fmt.Errorf("mesh: decode data of event %q (id %s) into %T: %w", typ, id, v, errtext.Cut(err, maxQuoted))
	}
	return nil
}

// maxQuoted bounds what Data's errors quote of the event, which the
// sender chose.
const maxQuoted = 256

// Replayed reports whether h marks a replayed or re-driven event.
func Replayed(h nats.Header) bool {
	return h != nil && (h.Get(subjects.HeaderReplay) != "" || h.Get(subjects.HeaderRedrive) != "")
}

// LiveStored is when a firing republished live, with headers h, was stored
// (Nats-Time-Stamp), or now.
func LiveStored(h nats.Header) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, h.Get("Nats-Time-Stamp")); err == nil {
		return t
	}
	return time.Now()
}

// setFiring gives the firing of a recurring schedule, read with headers h,
// its id and its scheduledtime extension. A one-time schedule's event has
// them already.
func setFiring(ev *codec.Event, h nats.Header, stored func() time.Time) {
	pattern := h.Get(subjects.HeaderSchedule)
	if pattern == "" || h.Get(jetstream.SchedulerHeader) == "" {
		return
	}
	var at time.Time
	if every, ok := strings.CutPrefix(pattern, "@every "); ok {
		d, err1 := time.ParseDuration(every)
		next, err2 := time.Parse(time.RFC3339Nano, h.Get(jetstream.ScheduleNextHeader))
		if err1 != nil || err2 != nil {
			return
		}
		// The server sets the next time to this one plus the interval.
		at = next.Add(-d)
	} else {
		at = stored().Truncate(time.Second)
	}
	stamp := at.UTC().Format(time.RFC3339Nano)
	ev.ID += "@" + stamp
	ev.Extensions = append(ev.Extensions, codec.Extension{Name: subjects.ScheduledTimeExtension, Value: stamp})
}
