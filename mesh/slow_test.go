package mesh_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

// TestSlowHandlerDoesNotStallOthers: a live handler stuck at its
// concurrency bound holds back only its own events.
func TestSlowHandlerDoesNotStallOthers(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-spark")
	release := make(chan struct{})
	defer close(release)
	started := testutil.NewRecorder()
	_, err := w.On(context.Background(), "presence:update", mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		_ = started.HandleEvent(ctx, ev)
		<-release
		return nil
	}), mesh.Concurrency(2))
	require.NoError(t, err)
	fast := on(t, w, "message:sent")

	ctx := context.Background()
	for range 50 {
		require.NoError(t, w.Emit(ctx, "presence:update", nil, mesh.ToSelf()))
	}
	started.WaitN(t, 2, 0)
	for range 20 {
		require.NoError(t, w.Emit(ctx, "message:sent", nil, mesh.ToSelf()))
	}
	fast.WaitN(t, 20, 0)
	require.Equal(t, 2, started.Len(), "the slow handler runs at most its Concurrency")
	// The fast handler's last call may still be returning: its event is
	// recorded before its call ends.
	testutil.WaitUntil(t, "InFlight back to the slow handler's 2 calls", func() bool { return w.Stats().InFlight == 2 })
}

// TestStuckDurableHandlerIsCancelledAndRetried: a handler past its Timeout
// sees its context cancelled, fails, and the server redelivers the event.
func TestStuckDurableHandlerIsCancelledAndRetried(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-herald", durableConfig)
	var calls atomic.Int32
	done := testutil.NewRecorder()
	onDurable(t, w, "notification:send", mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		if calls.Add(1) == 1 {
			<-ctx.Done() // stuck until the timeout cancels it
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return errors.New("cancelled for another reason")
			}
			return ctx.Err()
		}
		return done.HandleEvent(ctx, ev)
	}), mesh.Timeout(200*time.Millisecond), mesh.Backoff(50*time.Millisecond))
	require.NoError(t, w.Emit(context.Background(), "notification:send", nil, mesh.ToSelf()))
	ev := done.WaitN(t, 1, 0)[0]
	require.Equal(t, uint64(2), ev.Deliveries)
	require.Equal(t, int32(2), calls.Load())
}
