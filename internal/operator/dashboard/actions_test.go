package dashboard

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

// TestActionsAreRefusedUnlessAllowed: without Enabled every action is
// refused with 403 and the reason, and nothing changes; with Enabled but
// no token, a non-loopback client, a loopback client naming the bridge by
// another host (DNS rebinding) and a request without the action header
// are refused; with a token, a client from anywhere that sends it is
// accepted, and one with a wrong or no token is refused.
func TestActionsAreRefusedUnlessAllowed(t *testing.T) {
	f := setup(t, Actions{})
	f.deadLetters(t, 1)
	for _, path := range []string{"/api/ipc/deadletters/1/redrive", "/api/ipc/deadletters/purge", "/api/ipc/schedules/abc/cancel"} {
		code, body := f.call(t, http.MethodPost, path, nil)
		require.Equal(t, http.StatusForbidden, code, path)
		require.Contains(t, body, "start meshctl serve with --dashboard-actions", path)
	}
	code, body := f.call(t, http.MethodGet, "/api/ipc/deadletters", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, 1, len(decode[struct{ Letters []letter }](t, body).Letters), "nothing was purged")

	const token = "s3cret-token"
	for _, tc := range []struct {
		name    string
		actions Actions
		remote  string // the client's address; httptest.NewRequest's default is 192.0.2.1:1234
		host    string
		header  map[string]string
		want    int
		reason  string
	}{
		{"loopback", Actions{Enabled: true}, "127.0.0.1:5000", "127.0.0.1:8222", map[string]string{ActionHeader: "1"}, http.StatusOK, ""},
		{"loopback ipv6 localhost", Actions{Enabled: true}, "[::1]:5000", "localhost:8222", map[string]string{ActionHeader: "1"}, http.StatusOK, ""},
		{"not loopback", Actions{Enabled: true}, "192.0.2.1:1234", "127.0.0.1:8222", map[string]string{ActionHeader: "1"}, http.StatusForbidden, "loopback clients only"},
		{"rebinding", Actions{Enabled: true}, "127.0.0.1:5000", "evil.example:8222", map[string]string{ActionHeader: "1"}, http.StatusForbidden, "loopback host"},
		{"no action header", Actions{Enabled: true}, "127.0.0.1:5000", "127.0.0.1:8222", nil, http.StatusForbidden, ActionHeader},
		{"token from anywhere", Actions{Enabled: true, Token: token}, "192.0.2.1:1234", "mesh.example:8222", map[string]string{ActionHeader: "1", TokenHeader: token}, http.StatusOK, ""},
		{"no token", Actions{Enabled: true, Token: token}, "127.0.0.1:5000", "127.0.0.1:8222", map[string]string{ActionHeader: "1"}, http.StatusForbidden, "need its --dashboard-token"},
		{"wrong token", Actions{Enabled: true, Token: token}, "192.0.2.1:1234", "mesh.example:8222", map[string]string{ActionHeader: "1", TokenHeader: "guess"}, http.StatusForbidden, "wrong dashboard token"},
		{"disabled with token", Actions{Token: token}, "127.0.0.1:5000", "127.0.0.1:8222", map[string]string{ActionHeader: "1", TokenHeader: token}, http.StatusForbidden, "--dashboard-actions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.d.cfg.Actions = tc.actions
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/api/ipc/deadletters/purge?service=nobody", nil)
			req.RemoteAddr, req.Host = tc.remote, tc.host
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			f.mux.ServeHTTP(rec, req)
			require.Equal(t, tc.want, rec.Code, rec.Body.String())
			if tc.reason != "" {
				require.Contains(t, decode[map[string]string](t, rec.Body.String())["error"], tc.reason)
			} else {
				require.JSONEq(t, `{"purged": 0}`, rec.Body.String(), "nobody's dead letters: none")
			}
		})
	}
}

