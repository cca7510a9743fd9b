package mesh_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/replay"
	"github.com/exprsn/ipcmesh/schedules"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// waitType waits for n events of type typ at rec and returns their
// arrivals.
func waitType(t *testing.T, rec *testutil.Recorder, typ string, n int) []testutil.Arrival {
	t.Helper()
	rec.WaitFor(t, testutil.DefaultWait, func([]*mesh.Event) bool { return len(rec.Arrivals(typ)) >= n })
	return rec.Arrivals(typ)
}

// scheduledPair starts a service with a live and a durable handler of
// pattern, and an emitter.
func scheduledPair(t *testing.T, srv *testutil.Server, pattern string) (emitter *mesh.Worker, live, durable *testutil.Recorder) {
	t.Helper()
	herald := testutil.Connect(t, srv, "exprsn-herald")
	live, durable = testutil.NewRecorder(), testutil.NewRecorder()
	_, err := herald.On(context.Background(), pattern, live)
	require.NoError(t, err)
	onDurable(t, herald, pattern, durable)
	return testutil.Connect(t, srv, "exprsn-timeline"), live, durable
}

// granularity bounds how late the server fires a schedule: its timer runs
// at least 250 ms apart, plus a loaded 2-core machine's delays.
const granularity = 1500 * time.Millisecond

func TestScheduledEventReachesLiveAndDurableHandlersAtItsTime(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	emitter, live, durable := scheduledPair(t, srv, "reminder:*")
	ctx := context.Background()

	start := time.Now()
	r, err := emitter.EmitWithReceipt(ctx, "reminder:due", map[string]int{"n": 1}, mesh.After(2*time.Second))
	require.NoError(t, err)
	require.Equal(t, subjects.ScheduleStream("ipc"), r.Stream)
	due := start.Add(2 * time.Second)

	list, err := emitter.Schedules(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, r.ID, list[0].ID)
	require.Equal(t, "reminder:due", list[0].Event)
	require.Equal(t, "all", list[0].Target)
	require.WithinDuration(t, due, list[0].At, time.Second)

	// A marker emitted later says that nothing more is on its way.
	require.NoError(t, emitter.Emit(ctx, "reminder:marker", nil, mesh.After(3*time.Second)))
	for name, c := range map[string]*testutil.Recorder{"live": live, "durable": durable} {
		waitType(t, c, "reminder:due", 1)
		waitType(t, c, "reminder:marker", 1)
		got := waitType(t, c, "reminder:due", 1)
		require.Len(t, got, 1, name)
		a := got[0]
		require.False(t, a.At.Before(due), "%s: fired %v early", name, due.Sub(a.At))
		require.Less(t, a.At.Sub(due), granularity, name)
		stamp, ok := a.Event.Extension(subjects.ScheduledTimeExtension)
		require.True(t, ok, name)
		require.Equal(t, r.ID+"@"+stamp, a.Event.ID, name)
		require.Equal(t, "ipc.all.reminder.due", a.Event.NATSSubject, name)
		require.Equal(t, "exprsn-timeline", a.Event.Source, name)
	}
	require.Equal(t, uint64(1), storedOn(t, emitter, "ipc.all.reminder.due"))
	list, err = emitter.Schedules(ctx)
	require.NoError(t, err)
	require.Empty(t, list, "fired one-time schedules are removed")
}

func TestCancelledScheduleNeverFires(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	emitter, live, durable := scheduledPair(t, srv, "reminder:*")
	ctx := context.Background()

	r, err := emitter.EmitWithReceipt(ctx, "reminder:due", nil, mesh.After(2*time.Second), mesh.To("exprsn-herald"))
	require.NoError(t, err)
	require.NoError(t, emitter.CancelSchedule(ctx, r.ID))
	// Once the cancel's marker expires (about a second), the schedule is
	// known to be gone.
	testutil.WaitScheduleGone(t, emitter.JetStream(), "ipc", subjects.DuplicateKey(emitter.Service(), r.ID))
	require.ErrorIs(t, emitter.CancelSchedule(ctx, r.ID), schedules.ErrNotFound)
	require.NoError(t, emitter.Emit(ctx, "reminder:marker", nil, mesh.After(3*time.Second)))
	for _, c := range []*testutil.Recorder{live, durable} {
		waitType(t, c, "reminder:marker", 1)
		require.Empty(t, waitType(t, c, "reminder:due", 0))
	}
}

func TestRecurringScheduleFiresEveryInterval(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	emitter, live, durable := scheduledPair(t, srv, "tick")
	ctx := context.Background()

	r, err := emitter.EmitWithReceipt(ctx, "tick", nil, mesh.Every(time.Second))
	require.NoError(t, err)
	got := waitType(t, durable, "tick", 3)
	require.NoError(t, emitter.CancelSchedule(ctx, r.ID))
	liveGot := waitType(t, live, "tick", 3)

	for _, arrivals := range [][]testutil.Arrival{got, liveGot} {
		seen := map[string]bool{}
		var prev time.Time
		for _, a := range arrivals {
			require.False(t, seen[a.Event.ID], "firing %s twice", a.Event.ID)
			seen[a.Event.ID] = true
			stamp, ok := a.Event.Extension(subjects.ScheduledTimeExtension)
			require.True(t, ok)
			at, err := time.Parse(time.RFC3339Nano, stamp)
			require.NoError(t, err)
			require.Equal(t, r.ID+"@"+stamp, a.Event.ID)
			if !prev.IsZero() {
				require.Equal(t, time.Second, at.Sub(prev))
			}
			prev = at
		}
	}
}

