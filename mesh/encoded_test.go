package mesh_test

import (
	"context"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
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

// TestEmitEncodedRefusesSubjectsEncodeDoesNotMake: an Encoded changed
// outside the worker (an outbox row edited by hand) whose subject is not
// an event or schedule subject of the worker's namespace is refused,
// sending nothing: a subject too long for the server's control line would
// close the connection, a JetStream API subject would call the API.
func TestEmitEncodedRefusesSubjectsEncodeDoesNotMake(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, srv, "exprsn-timeline")
	ctx := context.Background()
	good, err := w.Encode(ctx, "post:created", 1, mesh.ToSelf())
	require.NoError(t, err)
	_, err = w.EmitEncoded(ctx, good)
	require.NoError(t, err)
	stream, err := w.JetStream().Stream(ctx, subjects.EventStream("ipc"))
	require.NoError(t, err)
	for _, subject := range []string{
		"$JS.API.STREAM.PURGE.MESH_ipc",
		"ipc.exprsn-timeline." + strings.Repeat("x", 1<<20),
		"other.exprsn-timeline.post.created",
		"_rpc.ipc.exprsn-timeline.post.created",
		"_sched.ipc.at.*",
		"ipc.exprsn-timeline.post.*",
		"",
	} {
		bad := good
		bad.Subject = subject
		bad.ID = strings.Repeat("i", 1<<20)
		_, err := w.EmitEncoded(ctx, bad)
		require.Error(t, err, "subject %.60q", subject)
		require.Less(t, len(err.Error()), 2048, "the error quotes the id or the subject whole")
	}
	require.NoError(t, w.Healthy())
	info, err := stream.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(1), info.State.Msgs, "the event stream holds the good event alone")
}
