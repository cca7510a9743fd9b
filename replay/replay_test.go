package replay_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/replay"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

var durable = mesh.Config{Stream: mesh.StreamConfig{Manage: true}}

// emitMix emits n events alternating between post:created broadcasts,
// user:login broadcasts and content:flagged events sent to the moderator.
func emitMix(t *testing.T, w *mesh.Worker, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		var err error
		switch i % 3 {
		case 0:
			err = w.Emit(ctx, "post:created", i)
		case 1:
			err = w.Emit(ctx, "user:login", i)
		default:
			err = w.Emit(ctx, "content:flagged", i, mesh.To("exprsn-moderator"))
		}
		require.NoError(t, err)
	}
}

func TestReplayToAServiceThatWasOffline(t *testing.T) {
	srv := testutil.StartServer(t)
	timeline := testutil.Connect(t, srv, "exprsn-timeline", durable)
	auth := testutil.Connect(t, srv, "exprsn-auth")

	emitMix(t, timeline, 300) // before the range
	since := time.Now()
	const n = 3000
	emitMix(t, timeline, n)
	require.NoError(t, auth.Emit(context.Background(), "post:created", "from auth"))

	// herald was offline during all of it; it comes back and asks for the
	// posts since `since`, from timeline only.
	herald := testutil.Connect(t, srv, "exprsn-herald")
	posts := testutil.NewRecorder()
	_, err := herald.On(context.Background(), "post:*", posts)
	require.NoError(t, err)
	spark := testutil.NewRecorder()
	_, err = testutil.Connect(t, srv, "exprsn-spark").On(context.Background(), "post:*", spark)
	require.NoError(t, err)

	var last replay.Progress
	p, err := replay.Replay(context.Background(), timeline.JetStream(),
		replay.Query{FromTime: since, Event: "post:*", Source: "exprsn-timeline"},
		replay.Options{To: "exprsn-herald", OnProgress: func(p replay.Progress) { last = p }})
	require.NoError(t, err)
	want := n / 3
	require.Equal(t, uint64(want), p.Matched)
	require.Equal(t, uint64(want), p.Delivered)
	require.Zero(t, p.Failed)
	require.Equal(t, p, last)

	evs := posts.WaitN(t, want, 0)
	ids := map[string]bool{}
	got := map[int]bool{}
	for _, ev := range evs {
		require.True(t, ev.Replayed)
		require.Equal(t, "exprsn-herald", ev.Target, "re-delivered to herald only")
		require.Equal(t, "exprsn-timeline", ev.Source)
		require.False(t, ids[ev.ID], "event %s twice", ev.ID)
		ids[ev.ID] = true
		var i int
		require.NoError(t, ev.Decode(&i))
		require.Zero(t, i%3, "only post:created events")
		got[i] = true
	}
	require.Len(t, got, want, "exactly the matching events")
	// A marker broadcast after the replay: spark, listening to broadcasts,
	// got none of the replayed events.
	require.NoError(t, timeline.Emit(context.Background(), "post:marker", nil))
	spark.WaitN(t, 1, 0)
	require.Equal(t, "post:marker", spark.Events()[0].Type)

	// A second replay of the same range is not swallowed by the duplicate
	// window, and skips the first replay's copies (it has the marker too).
	p, err = replay.Replay(context.Background(), timeline.JetStream(),
		replay.Query{FromTime: since, Event: "post:*", Source: "exprsn-timeline"},
		replay.Options{To: "exprsn-herald", Rate: 1e6})
	require.NoError(t, err)
	require.Equal(t, uint64(want+1), p.Delivered)
	posts.WaitN(t, 2*want+1, 0)

	// Nothing is left behind on the server.
	stream, err := timeline.JetStream().Stream(context.Background(), subjects.EventStream("ipc"))
	require.NoError(t, err)
	require.Empty(t, consumerNames(t, stream))
}

func consumerNames(t *testing.T, s jetstream.Stream) []string {
	t.Helper()
	var names []string
	lister := s.ConsumerNames(context.Background())
	for name := range lister.Name() {
		names = append(names, name)
	}
	require.NoError(t, lister.Err())
	return names
}

func TestExportWritesJSONLinesThatDecodeBack(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-timeline", durable)
	emitMix(t, w, 30)
	var buf bytes.Buffer
	p, err := replay.Export(context.Background(), w.JetStream(), replay.Query{Event: "user:login"}, &buf, nil)
	require.NoError(t, err)
	require.Equal(t, uint64(10), p.Delivered)
	evs, err := replay.ReadJSONLines(&buf)
	require.NoError(t, err)
	require.Len(t, evs, 10)

	r, err := replay.Open(context.Background(), w.JetStream(), replay.Query{Event: "user:login"})
	require.NoError(t, err)
	defer r.Close()
	for i := range evs {
		rec, err := r.Next(context.Background())
		require.NoError(t, err)
		require.Equal(t, rec.Event.ID, evs[i].ID)
		require.True(t, rec.Event.Time.Equal(evs[i].Time))
		require.JSONEq(t, string(rec.Event.Data), string(evs[i].Data))
	}
}

func TestQueryRanges(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-timeline", durable)
	emitMix(t, w, 30)
	ctx := context.Background()
	tests := []struct {
		name string
		q    replay.Query
		want uint64
	}{
		{"everything", replay.Query{}, 30},
		{"from sequence", replay.Query{FromSeq: 11}, 20},
		{"sequence range", replay.Query{FromSeq: 11, UntilSeq: 20}, 10},
		{"target", replay.Query{Target: "exprsn-moderator"}, 10},
		{"broadcasts", replay.Query{Target: "all"}, 20},
		{"source", replay.Query{Source: "exprsn-auth"}, 0},
		{"future", replay.Query{FromTime: time.Now().Add(time.Hour)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := replay.Replay(ctx, w.JetStream(), tt.q, replay.Options{To: "exprsn-herald", DryRun: true})
			require.NoError(t, err)
			require.Equal(t, tt.want, p.Matched)
			require.Zero(t, p.Delivered, "a dry run sends nothing")
		})
	}
	_, err := replay.Replay(ctx, w.JetStream(), replay.Query{}, replay.Options{To: "all"})
	require.Error(t, err, "never a broadcast")
	_, err = replay.Open(ctx, w.JetStream(), replay.Query{Namespace: "other"})
	require.ErrorContains(t, err, "no event stream")
}
