package mesh_test

import (
	"context"
	"testing"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

// TestEncodedEventIsStoredOnce: an event encoded now and stored later
// reaches a handler as Emit's would, and storing it again stores nothing.
func TestEncodedEventIsStoredOnce(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, srv, "exprsn-timeline")
	ctx := context.Background()
	rec := testutil.NewRecorder()
	onDurable(t, w, "post:created", rec)

	e, err := w.Encode(context.Background(), "post:created", map[string]int{"post": 7}, mesh.ToSelf(), mesh.WithID("post-7"))
	require.NoError(t, err)
	require.Equal(t, "post-7", e.ID)
	first, err := w.EmitEncoded(ctx, e)
	require.NoError(t, err)
	require.False(t, first.Duplicate)
	again, err := w.EmitEncoded(ctx, e)
	require.NoError(t, err)
	require.True(t, again.Duplicate, "a second store of the same encoded event is a duplicate")
	require.Equal(t, first.Sequence, again.Sequence)

	ev := rec.WaitType(t, "post:created", 0)
	require.Equal(t, "post-7", ev.ID)
	require.Equal(t, "exprsn-timeline", ev.Source)
	require.JSONEq(t, `{"post":7}`, string(ev.Data))
}

func TestEncodeRefusesWhatEmitRefuses(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-timeline")
	_, err := w.Encode(context.Background(), "bad event", nil)
	require.Error(t, err)
	_, err = w.Encode(context.Background(), "post:created", make(chan int))
	require.ErrorContains(t, err, "marshal")
	_, err = w.EmitEncoded(context.Background(), mesh.Encoded{ID: "x", Event: "post:created", Subject: "ipc._all.post.created"})
	require.ErrorContains(t, err, "no event stream")
}
