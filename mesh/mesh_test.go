package mesh_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

// fleet is the cast of the delivery tests: two instances of one service and
// two other services, each with a barrier recorder.
type fleet struct {
	srv              *testutil.Server
	herald1, herald2 *mesh.Worker
	timeline, spark  *mesh.Worker
	barriers         map[*mesh.Worker]*testutil.Recorder
	barrierCount     int
}

func newFleet(t *testing.T) *fleet {
	t.Helper()
	srv := testutil.StartServer(t)
	f := &fleet{
		srv:      srv,
		herald1:  testutil.Connect(t, srv, "exprsn-herald"),
		herald2:  testutil.Connect(t, srv, "exprsn-herald"),
		timeline: testutil.Connect(t, srv, "exprsn-timeline"),
		spark:    testutil.Connect(t, srv, "exprsn-spark"),
		barriers: map[*mesh.Worker]*testutil.Recorder{},
	}
	for _, w := range f.workers() {
		rec := testutil.NewRecorder()
		_, err := w.On(context.Background(), "test:barrier", rec)
		require.NoError(t, err)
		f.barriers[w] = rec
	}
	return f
}

func (f *fleet) workers() []*mesh.Worker {
	return []*mesh.Worker{f.herald1, f.herald2, f.timeline, f.spark}
}

// barrier broadcasts a marker from timeline and waits until every worker has
// received it. Events emitted by timeline before it have then reached the
// workers' connections, so counts checked afterwards do not miss late
// duplicates (NATS keeps one publisher's order to each subscriber
// connection).
func (f *fleet) barrier(t *testing.T) {
	t.Helper()
	f.barrierCount++
	require.NoError(t, f.timeline.Emit(context.Background(), "test:barrier", f.barrierCount))
	for _, rec := range f.barriers {
		rec.WaitN(t, f.barrierCount, 0)
	}
}

func on(t *testing.T, w *mesh.Worker, pattern string, opts ...mesh.OnOption) *testutil.Recorder {
	t.Helper()
	return onAll(t, []*mesh.Worker{w}, pattern, opts...)
}

// onAll registers one recorder on every worker, to wait for a total.
func onAll(t *testing.T, ws []*mesh.Worker, pattern string, opts ...mesh.OnOption) *testutil.Recorder {
	t.Helper()
	rec := testutil.NewRecorder()
	for _, w := range ws {
		_, err := w.On(context.Background(), pattern, rec, opts...)
		require.NoError(t, err)
	}
	return rec
}

func TestTargetedEventReachesOneInstance(t *testing.T) {
	f := newFleet(t)
	h1 := on(t, f.herald1, "notification:trigger")
	h2 := on(t, f.herald2, "notification:trigger")
	both := onAll(t, []*mesh.Worker{f.herald1, f.herald2}, "notification:trigger")
	spark := on(t, f.spark, "notification:trigger")
	ctx := context.Background()

	const n = 40
	for i := range n {
		require.NoError(t, f.timeline.Emit(ctx, "notification:trigger", map[string]int{"n": i}, mesh.To("exprsn-herald")))
	}
	both.WaitN(t, n, 0)
	waitTotal(t, n, h1, h2)
	f.barrier(t)

	require.Equal(t, n, h1.Len()+h2.Len(), "each targeted event reaches exactly one herald instance")
	require.Equal(t, n, both.Len())
	require.Zero(t, spark.Len(), "an event targeted at herald must not reach spark")
	seen := map[string]bool{}
	for _, ev := range append(h1.Events(), h2.Events()...) {
		require.False(t, seen[ev.ID], "event %s delivered twice", ev.ID)
		seen[ev.ID] = true
		require.Equal(t, "exprsn-herald", ev.Target)
		require.Equal(t, "exprsn-timeline", ev.Source)
		require.Equal(t, "ipc.exprsn-herald.notification.trigger", ev.NATSSubject)
		require.False(t, ev.IsBroadcast())
	}
}

func TestBroadcastReachesEveryInstance(t *testing.T) {
	f := newFleet(t)
	recs := []*testutil.Recorder{
		on(t, f.herald1, "post:created"),
		on(t, f.herald2, "post:created"),
		on(t, f.spark, "post:created"),
		on(t, f.timeline, "post:created"),
	}
	require.NoError(t, f.timeline.Emit(context.Background(), "post:created", map[string]string{"id": "p1"}))
	for _, rec := range recs {
		ev := rec.WaitN(t, 1, 0)[0]
		require.True(t, ev.IsBroadcast())
		require.Equal(t, "ipc.all.post.created", ev.NATSSubject)
		var post map[string]string
		require.NoError(t, ev.Decode(&post))
		require.Equal(t, "p1", post["id"])
	}
	f.barrier(t)
	for _, rec := range recs {
		require.Equal(t, 1, rec.Len())
	}
}

