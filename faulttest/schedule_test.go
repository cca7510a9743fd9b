package faulttest

import (
	"context"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// waitLeader waits up to 30 s until stream has a leader other than the
// server called not, and returns its node. It asks through js, which must
// be connected to a server that stays up.
func waitLeader(t *testing.T, js jetstream.JetStream, nodes []*node, stream, not string) *node {
	t.Helper()
	var name string
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		s, err := js.Stream(ctx, stream)
		if err != nil {
			return false
		}
		c := s.CachedInfo().Cluster
		if c == nil {
			return false
		}
		name = c.Leader
		return name != "" && name != not
	}, 30*time.Second, 50*time.Millisecond, "stream %s has no leader (other than %q)", stream, not)
	return nodeNamed(t, nodes, name)
}

// waitSourcing waits up to 30 s until the event stream's source of
// firings is established: its consumer on the schedule stream has been
// heard from. A leader lost while the consumer is being created leaves the
// request unanswered, and the server retries it only after 30 s.
func waitSourcing(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		s, err := js.Stream(ctx, subjects.EventStream("ipc"))
		if err != nil {
			return false
		}
		src := s.CachedInfo().Sources
		return len(src) == 1 && src[0].Active >= 0 && src[0].Error == nil
	}, 30*time.Second, 50*time.Millisecond, "the event stream does not source the firings")
}

// scheduleLead is how far ahead the event is scheduled: enough to find and
// stop the schedule stream's leader before its time.
const scheduleLead = 4 * time.Second

// TestScheduleSurvivesLeaderLoss schedules an event, then stops the server
// leading the schedule stream before its time: a new leader fires it, and
// the live and the durable handler, on a worker connected to a server that
// stays up, each get it once, not before its time.
func TestScheduleSurvivesLeaderLoss(t *testing.T) {
	ctx := context.Background()
	nodes := startCluster(t)
	var urls []string
	for _, nd := range nodes {
		urls = append(urls, nd.url())
	}
	emitter := connectCluster(t, "exprsn-timeline", clusterConfig(urls))
	sched := subjects.ScheduleStream("ipc")
	leader := waitLeader(t, emitter.JetStream(), nodes, sched, "")

	// The handlers' worker has every URL, the leader's last, in order.
	var ordered []string
	for _, nd := range nodes {
		if nd != leader {
			ordered = append(ordered, nd.url())
		}
	}
	cfg := clusterConfig(append(ordered, leader.url()))
	cfg.NATSOptions = []nats.Option{nats.DontRandomize()}
	herald := connectCluster(t, "exprsn-herald", cfg)
	live, durable := testutil.NewRecorder(), testutil.NewRecorder()
	_, err := herald.On(ctx, "fault:*", live)
	require.NoError(t, err)
	_, err = herald.OnDurable(ctx, "fault:*", durable, mesh.AckWait(2*time.Second))
	require.NoError(t, err)

	start := time.Now()
	r, err := emitter.EmitWithReceipt(ctx, "fault:due", nil, mesh.After(scheduleLead))
	require.NoError(t, err)
	// A marker due a second later says that nothing more is on its way.
	require.NoError(t, emitter.Emit(ctx, "fault:marker", nil, mesh.After(scheduleLead+time.Second)))
	emitted := time.Now()

	waitSourcing(t, herald.JetStream())
	leader = waitLeader(t, herald.JetStream(), nodes, sched, "")
	require.NotEqual(t, leader.opts.ServerName, herald.Conn().ConnectedServerName(),
		"the handlers' worker is connected to the schedule stream's leader")
	leader.stop()
	stopped := time.Now()
	require.True(t, stopped.Before(start.Add(scheduleLead)), "the leader stopped %v after the schedule's time",
		stopped.Sub(start.Add(scheduleLead)))
	successor := waitLeader(t, herald.JetStream(), nodes, sched, leader.opts.ServerName)
	t.Logf("schedule stream leader %s stopped %v before the time; %s found leading %v later",
		leader.opts.ServerName, start.Add(scheduleLead).Sub(stopped), successor.opts.ServerName, time.Since(stopped))

	var subject string
	for _, h := range []struct {
		name string
		c    *testutil.Recorder
		late time.Duration
	}{
		// The live copy waits for the new leader's first check of its
		// schedules; the durable one until the event stream notices that
		// its source consumer died with the leader (10 to 20 s).
		{"live", live, 10 * time.Second},
		{"durable", durable, 30 * time.Second},
	} {
		h.c.WaitType(t, "fault:marker", 40*time.Second)
		got := h.c.Arrivals("fault:due")
		require.Len(t, got, 1, "%s: the scheduled event once", h.name)
		a := got[0]
		due := checkFiring(t, h.name, a.Event, r.ID, start.Add(scheduleLead), emitted.Add(scheduleLead))
		require.False(t, a.At.Before(due), "%s: fired %v early", h.name, due.Sub(a.At))
		require.Less(t, a.At.Sub(due), h.late, "%s: fired too late", h.name)
		t.Logf("%s handler got it %v after its time", h.name, a.At.Sub(due))
		subject = a.Event.NATSSubject
	}
	stored, err := herald.JetStream().Stream(ctx, subjects.EventStream("ipc"))
	require.NoError(t, err)
	info, err := stored.Info(ctx, jetstream.WithSubjectFilter(subject))
	require.NoError(t, err)
	require.Equal(t, uint64(1), info.State.Subjects[subject], "the event stream stores the firing once")
}

// checkFiring asserts that ev is the firing of the schedule emitted as id,
// scheduled between from and to, and returns its scheduledtime.
func checkFiring(t *testing.T, name string, ev *mesh.Event, id string, from, to time.Time) time.Time {
	t.Helper()
	stamp, ok := ev.Extension(subjects.ScheduledTimeExtension)
	require.True(t, ok, "%s: no scheduledtime extension", name)
	due, err := time.Parse(time.RFC3339Nano, stamp)
	require.NoError(t, err, name)
	require.False(t, due.Before(from) || due.After(to), "%s: scheduledtime %v is not the time asked for", name, due)
	require.Equal(t, id+"@"+stamp, ev.ID, name)
	return due
}
