package mesh

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"

	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
)

// InstanceStats is a worker's answer to a request on
// subjects.StatsSubject, as JSON: the bridge gathers them to serve
// /api/ipc/stats.
type InstanceStats struct {
	// Instance identifies the worker among its service's instances.
	Instance string `json:"instance"`
	Stats
}

// Instance identifies this worker among its service's instances (a unique
// id made at Connect).
func (w *Worker) Instance() string { return w.instance }

// serveStats answers stats requests for the worker's lifetime.
func (w *Worker) serveStats() error {
	_, err := w.nc.Subscribe(subjects.StatsSubject(w.cfg.Namespace), func(m *nats.Msg) {
		if m.Reply == "" {
			return
		}
		body, err := statsAnswer(InstanceStats{Instance: w.instance, Stats: w.Stats()}, int(w.nc.MaxPayload()))
		if err == nil {
			err = m.Respond(body)
		}
		if err != nil {
			w.log.Debug("mesh: answer stats request", "error", err)
		}
	})
	return err
}

// statsAnswer encodes st within limit bytes: while it is larger, the event
// names with the fewest events received and emitted are folded into
// OtherEvents, half of them at a time.
func statsAnswer(st InstanceStats, limit int) ([]byte, error) {
	for {
		body, err := json.Marshal(st)
		if err != nil || len(body) <= limit || len(st.Events) <= 1 {
			return body, err
		}
		names := make([]string, 0, len(st.Events))
		for name := range st.Events {
			if name != OtherEvents {
				names = append(names, name)
			}
		}
		activity := func(name string) uint64 { e := st.Events[name]; return e.Received + e.Emitted }
		slices.SortFunc(names, func(a, b string) int { return cmp.Compare(activity(a), activity(b)) })
		events := maps.Clone(st.Events)
		other := events[OtherEvents]
		for _, name := range names[:max(len(names)/2, 1)] {
			e := events[name]
			other.Emitted += e.Emitted
			other.Received += e.Received
			other.Handled += e.Handled
			other.Failed += e.Failed
			delete(events, name)
		}
		events[OtherEvents] = other
		st.Events = events
	}
}