func TestOncePerServiceBroadcast(t *testing.T) {
	f := newFleet(t)
	h1 := on(t, f.herald1, "post:created", mesh.OncePerService())
	h2 := on(t, f.herald2, "post:created", mesh.OncePerService())
	both := onAll(t, []*mesh.Worker{f.herald1, f.herald2}, "post:created", mesh.OncePerService())
	spark := on(t, f.spark, "post:created")

	const n = 30
	for i := range n {
		require.NoError(t, f.timeline.Emit(context.Background(), "post:created", i))
	}
	spark.WaitN(t, n, 0)
	both.WaitN(t, n, 0)
	waitTotal(t, n, h1, h2)
	f.barrier(t)
	require.Equal(t, n, h1.Len()+h2.Len(), "once per service: each broadcast reaches one herald instance")
	require.Equal(t, n, spark.Len(), "other services still get every broadcast")
}

func TestOverlappingPatternsEachReceiveOnce(t *testing.T) {
	f := newFleet(t)
	wide := on(t, f.herald1, "post:*", mesh.OncePerService())
	exact := onAll(t, []*mesh.Worker{f.herald1, f.herald2}, "post:created", mesh.OncePerService())
	require.NoError(t, f.timeline.Emit(context.Background(), "post:created", nil))
	require.NoError(t, f.timeline.Emit(context.Background(), "post:created", nil, mesh.To("exprsn-herald")))
	wide.WaitN(t, 2, 0)
	exact.WaitN(t, 2, 0)
	f.barrier(t)
	require.Equal(t, 2, wide.Len(), "the wide pattern gets both events once")
	require.Equal(t, 2, exact.Len(), "the exact pattern gets both events once")
}

func TestWildcardPatterns(t *testing.T) {
	f := newFleet(t)
	users := on(t, f.spark, "user:*")
	content := on(t, f.spark, "content:>")
	ctx := context.Background()
	for _, ev := range []string{"user:login", "user:logout", "user:profile:updated", "content:flagged", "content:post:removed", "post:created"} {
		require.NoError(t, f.timeline.Emit(ctx, ev, nil))
	}
	require.NoError(t, f.timeline.Emit(ctx, "user:login", nil, mesh.To("exprsn-spark")))
	users.WaitN(t, 3, 0)
	content.WaitN(t, 2, 0)
	f.barrier(t)
	require.ElementsMatch(t, []string{"user:login", "user:logout", "user:login"}, types(users.Events()))
	require.ElementsMatch(t, []string{"content:flagged", "content:post:removed"}, types(content.Events()))
}

// waitTotal waits until the recorders hold n events between them.
func waitTotal(t *testing.T, n int, recs ...*testutil.Recorder) {
	t.Helper()
	total := func() int {
		sum := 0
		for _, r := range recs {
			sum += r.Len()
		}
		return sum
	}
	require.Eventually(t, func() bool { return total() >= n }, testutil.DefaultWait, time.Millisecond,
		"want %d events in all", n)
}

func types(evs []*mesh.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type
	}
	return out
}

func TestOffRemovesExactlyThatHandler(t *testing.T) {
	f := newFleet(t)
	keep := on(t, f.spark, "data:response")
	dropped := testutil.NewRecorder()
	sub, err := f.spark.On(context.Background(), "data:response", dropped)
	require.NoError(t, err)
	ctx := context.Background()

	require.NoError(t, f.timeline.Emit(ctx, "data:response", 1))
	keep.WaitN(t, 1, 0)
	dropped.WaitN(t, 1, 0)

	require.NoError(t, sub.Off(context.Background()))
	require.NoError(t, sub.Off(context.Background()), "Off is idempotent")
	require.NoError(t, f.timeline.Emit(ctx, "data:response", 2))
	keep.WaitN(t, 2, 0)
	f.barrier(t)
	require.Equal(t, 1, dropped.Len(), "no event after Off")

	require.Equal(t, uint64(2), f.spark.Stats().Events["data:response"].Received)
}

