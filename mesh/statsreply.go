package mesh

import (
	"encoding/json"

	"github.com/nats-io/nats.go"
)

// StatsSubject is the subject on which every worker of namespace ns answers
// a request with its Stats as JSON (an InstanceStats): the bridge gathers
// them to serve /api/ipc/stats.
func StatsSubject(ns string) string { return "_mesh." + ns + ".stats" }

// InstanceStats is one worker's answer on StatsSubject.
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
	_, err := w.nc.Subscribe(StatsSubject(w.cfg.Namespace), func(m *nats.Msg) {
		if m.Reply == "" {
			return
		}
		body, err := json.Marshal(InstanceStats{Instance: w.instance, Stats: w.Stats()})
		if err == nil {
			err = m.Respond(body)
		}
		if err != nil {
			w.log.Debug("mesh: answer stats request", "error", err)
		}
	})
	return err
}
