package robusttest_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/idempotency"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

// TestLongIDThroughIdempotencyGuardKeepsTheWorker (case 1): a valid event
// whose id is 5,000 characters long, sent raw to a durable handler behind
// the idempotency guard, must not cost the worker its connection: the
// handler goes on with the next durable events, and live events still
// arrive.
func TestLongIDThroughIdempotencyGuardKeepsTheWorker(t *testing.T) {
	srv := testutil.StartServer(t)
	ctx := context.Background()
	var disconnects atomic.Int32
	cfg := streams
	cfg.OnDisconnect = func(error) { disconnects.Add(1) }
	w := testutil.Connect(t, srv, "svc", cfg)
	guard, err := idempotency.Guard(ctx, w, 0)
	require.NoError(t, err)
	durable := testutil.NewRecorder()
	_, err = w.OnDurable(ctx, "x:y", durable, mesh.Use(guard))
	require.NoError(t, err)
	live := &counter{}
	_, err = w.On(context.Background(), "live:ping", live)
	require.NoError(t, err)
	sender := testutil.Connect(t, srv, "sender", streams)

	longID := strings.Repeat("i", 5000)
	raw := rawConn(t, srv)
	require.NoError(t, raw.Publish("ipc.svc.x.y", cloudEvent(t, longID, "foreign", "x:y", "long id")))
	require.NoError(t, raw.Flush())

	// With one call at a time, the durable handler takes these after the
	// long id.
	for i := range 50 {
		require.NoError(t, sender.Emit(ctx, "x:y", i, mesh.To("svc")))
	}
	durable.WaitFor(t, 30*time.Second, func(evs []*mesh.Event) bool {
		n := 0
		for _, ev := range evs {
			if ev.ID != longID {
				n++
			}
		}
		return n >= 50
	})

	for i := range 200 {
		require.NoError(t, sender.Emit(ctx, "live:ping", i, mesh.To("svc")))
	}
	waitUntil(t, testutil.DefaultWait, "200 live events handled", func() bool { return live.count() >= 200 },
		func() string { return fmt.Sprintf("%d handled", live.count()) })
	require.True(t, w.Conn().IsConnected(), "worker's connection: %v (last error %v)", w.Conn().Status(), w.Conn().LastError())
	require.Zero(t, disconnects.Load(), "the worker's connection was lost on the way")
}

// TestCloseWhileServerUnreachable (case 6): Close returns in bounded time
// when the server is gone, even with a context that never ends.
// testutil.Connect's cleanup closes the worker again, which returns the
// first call's result: that must not fail the test either.
func TestCloseWhileServerUnreachable(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "svc", plain)
	_, err := w.On(context.Background(), "some:event", testutil.NewRecorder())
	require.NoError(t, err)

	srv.Shutdown()
	err = within(t, 10*time.Second, "Close with the server unreachable", func() error {
		return w.Close(context.Background())
	})
	t.Logf("Close returned %v", err)
}

// TestCloseFromInsideAHandler (case 7): a live or durable handler may
// close its own worker; Close returns and the worker is closed.
func TestCloseFromInsideAHandler(t *testing.T) {
	tests := []struct {
		kind     string
		cfg      mesh.Config
		register func(w *mesh.Worker, h mesh.Handler) error
	}{
		{"live", plain, func(w *mesh.Worker, h mesh.Handler) error {
			_, err := w.On(context.Background(), "shut:down", h)
			return err
		}},
		{"durable", streams, func(w *mesh.Worker, h mesh.Handler) error {
			_, err := w.OnDurable(context.Background(), "shut:down", h)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			srv := testutil.StartServer(t)
			w := testutil.Connect(t, srv, "svc", tt.cfg)
			closed := make(chan error, 1)
			require.NoError(t, tt.register(w, mesh.HandlerFunc(func(context.Context, *mesh.Event) error {
				closed <- w.Close(context.Background())
				return nil
			})))
			require.NoError(t, w.Emit(context.Background(), "shut:down", nil, mesh.ToSelf()))
			select {
			case err := <-closed:
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Fatalf("Close called from a %s handler did not return within 10s", tt.kind)
			}
			require.ErrorIs(t, w.Emit(context.Background(), "shut:down", nil, mesh.ToSelf()), mesh.ErrClosed)
		})
	}
}

// TestOffFromInsideItsOwnDurableHandler (case 7): a durable handler may
// remove itself; Off returns at once instead of waiting for the very call
// it is made from.
func TestOffFromInsideItsOwnDurableHandler(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "svc", streams)
	subc := make(chan *mesh.Subscription, 1)
	offc := make(chan error, 1)
	sub, err := w.OnDurable(context.Background(), "stop:me", mesh.HandlerFunc(func(context.Context, *mesh.Event) error {
		offc <- (<-subc).Off(context.Background())
		return nil
	}))
	require.NoError(t, err)
	subc <- sub
	start := time.Now()
	require.NoError(t, w.Emit(context.Background(), "stop:me", nil, mesh.ToSelf()))
	select {
	case err := <-offc:
		require.NoError(t, err, "Off from inside its own handler, after %s", time.Since(start))
	case <-time.After(5 * time.Second):
		t.Fatal("Off called from its own durable handler did not return within 5s")
	}
}
