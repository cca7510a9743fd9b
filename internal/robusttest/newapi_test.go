package robusttest_test

// The tests in this file use API the mesh gained with issue 11
// (Worker.Healthy, ErrConnectionLost, PendingLimits, MaxRemoteErrorLen);
// the code before it does not compile them.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

// TestConnectionClosedForGoodIsReported (case 1): when nats.go gives up the
// connection for good, the worker says so: Healthy, OnError and Emit all
// report ErrConnectionLost.
func TestConnectionClosedForGoodIsReported(t *testing.T) {
	srv := testutil.StartServer(t)
	sink := newErrorSink()
	cfg := withStreams(mesh.Config{Service: "svc", Servers: []string{srv.URL()}, OnError: sink.report})
	connectCtx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	defer cancel()
	// Not testutil.Connect: what Close returns on a lost connection is not
	// this test's business.
	w, err := mesh.Connect(connectCtx, cfg)
	require.NoError(t, err)
	require.NoError(t, w.Healthy())

	// The server answers "maximum control line exceeded" and nats.go closes
	// the connection without reconnecting.
	require.NoError(t, w.Conn().Publish(strings.Repeat("s", 5000), nil))
	waitUntil(t, testutil.DefaultWait, "Healthy reports ErrConnectionLost",
		func() bool { return errors.Is(w.Healthy(), mesh.ErrConnectionLost) },
		func() string { return fmt.Sprintf("Healthy() = %v, connection %v", w.Healthy(), w.Conn().Status()) })
	sink.waitFor(t, testutil.DefaultWait, "matching ErrConnectionLost",
		func(err error) bool { return errors.Is(err, mesh.ErrConnectionLost) })
	require.ErrorIs(t, w.Emit(context.Background(), "any:thing", 1), mesh.ErrConnectionLost)

	closeCtx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	defer cancel()
	t.Logf("Close returned %v", w.Close(closeCtx))
	require.ErrorIs(t, w.Healthy(), mesh.ErrClosed)
}

// TestSlowConsumerAccountsForEveryEvent (case 5): with PendingLimits, a
// live handler that falls behind has events dropped, and every event is
// either handled or counted in Stats.Dropped.
func TestSlowConsumerAccountsForEveryEvent(t *testing.T) {
	const events = 5000
	srv := testutil.StartServer(t)
	sink := newErrorSink()
	cfg := plain
	cfg.OnError = sink.report
	w := testutil.Connect(t, srv, "svc", cfg)
	release := make(chan struct{})
	var handled atomic.Int64
	_, err := w.On(context.Background(), "slow:x", mesh.HandlerFunc(func(ctx context.Context, _ *mesh.Event) error {
		<-release
		handled.Add(1)
		return nil
	}), mesh.PendingLimits(100, 1<<20))
	require.NoError(t, err)

	raw := rawConn(t, srv)
	for i := range events {
		require.NoError(t, raw.Publish("ipc.all.slow.x", cloudEvent(t, fmt.Sprint(i), "foreign", "slow:x", i)))
	}
	require.NoError(t, raw.Flush())
	close(release)

	waitUntil(t, 30*time.Second, "handled + dropped == 5000",
		func() bool { return handled.Load()+int64(w.Stats().Dropped) == events },
		func() string {
			return fmt.Sprintf("handled %d + dropped %d = %d", handled.Load(), w.Stats().Dropped, handled.Load()+int64(w.Stats().Dropped))
		})
	require.NotZero(t, w.Stats().Dropped, "with a pending limit of 100 and a blocked handler, events are dropped")
	sink.waitFor(t, testutil.DefaultWait, "about the slow consumer", func(error) bool { return true })
}

// TestHugeResponderErrorIsTruncated (case 8): a responder's error message
// too large for a reply still reaches the caller promptly, cut to
// MaxRemoteErrorLen.
func TestHugeResponderErrorIsTruncated(t *testing.T) {
	srv := testutil.StartServer(t)
	responder := testutil.Connect(t, srv, "responder", plain)
	caller := testutil.Connect(t, srv, "caller", plain)
	_, err := responder.OnRequest(context.Background(), "fail:big", mesh.ResponderFunc(func(context.Context, *mesh.Event) (any, error) {
		return nil, errors.New(strings.Repeat("e", 2<<20))
	}))
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err = caller.Request(ctx, "responder", "fail:big", nil)
	elapsed := time.Since(start)
	var re *mesh.RemoteError
	require.ErrorAs(t, err, &re)
	require.Less(t, elapsed, 5*time.Second, "the error reply comes well before the request's timeout")
	require.True(t, int64(len(re.Message)) <= int64(mesh.MaxRemoteErrorLen), "message of %d bytes, MaxRemoteErrorLen %d", len(re.Message), mesh.MaxRemoteErrorLen)
}
