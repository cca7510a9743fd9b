package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/exprsn/ipcmesh/schedules"
)

// maxScheduleKey bounds a schedule key in a path: keys are 22 characters
// of unpadded base64url (subjects.DuplicateKey).
const maxScheduleKey = 64

// schedule is a pending scheduled event as the API serves it.
type schedule struct {
	Key       string    `json:"key"`
	ID        string    `json:"id"`
	Source    string    `json:"source"`
	Event     string    `json:"event"`
	Target    string    `json:"target"`
	Pattern   string    `json:"pattern"`
	TimeZone  string    `json:"time_zone,omitempty"`
	At        time.Time `json:"at,omitzero"`
	Recurring bool      `json:"recurring"`
	Created   time.Time `json:"created"`
}

// serveSchedules answers GET /api/ipc/schedules: {"count": all pending,
// "schedules": the first ?limit, the soonest one-time ones first, then the
// recurring ones}.
func (d *Dashboard) serveSchedules(w http.ResponseWriter, r *http.Request) {
	limit, err := listLimit(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	list, err := schedules.List(r.Context(), d.js, d.ns)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	out := struct {
		Count     int        `json:"count"`
		Schedules []schedule `json:"schedules"`
	}{Count: len(list), Schedules: make([]schedule, 0, min(len(list), limit))}
	for _, s := range list[:min(len(list), limit)] {
		out.Schedules = append(out.Schedules, schedule{
			Key: s.Key, ID: s.ID, Source: s.Source, Event: s.Event, Target: s.Target,
			Pattern: s.Pattern, TimeZone: s.TimeZone, At: s.At, Recurring: s.Recurring(), Created: s.Created,
		})
	}
	WriteJSON(w, http.StatusOK, out)
}

// cancelSchedule answers POST /api/ipc/schedules/{key}/cancel: the
// schedule never fires again; 404 if it is not pending.
func (d *Dashboard) cancelSchedule(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if !validKey(key) {
		writeError(w, http.StatusBadRequest, fmt.Errorf("dashboard: schedule key %.80q: want the key the list shows (base64url, at most %d characters)", key, maxScheduleKey))
		return
	}
	if err := schedules.Cancel(r.Context(), d.js, d.ns, key); err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, schedules.ErrNotFound) {
			code = http.StatusNotFound
		}
		writeError(w, code, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]string{"cancelled": key})
}

// validKey reports whether key may be a schedule key: 1 to maxScheduleKey
// characters of the base64url alphabet.
func validKey(key string) bool {
	if key == "" || len(key) > maxScheduleKey {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
