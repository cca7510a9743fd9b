package stats

import (
	"cmp"
	"log/slog"
	"maps"
	"slices"

	"github.com/nats-io/nats.go"
)

// Serve answers the requests on subject, for as long as nc is open, with
// what answer returns within limit bytes, the server's max_payload. A
// failure to answer is logged at debug level: the asker hears nothing.
func Serve(nc *nats.Conn, subject string, log *slog.Logger, answer func(limit int) ([]byte, error)) error {
	_, err := nc.Subscribe(subject, func(m *nats.Msg) {
		if m.Reply == "" {
			return
		}
		body, err := answer(int(nc.MaxPayload()))
		if err == nil {
			err = m.Respond(body)
		}
		if err != nil {
			log.Debug("mesh: answer stats request", "error", err)
		}
	})
	return err
}

// Fit encodes the counts by event name and the exported stats with
// marshal within limit bytes: while the encoding is larger, it leaves out
// the largest exported stats, noted in Extra.Dropped, then, with none
// left, folds the names with the fewest events received and emitted into
// the name other, half of them at a time.
func Fit(events map[string]Event, extra Extra, other string, limit int, marshal func(map[string]Event, Extra) ([]byte, error)) ([]byte, error) {
	for {
		body, err := marshal(events, extra)
		switch {
		case err != nil || len(body) <= limit:
			return body, err
		case len(extra.Stats) > 0:
			extra = extra.dropLargest()
		case len(events) <= 1:
			return body, err
		default:
			events = fold(events, other)
		}
	}
}

// fold returns a copy of events with the half of the names with the
// fewest events received and emitted folded into the name other.
func fold(events map[string]Event, other string) map[string]Event {
	names := make([]string, 0, len(events))
	for name := range events {
		if name != other {
			names = append(names, name)
		}
	}
	activity := func(name string) uint64 { e := events[name]; return e.Received + e.Emitted }
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(activity(a), activity(b)) })
	events = maps.Clone(events)
	folded := events[other]
	for _, name := range names[:max(len(names)/2, 1)] {
		e := events[name]
		folded.Emitted += e.Emitted
		folded.Received += e.Received
		folded.Handled += e.Handled
		folded.Failed += e.Failed
		folded.HandlerTime += e.HandlerTime
		folded.MaxHandlerTime = max(folded.MaxHandlerTime, e.MaxHandlerTime)
		delete(events, name)
	}
	events[other] = folded
	return events
}