// TestRedriveSendsTheDeadLetterBack: the dead letter is listed and shown,
// re-driving it sends it to its service's handler, which now handles it,
// and removes it.
func TestRedriveSendsTheDeadLetterBack(t *testing.T) {
	f := setup(t, Actions{Enabled: true})
	rec := f.deadLetters(t, 1)

	code, body := f.call(t, http.MethodGet, "/api/ipc/deadletters?service=exprsn-herald", nil)
	require.Equal(t, http.StatusOK, code, body)
	list := decode[struct {
		Count   int
		Letters []letter
	}](t, body)
	require.Equal(t, 1, list.Count)
	dl := list.Letters[0]
	require.Equal(t, []string{"exprsn-herald", "mail:send", "permanent: unexpected EOF"}, []string{dl.Service, dl.EventType, dl.Reason})
	require.Nil(t, dl.Event, "a list carries no event")
	id := strconv.FormatUint(dl.ID, 10)

	code, body = f.call(t, http.MethodGet, "/api/ipc/deadletters/"+id, nil)
	require.Equal(t, http.StatusOK, code, body)
	full := decode[struct {
		Event struct {
			Type, ID string
			Data     map[string]int
		}
	}](t, body)
	require.Equal(t, "mail:send", full.Event.Type)
	require.Equal(t, dl.EventID, full.Event.ID)
	require.Equal(t, map[string]int{"n": 0}, full.Event.Data)

	code, body = f.call(t, http.MethodPost, "/api/ipc/deadletters/"+id+"/redrive", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"redriven": `+id+`}`, body)
	got := rec.WaitFor(t, testutil.DefaultWait, func(evs []*mesh.Event) bool { return evs[len(evs)-1].Replayed })
	last := got[len(got)-1]
	require.Equal(t, dl.EventID, last.ID)
	require.Equal(t, "ipc.exprsn-herald.mail.send", last.NATSSubject)

	code, body = f.call(t, http.MethodGet, "/api/ipc/deadletters", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"count": 0, "letters": []}`, body)
	code, body = f.call(t, http.MethodGet, "/api/ipc/deadletters/"+id, nil)
	require.Equal(t, http.StatusNotFound, code, body)
	code, body = f.call(t, http.MethodPost, "/api/ipc/deadletters/"+id+"/redrive", nil)
	require.Equal(t, http.StatusNotFound, code, body)
	code, body = f.call(t, http.MethodPost, "/api/ipc/deadletters/x1/redrive", nil)
	require.Equal(t, http.StatusBadRequest, code, body)
}

// TestPurgeRemovesTheDeadLetters: a service's purge removes its dead
// letters and says how many.
func TestPurgeRemovesTheDeadLetters(t *testing.T) {
	f := setup(t, Actions{Enabled: true})
	f.deadLetters(t, 3)
	code, body := f.call(t, http.MethodPost, "/api/ipc/deadletters/purge?service=exprsn-herald", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"purged": 3}`, body)
	code, body = f.call(t, http.MethodGet, "/api/ipc/deadletters", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"count": 0, "letters": []}`, body)
	code, body = f.call(t, http.MethodPost, "/api/ipc/deadletters/purge?service=a.b", nil)
	require.Equal(t, http.StatusBadRequest, code, body)
}

// TestSchedulesListAndCancel: a pending scheduled event is listed, and
// cancelling it removes it.
func TestSchedulesListAndCancel(t *testing.T) {
	f := setup(t, Actions{Enabled: true})
	code, body := f.call(t, http.MethodGet, "/api/ipc/schedules", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"count": 0, "schedules": []}`, body)

	herald := testutil.Connect(t, f.srv, "exprsn-herald")
	require.NoError(t, herald.Emit(t.Context(), "digest:send", nil, mesh.After(time.Hour), mesh.WithID("d1")))
	code, body = f.call(t, http.MethodGet, "/api/ipc/schedules", nil)
	require.Equal(t, http.StatusOK, code, body)
	list := decode[struct {
		Count     int
		Schedules []schedule
	}](t, body)
	require.Equal(t, 1, list.Count)
	s := list.Schedules[0]
	require.Equal(t, []string{"d1", "exprsn-herald", "digest:send", "all"}, []string{s.ID, s.Source, s.Event, s.Target})
	require.False(t, s.Recurring)
	require.WithinDuration(t, time.Now().Add(time.Hour), s.At, time.Minute)

	code, body = f.call(t, http.MethodPost, "/api/ipc/schedules/"+s.Key+"/cancel", nil)
	require.Equal(t, http.StatusOK, code, body)
	code, body = f.call(t, http.MethodGet, "/api/ipc/schedules", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"count": 0, "schedules": []}`, body)
	// Once the cancel's marker expired (about a second; see
	// schedules.Cancel), the schedule is not found.
	testutil.WaitScheduleGone(t, herald.JetStream(), "ipc", s.Key)
	code, body = f.call(t, http.MethodPost, "/api/ipc/schedules/"+s.Key+"/cancel", nil)
	require.Equal(t, http.StatusNotFound, code, body)
	code, body = f.call(t, http.MethodPost, "/api/ipc/schedules/a.b/cancel", nil)
	require.Equal(t, http.StatusBadRequest, code, body)
}