func TestScheduleWithoutStreamIsAClearError(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-timeline")
	err := w.Emit(context.Background(), "reminder:due", nil, mesh.After(time.Second))
	require.ErrorIs(t, err, mesh.ErrUnsupported)
	require.ErrorContains(t, err, "event stream")
	_, err = w.EmitAsync(context.Background(), "reminder:due", nil, mesh.At(time.Now()))
	require.Error(t, err)
	// Without a stream nothing is kept: a TTL changes nothing.
	require.NoError(t, w.Emit(context.Background(), "typing", nil, mesh.TTL(time.Second)))
}

func TestBadSchedulesAreRefused(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, srv, "exprsn-timeline")
	for name, opt := range map[string]mesh.EmitOption{
		"sub-second every": mesh.Every(time.Millisecond),
		"negative after":   mesh.After(-time.Second),
		"zero time":        mesh.At(time.Time{}),
		"bad cron":         mesh.Cron("not a cron", ""),
		"bad zone":         mesh.Cron("@hourly", "Mars/Olympus"),
		"sub-second TTL":   mesh.TTL(time.Millisecond),
	} {
		err := w.Emit(context.Background(), "x", nil, opt)
		require.Error(t, err, name)
		require.False(t, errors.Is(err, mesh.ErrUnconfirmed), name)
	}
}

// storedOn counts the messages the event stream holds on subject.
func storedOn(t *testing.T, w *mesh.Worker, subject string) uint64 {
	t.Helper()
	s, err := w.JetStream().Stream(context.Background(), subjects.EventStream("ipc"))
	require.NoError(t, err)
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(subject))
	require.NoError(t, err)
	return info.State.Subjects[subject]
}

func TestScheduleSurvivesAServerRestart(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	emitter, live, durable := scheduledPair(t, srv, "reminder:*")
	ctx := context.Background()

	due := time.Now().Add(time.Second)
	r, err := emitter.EmitWithReceipt(ctx, "reminder:due", nil, mesh.At(due))
	require.NoError(t, err)
	srv.Shutdown()
	// Down past the schedule's time: it fires once, late, on restart.
	for time.Now().Before(due.Add(500 * time.Millisecond)) {
		<-time.After(time.Until(due.Add(500 * time.Millisecond)))
	}
	srv.Restart(t)

	waitType(t, durable, "reminder:due", 1)
	require.NoError(t, emitter.Emit(ctx, "reminder:marker", nil, mesh.After(2*time.Second)))
	waitType(t, durable, "reminder:marker", 1)
	got := waitType(t, durable, "reminder:due", 1)
	require.Len(t, got, 1)
	require.True(t, got[0].At.After(due))
	require.Equal(t, r.ID+"@"+due.UTC().Format(time.RFC3339Nano), got[0].Event.ID)
	require.Equal(t, uint64(1), storedOn(t, emitter, "ipc.all.reminder.due"))
	// Live handlers that had reconnected got it too, once.
	waitType(t, live, "reminder:marker", 1)
	require.LessOrEqual(t, len(waitType(t, live, "reminder:due", 0)), 1)
}

func TestExpiredEventIsGoneFromTheStreamAndFromReplay(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, srv, "exprsn-spark")
	ctx := context.Background()

	r, err := w.EmitWithReceipt(ctx, "user:typing", map[string]string{"user": "ana"}, mesh.TTL(time.Second))
	require.NoError(t, err)
	kept, err := w.EmitWithReceipt(ctx, "user:online", map[string]string{"user": "ana"})
	require.NoError(t, err)
	s, err := w.JetStream().Stream(ctx, subjects.EventStream("ipc"))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := s.GetMsg(ctx, r.Sequence)
		return errors.Is(err, jetstream.ErrMsgNotFound)
	}, testutil.DefaultWait, 50*time.Millisecond, "the TTL event is still stored")
	_, err = s.GetMsg(ctx, kept.Sequence)
	require.NoError(t, err)

	rec := testutil.NewRecorder()
	_, err = w.On(ctx, "user:*", rec)
	require.NoError(t, err)
	p, err := replay.Replay(ctx, w.JetStream(), replay.Query{Event: "user:*"}, replay.Options{To: "exprsn-spark"})
	require.NoError(t, err)
	require.Equal(t, uint64(1), p.Delivered)
	require.Equal(t, "user:online", rec.WaitN(t, 1, testutil.DefaultWait)[0].Type)
}
