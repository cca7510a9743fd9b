package robusttest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHugeEventTypesDoNotBloatStats (case 4): a sender inventing huge event
// types cannot grow a worker's stats past a bound, and the worker still
// answers stats requests within max_payload.
func TestHugeEventTypesDoNotBloatStats(t *testing.T) {
	const events, typeLen, batch = 1000, 100 * 1024, 50
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "svc", plain)
	handled := &counter{}
	_, err := w.On(context.Background(), "big:>", handled)
	require.NoError(t, err)

	raw := rawConn(t, srv)
	// In batches, so that the subscription's pending buffer (64 MiB) never
	// holds 100 MB at once on a slow machine.
	for sent := 0; sent < events; {
		for range batch {
			typ := fmt.Sprintf("%06d", sent) + strings.Repeat("a", typeLen-6)
			require.NoError(t, raw.Publish("ipc.all.big.x", cloudEvent(t, fmt.Sprint(sent), "foreign", typ, sent)))
			sent++
		}
		require.NoError(t, raw.Flush())
		waitUntil(t, testutil.DefaultWait, fmt.Sprintf("%d events handled", sent), func() bool { return handled.count() >= sent },
			func() string { return fmt.Sprintf("%d handled, stats %+v", handled.count(), w.Stats().Dropped) })
	}

	keys := 0
	for name := range w.Stats().Events {
		keys += len(name)
	}
	assert.Less(t, keys, 1<<20, "bytes of event names in Stats().Events")

	resp, err := raw.Request(subjects.StatsSubject("ipc"), nil, 10*time.Second)
	require.NoError(t, err, "stats request")
	require.LessOrEqual(t, int64(len(resp.Data)), raw.MaxPayload())
	var got mesh.InstanceStats
	require.NoError(t, json.Unmarshal(resp.Data, &got))
	require.Equal(t, w.Instance(), got.Instance)
}