func TestOnAfterLastOffSubscribesAgain(t *testing.T) {
	f := newFleet(t)
	first := testutil.NewRecorder()
	sub, err := f.spark.On(context.Background(), "data:response", first)
	require.NoError(t, err)
	require.NoError(t, sub.Off(context.Background()))
	require.NoError(t, f.timeline.Emit(context.Background(), "data:response", 1))
	f.barrier(t)
	require.Zero(t, first.Len())
	require.Zero(t, f.spark.Stats().Received-f.spark.Stats().Events["test:barrier"].Received,
		"with no handler left the worker is unsubscribed")

	again := on(t, f.spark, "data:response")
	require.NoError(t, f.timeline.Emit(context.Background(), "data:response", 2))
	ev := again.WaitN(t, 1, 0)[0]
	require.JSONEq(t, "2", string(ev.Data))
}

func TestEmitToSelf(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-auth")
	rec := on(t, w, "session:validate")
	require.NoError(t, w.Emit(context.Background(), "session:validate", map[string]string{"token": "t"}, mesh.ToSelf()))
	ev := rec.WaitN(t, 1, 0)[0]
	require.Equal(t, "exprsn-auth", ev.Target)
	require.Equal(t, "exprsn-auth", ev.Source)
}

type post struct {
	ID     string `json:"id"`
	Author string `json:"author"`
}

func TestTypedHandlerAndMetadata(t *testing.T) {
	srv := testutil.StartServer(t)
	timeline := testutil.Connect(t, srv, "exprsn-timeline")
	mod := testutil.Connect(t, srv, "exprsn-moderator")
	got := make(chan post, 1)
	var meta atomic.Pointer[mesh.Event]
	var ctxWorker atomic.Pointer[mesh.Worker]
	_, err := mod.On(context.Background(), "post:created", mesh.Typed(func(ctx context.Context, ev *mesh.Event, p post) error {
		ctxWorker.Store(mesh.FromContext(ctx))
		meta.Store(ev)
		got <- p
		return nil
	}))
	require.NoError(t, err)
	before := time.Now()
	require.NoError(t, timeline.Emit(context.Background(), "post:created", post{ID: "p1", Author: "ana"},
		mesh.WithExtension("correlationid", "req-7"), mesh.WithID("evt-1")))
	select {
	case p := <-got:
		require.Equal(t, post{ID: "p1", Author: "ana"}, p)
	case <-time.After(testutil.DefaultWait):
		t.Fatal("typed handler not called")
	}
	require.Same(t, mod, ctxWorker.Load(), "a handler's context carries its worker")
	ev := meta.Load()
	require.Equal(t, "evt-1", ev.ID)
	require.Equal(t, "post:created", ev.Type)
	require.Equal(t, "application/json", ev.DataContentType)
	corr, ok := ev.Extension("correlationid")
	require.True(t, ok)
	require.Equal(t, "req-7", corr)
	require.WithinDuration(t, before, ev.Time, time.Minute)
}

func TestRawBytesWithContentType(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-spark")
	rec := on(t, w, "message:attachment")
	raw := []byte{0, 1, 2, 0xff}
	require.NoError(t, w.Emit(context.Background(), "message:attachment", raw, mesh.ToSelf(), mesh.WithContentType("image/png")))
	ev := rec.WaitN(t, 1, 0)[0]
	require.Equal(t, raw, ev.Data)
	require.Equal(t, "image/png", ev.DataContentType)
	require.Error(t, ev.Decode(new(any)), "non-JSON data does not decode as JSON")
}

func TestStatsCount(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-herald")
	rec := on(t, w, "notification:trigger")
	_, err := w.On(context.Background(), "notification:trigger", mesh.HandlerFunc(func(context.Context, *mesh.Event) error {
		return fmt.Errorf("smtp down")
	}))
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, w.Emit(context.Background(), "notification:trigger", nil, mesh.ToSelf()))
	}
	rec.WaitN(t, 3, 0)
	require.Eventually(t, func() bool {
		s := w.Stats()
		return s.Handled+s.Failed == 6
	}, testutil.DefaultWait, time.Millisecond)
	s := w.Stats()
	require.Equal(t, "exprsn-herald", s.Service)
	require.Equal(t, uint64(3), s.Emitted)
	require.Equal(t, uint64(3), s.Received)
	require.Equal(t, uint64(3), s.Handled)
	require.Equal(t, uint64(3), s.Failed)
	e := s.Events["notification:trigger"]
	require.Positive(t, e.HandlerTime, "the six calls took some time")
	require.LessOrEqual(t, e.MaxHandlerTime, e.HandlerTime)
	e.HandlerTime, e.MaxHandlerTime = 0, 0 // measured, not counted
	require.Equal(t, mesh.EventStats{Emitted: 3, Received: 3, Handled: 3, Failed: 3}, e)
}
