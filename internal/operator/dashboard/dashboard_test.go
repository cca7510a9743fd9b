package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/internal/operator/stats"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/outbox"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

// TestPageAndInfo: the page and its assets are served with a policy that
// lets them load nothing from elsewhere; /api/ipc/dashboard says the
// namespace and the actions' mode.
func TestPageAndInfo(t *testing.T) {
	f := setup(t, Actions{Enabled: true, Token: "t"})
	for path, want := range map[string]string{
		"/":              `<script src="dashboard.js" defer></script>`,
		"/dashboard.js":  `new EventSource("api/ipc/stats/stream")`,
		"/dashboard.css": "canvas",
	} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, f.url+path, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'", path)
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "connect-src 'self'", path)
		_ = resp.Body.Close()
		_, body := f.call(t, http.MethodGet, path, nil)
		require.Contains(t, body, want, path)
	}
	code, body := f.call(t, http.MethodGet, "/api/ipc/dashboard", nil)
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"namespace": "ipc", "actions": "token"}`, body)
	code, _ = f.call(t, http.MethodGet, "/nothing-here", nil)
	require.Equal(t, http.StatusNotFound, code)
}

// TestStatsStreamPushesReports: the stats stream sends a report, the same
// JSON as /api/ipc/stats, again and again, with the services' counts as
// they change; two streams share the gathering; Close ends them.
func TestStatsStreamPushesReports(t *testing.T) {
	f := setup(t, Actions{})
	first := openStream(t, f.url+"/api/ipc/stats/stream", nil)
	r := decode[stats.Report](t, first.next(t).data)
	require.Equal(t, "ipc", r.Namespace)
	require.NotNil(t, r.Stream)

	orders := testutil.Connect(t, f.srv, "orders")
	require.NoError(t, orders.Emit(t.Context(), "order:created", nil))
	second := openStream(t, f.url+"/api/ipc/stats/stream", nil)
	for _, s := range []*stream{first, second} {
		for {
			r := decode[stats.Report](t, s.next(t).data)
			if o := r.Services["orders"]; o != nil && o.Events["order:created"].Emitted == 1 {
				break
			}
		}
	}
	require.NoError(t, f.d.Close(t.Context()))
	first.ended(t)
	second.ended(t)
	code, body := f.call(t, http.MethodGet, "/api/ipc/stats/stream", nil)
	require.Equal(t, http.StatusServiceUnavailable, code, body)
}

// TestStatsStreamSaysWhenGatheringFails: a failed gathering is an event of
// its own with the error, and the stream goes on.
func TestStatsStreamSaysWhenGatheringFails(t *testing.T) {
	f := setup(t, Actions{})
	f.d.feed.gather = func(context.Context) (*stats.Report, error) { return nil, errors.New("no server answered") }
	s := openStream(t, f.url+"/api/ipc/stats/stream", nil)
	for range 2 {
		m := s.next(t)
		require.Equal(t, GatherErrorEvent, m.event)
		require.JSONEq(t, `{"error": "no server answered"}`, m.data)
	}
}

// TestStatsStreamsAreBounded: past MaxStreams, 503.
func TestStatsStreamsAreBounded(t *testing.T) {
	f := setup(t, Actions{})
	f.d.feed.max = 1
	openStream(t, f.url+"/api/ipc/stats/stream", nil)
	code, body := f.call(t, http.MethodGet, "/api/ipc/stats/stream", nil)
	require.Equal(t, http.StatusServiceUnavailable, code, body)
	require.Contains(t, body, "1 stats streams are open")
}

// TestStatsStreamCarriesHandlerTimesAndExports: the report has each event
// type's handler durations, and each instance's exported stats, an
// outbox relay's among them, for the dashboard to show.
func TestStatsStreamCarriesHandlerTimesAndExports(t *testing.T) {
	f := setup(t, Actions{})
	orders := testutil.Connect(t, f.srv, "orders")
	_, err := orders.On(t.Context(), "order:created", mesh.HandlerFunc(func(context.Context, *mesh.Event) error {
		time.Sleep(time.Millisecond) // the handler's work, to be timed
		return nil
	}))
	require.NoError(t, err)
	_, err = orders.ExportStats("outbox:outbox", func() any { return outbox.Stats{Table: "outbox", Pending: 3, Failures: 1} })
	require.NoError(t, err)
	require.NoError(t, orders.Emit(t.Context(), "order:created", nil, mesh.ToSelf()))
	s := openStream(t, f.url+"/api/ipc/stats/stream", nil)
	for {
		var r struct {
			Services map[string]struct {
				Events    map[string]map[string]any `json:"events"`
				Instances []struct {
					Extra map[string]outbox.Stats `json:"extra"`
				} `json:"instances"`
			} `json:"services"`
		}
		require.NoError(t, json.Unmarshal([]byte(s.next(t).data), &r))
		o, ok := r.Services["orders"]
		if !ok || o.Events["order:created"]["handled"] != 1.0 {
			continue
		}
		e := o.Events["order:created"]
		require.GreaterOrEqual(t, e["handler_time_ns"], 1e6, "the handler's call of at least 1ms")
		require.GreaterOrEqual(t, e["max_handler_time_ns"], 1e6)
		require.Len(t, o.Instances, 1)
		ob := o.Instances[0].Extra["outbox:outbox"]
		require.Equal(t, outbox.Stats{Table: "outbox", Pending: 3, Failures: 1}, ob)
		return
	}
}
