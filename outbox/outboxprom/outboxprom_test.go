package outboxprom_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/outbox"
	"github.com/exprsn/ipcmesh/outbox/outboxprom"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"
)

// commit commits n transactions, each emitting one event through o.
func commit(t *testing.T, db *sql.DB, o *outbox.Outbox, n int) {
	t.Helper()
	for i := range n {
		tx, err := db.BeginTx(t.Context(), nil)
		require.NoError(t, err)
		require.NoError(t, o.Emit(t.Context(), tx, "order:placed", i))
		require.NoError(t, o.Commit(tx))
	}
}

// The collector reports what the relay did: three events published, then,
// with the server down, two rows pending, a lag and failures.
func TestCollector(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, srv, "exprsn-shop")
	db, err := sql.Open("sqlite", outbox.SQLiteDSN(filepath.Join(t.TempDir(), "shop.db")))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	o, err := outbox.New(t.Context(), db, w, outbox.Config{PollInterval: 50 * time.Millisecond,
		PublishTimeout: 200 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	require.NoError(t, err)
	relay := make(chan error, 1)
	go func() { relay <- o.Run(context.Background()) }()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(outboxprom.NewCollector(o, outboxprom.WithConstLabels(prometheus.Labels{"instance": "a", "table": "ignored"})))

	start := time.Now()
	commit(t, db, o, 3)
	require.Eventually(t, func() bool { s := o.Stats(); return s.Published == 3 && s.Pending == 0 },
		testutil.DefaultWait, 5*time.Millisecond, "the relay publishes the first 3: %+v", o.Stats())
	srv.Shutdown()
	commit(t, db, o, 2)
	require.Eventually(t, func() bool { s := o.Stats(); return s.Pending == 2 && s.Failures > 0 },
		testutil.DefaultWait, 5*time.Millisecond, "the relay keeps 2 rows and fails: %+v", o.Stats())

	const labels = `{instance="a",namespace="ipc",service="exprsn-shop",table="mesh_outbox"}`
	want := strings.NewReplacer("{}", labels).Replace(`
# HELP ipcmesh_outbox_pending_rows Rows of the service in the outbox table, not yet published or not yet deleted, as of the relay's last look.
# TYPE ipcmesh_outbox_pending_rows gauge
ipcmesh_outbox_pending_rows{} 2
# HELP ipcmesh_outbox_published_total Events the relay stored in the event stream, duplicates included.
# TYPE ipcmesh_outbox_published_total counter
ipcmesh_outbox_published_total{} 3
# HELP ipcmesh_outbox_duplicates_total Publishes the stream dropped because it already held the event.
# TYPE ipcmesh_outbox_duplicates_total counter
ipcmesh_outbox_duplicates_total{} 0
# HELP ipcmesh_outbox_cancels_total Schedule cancellations the relay carried out (Outbox.CancelSchedule), the schedules it did not find included.
# TYPE ipcmesh_outbox_cancels_total counter
ipcmesh_outbox_cancels_total{} 0
# HELP ipcmesh_outbox_relay_running 1 while the relay runs, else 0.
# TYPE ipcmesh_outbox_relay_running gauge
ipcmesh_outbox_relay_running{} 1
# HELP ipcmesh_outbox_relay_leader 1 while the relay holds the service's lease (the one relay that publishes), else 0.
# TYPE ipcmesh_outbox_relay_leader gauge
ipcmesh_outbox_relay_leader{} 1
# HELP ipcmesh_outbox_relay_stalled 1 while this relay, on standby, sees the oldest pending row unpublished for 3 lease TTLs under another relay's lease, else 0.
# TYPE ipcmesh_outbox_relay_stalled gauge
ipcmesh_outbox_relay_stalled{} 0
`)
	require.NoError(t, promtest.GatherAndCompare(reg, strings.NewReader(want),
		"ipcmesh_outbox_pending_rows", "ipcmesh_outbox_published_total", "ipcmesh_outbox_duplicates_total",
		"ipcmesh_outbox_cancels_total", "ipcmesh_outbox_relay_running", "ipcmesh_outbox_relay_leader", "ipcmesh_outbox_relay_stalled"))

	got := gather(t, reg)
	require.Positive(t, got["ipcmesh_outbox_lag_seconds"])
	require.GreaterOrEqual(t, got["ipcmesh_outbox_failures_total"], 1.0)
	require.InDelta(t, float64(time.Now().Unix()), got["ipcmesh_outbox_last_failure_timestamp_seconds"], time.Since(start).Seconds()+1)
	require.Equal(t, 3.0, got["ipcmesh_outbox_publish_duration_seconds_count"])
	require.Positive(t, got["ipcmesh_outbox_publish_duration_seconds_sum"])
	require.Equal(t, 11, promtest.CollectAndCount(outboxprom.NewCollector(o)), "one series per metric")

	srv.Restart(t)
	require.Eventually(t, func() bool { s := o.Stats(); return s.Published == 5 && s.Pending == 0 },
		testutil.DefaultWait, 5*time.Millisecond, "the relay publishes the 2 kept rows: %+v", o.Stats())
	require.NoError(t, o.Close(t.Context()))
	require.NoError(t, <-relay)
	require.NoError(t, promtest.GatherAndCompare(reg, strings.NewReader(strings.NewReplacer("{}", labels).Replace(`
# HELP ipcmesh_outbox_relay_running 1 while the relay runs, else 0.
# TYPE ipcmesh_outbox_relay_running gauge
ipcmesh_outbox_relay_running{} 0
`)), "ipcmesh_outbox_relay_running"))
}

// gather returns the value of each of the registry's metrics by name, a
// summary's as name_count and name_sum; each metric has one series.
func gather(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, f := range families {
		require.Len(t, f.GetMetric(), 1, f.GetName())
		m := f.GetMetric()[0]
		switch {
		case m.GetSummary() != nil:
			out[f.GetName()+"_count"] = float64(m.GetSummary().GetSampleCount())
			out[f.GetName()+"_sum"] = m.GetSummary().GetSampleSum()
		case m.GetCounter() != nil:
			out[f.GetName()] = m.GetCounter().GetValue()
		default:
			out[f.GetName()] = m.GetGauge().GetValue()
		}
	}
	return out
}
