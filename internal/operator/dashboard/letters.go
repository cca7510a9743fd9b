package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/deadletter"
	"github.com/exprsn/ipcmesh/internal/operator/stats"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go/jetstream"
)

// maxReasonInList bounds a reason in a list of dead letters; the letter
// itself has it whole.
const maxReasonInList = 300

// letter is a dead letter as the API serves it.
type letter struct {
	ID             uint64    `json:"id"`
	Time           time.Time `json:"time"`
	Service        string    `json:"service"`
	Handler        string    `json:"handler"`
	EventType      string    `json:"event_type"` // "" when not a valid CloudEvent
	EventID        string    `json:"event_id"`
	Deliveries     uint64    `json:"deliveries"`
	Reason         string    `json:"reason"`
	Subject        string    `json:"subject"`
	StreamSequence uint64    `json:"stream_sequence"`
	Omitted        string    `json:"omitted,omitempty"`
	// In full only: the CloudEvent in structured JSON; else the body as
	// sent (not a valid CloudEvent), and the original's headers.
	Event  json.RawMessage     `json:"event,omitempty"`
	Body   string              `json:"body,omitempty"`
	Header map[string][]string `json:"header,omitempty"`
}

// newLetter returns dl as the API serves it: in a list, its reason cut; in
// full, with its event, body and headers.
func newLetter(dl *deadletter.DeadLetter, full bool) letter {
	l := letter{
		ID: dl.Sequence, Time: dl.Time, Service: dl.Service, Handler: dl.Handler,
		Deliveries: dl.Deliveries, Reason: dl.Reason, Subject: dl.Subject,
		StreamSequence: dl.StreamSequence, Omitted: dl.Omitted,
	}
	if dl.Event != nil {
		l.EventType, l.EventID = dl.Event.Type, dl.Event.ID
	}
	if !full {
		if len(l.Reason) > maxReasonInList {
			l.Reason = l.Reason[:maxReasonInList] + "…"
		}
		return l
	}
	l.Header = dl.Header
	if dl.Event == nil {
		l.Body = string(dl.Data)
		return l
	}
	if ev, err := codec.AppendStructured(nil, dl.Event); err == nil {
		l.Event = ev
	}
	return l
}

// serveLetters answers GET /api/ipc/deadletters: {"count": all kept,
// "letters": the first ?limit of ?service's (all services' by default)}.
func (d *Dashboard) serveLetters(w http.ResponseWriter, r *http.Request) {
	service, err := serviceParam(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	limit, err := listLimit(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	count, err := d.letterCount(r)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	out := struct {
		Count   uint64   `json:"count"`
		Letters []letter `json:"letters"`
	}{Count: count, Letters: []letter{}}
	if count > 0 {
		list, err := d.letters.List(r.Context(), service, 1, limit)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		for i := range list {
			out.Letters = append(out.Letters, newLetter(&list[i], false))
		}
	}
	WriteJSON(w, http.StatusOK, out)
}

// letterCount returns the number of dead letters kept, 0 without a
// dead-letter stream.
func (d *Dashboard) letterCount(r *http.Request) (uint64, error) {
	info, err := stats.StreamState(r.Context(), d.js, subjects.DeadLetterStream(d.ns))
	if err != nil || info == nil {
		return 0, err
	}
	return info.State.Msgs, nil
}

// serveLetter answers GET /api/ipc/deadletters/{id}: the dead letter in
// full, 404 if there is none.
func (d *Dashboard) serveLetter(w http.ResponseWriter, r *http.Request) {
	seq, err := letterID(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	dl, err := d.letters.Get(r.Context(), seq)
	if err != nil {
		writeError(w, letterStatus(err), err)
		return
	}
	WriteJSON(w, http.StatusOK, newLetter(dl, true))
}

// redrive answers POST /api/ipc/deadletters/{id}/redrive: it sends the
// dead letter again to the service that failed it, then removes it.
func (d *Dashboard) redrive(w http.ResponseWriter, r *http.Request) {
	seq, err := letterID(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if err := d.letters.Redrive(r.Context(), seq); err != nil {
		writeError(w, letterStatus(err), err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]uint64{"redriven": seq})
}

// purge answers POST /api/ipc/deadletters/purge[?service=S]: it removes
// the dead letters of S, or all, and says how many went (the count kept
// before less the count after: letters dead-lettered meanwhile make it
// lower).
func (d *Dashboard) purge(w http.ResponseWriter, r *http.Request) {
	service, err := serviceParam(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	before, err := d.letterCount(r)
	if err == nil {
		err = d.letters.Purge(r.Context(), service)
	}
	after := before
	if err == nil {
		after, err = d.letterCount(r)
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]uint64{"purged": before - min(before, after)})
}

// letterID reads the {id} of a dead letter's path: its sequence.
func letterID(r *http.Request) (uint64, error) {
	s := r.PathValue("id")
	seq, err := strconv.ParseUint(s, 10, 64)
	if err != nil || seq == 0 {
		return 0, fmt.Errorf("dashboard: dead letter id %.40q: want its number, as the list shows it", s)
	}
	return seq, nil
}

// serviceParam reads ?service: "" (all services) or a valid service name.
func serviceParam(r *http.Request) (string, error) {
	s := r.URL.Query().Get("service")
	if s == "" {
		return "", nil
	}
	if err := subjects.ValidateService(s); err != nil {
		return "", fmt.Errorf("dashboard: service: %w", err)
	}
	return s, nil
}

// letterStatus is 404 for a dead letter that is not there, 500 otherwise.
func letterStatus(err error) int {
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}
