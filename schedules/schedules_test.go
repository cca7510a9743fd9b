package schedules_test

import (
	"context"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/schedules"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

func TestListAndCancel(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, srv, "exprsn-herald")
	ctx := context.Background()
	at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	_, err := w.EmitWithReceipt(ctx, "reminder:due", nil, mesh.At(at), mesh.WithID("r1"), mesh.ToSelf())
	require.NoError(t, err)
	_, err = w.EmitWithReceipt(ctx, "digest:daily", nil, mesh.Every(time.Hour), mesh.WithID("d1"))
	require.NoError(t, err)

	list, err := schedules.List(ctx, w.JetStream(), "ipc")
	require.NoError(t, err)
	require.Len(t, list, 2)
	one, every := list[0], list[1]
	require.Equal(t, "r1", one.ID)
	require.Equal(t, "reminder:due", one.Event)
	require.Equal(t, "exprsn-herald", one.Source)
	require.Equal(t, "exprsn-herald", one.Target)
	require.True(t, one.At.Equal(at), "%v != %v", one.At, at)
	require.False(t, one.Recurring())
	require.Equal(t, "d1", every.ID)
	require.Equal(t, "all", every.Target)
	require.True(t, every.Recurring())

	require.NoError(t, schedules.Cancel(ctx, w.JetStream(), "ipc", one.Key))
	require.NoError(t, schedules.Cancel(ctx, w.JetStream(), "ipc", one.Key), "within a second, a second cancel finds the first's marker")
	testutil.WaitScheduleGone(t, w.JetStream(), "ipc", one.Key)
	require.ErrorIs(t, schedules.Cancel(ctx, w.JetStream(), "ipc", one.Key), schedules.ErrNotFound)
	list, err = schedules.List(ctx, w.JetStream(), "ipc")
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "d1", list[0].ID)
}

// TestListLeavesOutWhatGoesWhileItReads: a schedule that fires or is
// cancelled between List's count and its read is left out; List neither
// waits for it nor fails.
func TestListLeavesOutWhatGoesWhileItReads(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, srv, "exprsn-herald")
	ctx := context.Background()
	_, err := w.EmitWithReceipt(ctx, "reminder:due", nil, mesh.After(time.Hour), mesh.WithID("r1"))
	require.NoError(t, err)
	list, err := schedules.List(ctx, w.JetStream(), "ipc")
	require.NoError(t, err)
	require.Len(t, list, 1)

	ctx, cancel := context.WithTimeout(ctx, testutil.DefaultWait)
	defer cancel()
	got, err := schedules.List(ctx, cancelAfterCount{w.JetStream(), list[0].Key}, "ipc")
	require.NoError(t, err)
	require.Empty(t, got)
}

// cancelAfterCount cancels a schedule right after List asked the stream
// which schedules it holds, as a firing or a concurrent Cancel would.
type cancelAfterCount struct {
	jetstream.JetStream
	key string
}

func (j cancelAfterCount) Stream(ctx context.Context, name string) (jetstream.Stream, error) {
	s, err := j.JetStream.Stream(ctx, name)
	return countThenCancel{s, j}, err
}

type countThenCancel struct {
	jetstream.Stream
	js cancelAfterCount
}

func (s countThenCancel) Info(ctx context.Context, opts ...jetstream.StreamInfoOpt) (*jetstream.StreamInfo, error) {
	info, err := s.Stream.Info(ctx, opts...)
	if err == nil {
		err = schedules.Cancel(ctx, s.js.JetStream, "ipc", s.js.key)
	}
	return info, err
}
