package mesh_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

// askStats asks the namespace's workers for their stats and returns the
// first answer, checked to fit in max_payload.
func askStats(t *testing.T, srv *testutil.Server) mesh.InstanceStats {
	t.Helper()
	nc, err := nats.Connect(srv.URL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	resp, err := nc.Request(subjects.StatsSubject("ipc"), nil, testutil.DefaultWait)
	require.NoError(t, err, "stats request")
	require.LessOrEqual(t, int64(len(resp.Data)), nc.MaxPayload())
	var st mesh.InstanceStats
	require.NoError(t, json.Unmarshal(resp.Data, &st), "stats answer")
	return st
}

func TestStatsHandlerTime(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-herald")
	_, err := w.On(context.Background(), "notification:trigger", mesh.HandlerFunc(func(context.Context, *mesh.Event) error {
		time.Sleep(2 * time.Millisecond) // the handler's work, to be timed
		return nil
	}))
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, w.Emit(context.Background(), "notification:trigger", nil, mesh.ToSelf()))
	}
	require.Eventually(t, func() bool { return w.Stats().Handled == 3 }, testutil.DefaultWait, time.Millisecond)
	e := askStats(t, srv).Events["notification:trigger"]
	require.Equal(t, uint64(3), e.Handled)
	require.GreaterOrEqual(t, e.HandlerTime, 6*time.Millisecond, "total of 3 calls of at least 2ms")
	require.GreaterOrEqual(t, e.MaxHandlerTime, 2*time.Millisecond)
	require.LessOrEqual(t, e.MaxHandlerTime, e.HandlerTime)
}

func TestExportStats(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithMaxPayload(16<<10))
	w := testutil.Connect(t, srv, "exprsn-shop")
	export := func(name string, v any) func() {
		remove, err := w.ExportStats(name, func() any { return v })
		require.NoError(t, err, name)
		return remove
	}
	export("outbox:orders", map[string]int{"pending": 3})
	export("big", strings.Repeat("b", 10<<10))
	export("bigger", strings.Repeat("c", 12<<10)) // does not fit beside big
	export("huge", strings.Repeat("h", 17<<10))   // over the bound of one export
	removeGone := export("gone", 1)
	removeGone()

	st := askStats(t, srv)
	require.Equal(t, w.Instance(), st.Instance)
	require.JSONEq(t, `{"pending":3}`, string(st.Extra["outbox:orders"]))
	require.Len(t, st.Extra, 2, "outbox:orders and big")
	require.Contains(t, st.Extra, "big")
	require.ElementsMatch(t, []string{"huge", "bigger"}, st.ExtraDropped)

	for _, name := range []string{"", "a b", "naïve", "x\n", strings.Repeat("n", 65)} {
		_, err := w.ExportStats(name, func() any { return 0 })
		require.Error(t, err, "name %q", name)
	}
	_, err := w.ExportStats("nil", nil)
	require.Error(t, err, "nil func")
	for i := range 16 - 4 {
		export("more:"+strings.Repeat("x", i+1), i)
	}
	_, err = w.ExportStats("seventeenth", func() any { return 0 })
	require.ErrorContains(t, err, "16 names exported already")
}
