package mesh_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

// TestWorkerStartedBeforeTheServer: with Background, Connect returns
// while no server runs; handlers registered meanwhile start once the
// server appears, and Ready says so.
func TestWorkerStartedBeforeTheServer(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	addr := srv.URL()
	srv.Shutdown()

	ctx := context.Background()
	w, err := mesh.Connect(ctx, mesh.Config{Service: "exprsn-herald", Servers: []string{addr}, Background: true})
	require.NoError(t, err, "Connect without a server")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(ctx, testutil.DefaultWait)
		defer cancel()
		require.NoError(t, w.Close(ctx))
	})
	live, stored := testutil.NewRecorder(), testutil.NewRecorder()
	_, err = w.On(ctx, "digest:send", live)
	require.NoError(t, err)
	_, err = w.OnDurable(ctx, "digest:queued", stored)
	require.NoError(t, err)

	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err = w.Ready(short)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	u, _ := url.Parse(addr)
	require.ErrorContains(t, err, u.Host, "the error names the server tried")
	require.ErrorIs(t, w.Healthy(), mesh.ErrDisconnected)
	require.ErrorIs(t, w.Emit(ctx, "digest:send", nil), mesh.ErrDisconnected, "a stored emit fails clearly before the worker is ready")

	srv.Restart(t)
	wait, cancel := context.WithTimeout(ctx, testutil.DefaultWait)
	defer cancel()
	require.NoError(t, w.Ready(wait))
	require.NoError(t, w.Healthy())
	other := testutil.Connect(t, srv, "exprsn-timeline")
	require.NoError(t, other.Emit(ctx, "digest:send", nil, mesh.To("exprsn-herald"), mesh.WithID("live-1")))
	require.NoError(t, other.Emit(ctx, "digest:queued", nil, mesh.To("exprsn-herald"), mesh.WithID("stored-1")))
	require.Equal(t, []string{"live-1"}, ids(live.WaitN(t, 1, 0)))
	require.Equal(t, []string{"stored-1"}, ids(stored.WaitN(t, 1, 0)))
}

// TestLiveOnlyWorkerBuffersBeforeTheServer: a live-only worker started in
// the background buffers its emits and requests until it connects,
// instead of refusing them.
func TestLiveOnlyWorkerBuffersBeforeTheServer(t *testing.T) {
	srv := testutil.StartServer(t)
	addr := srv.URL()
	srv.Shutdown()
	ctx := context.Background()
	w, err := mesh.Connect(ctx, mesh.Config{Service: "exprsn-spark", Servers: []string{addr}, Background: true,
		Stream: mesh.StreamConfig{Disable: true}})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(ctx, testutil.DefaultWait)
		defer cancel()
		_ = w.Close(ctx) // the buffered emit may or may not be flushed: live events are at most once
	})
	require.NoError(t, w.Emit(ctx, "presence:update", map[string]string{"user": "ana"}), "buffered by the client")
	_, err = w.EmitAsync(ctx, "presence:update", nil)
	require.ErrorIs(t, err, mesh.ErrDisconnected)
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = w.Request(short, "exprsn-auth", "session:validate", nil)
	require.ErrorIs(t, err, context.DeadlineExceeded, "a request waits for its context, not refused as too large")
}
