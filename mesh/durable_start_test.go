package mesh_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// ids returns the ids of evs, in order.
func ids(evs []*mesh.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.ID
	}
	return out
}

// TestStartPositions: a new durable handler gets exactly the events its
// start position says; one whose consumer exists resumes where it stopped
// whatever its option says.
func TestStartPositions(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, srv, "exprsn-herald")
	ctx := context.Background()
	emit := func(id string) mesh.Receipt {
		t.Helper()
		r, err := w.EmitWithReceipt(ctx, "digest:send", nil, mesh.ToSelf(), mesh.WithID(id))
		require.NoError(t, err)
		return r
	}
	emit("e1")
	second := emit("e2")
	// Stream times have a resolution finer than this pause, which only
	// keeps "since" strictly between the second and third events.
	since := time.Now()
	for time.Now().Equal(since) {
	}
	emit("e3")

	tests := []struct {
		name string
		opt  mesh.ConsumerOption
		want []string
	}{
		{"default", nil, []string{"e4", "e5"}},
		{"new", mesh.StartAtNew(), []string{"e4", "e5"}},
		{"first", mesh.StartAtFirst(), []string{"e1", "e2", "e3", "e4", "e5"}},
		{"sequence", mesh.StartAtSequence(second.Sequence), []string{"e2", "e3", "e4", "e5"}},
		{"time", mesh.StartAtTime(since), []string{"e3", "e4", "e5"}},
	}
	recs := map[string]*testutil.Recorder{}
	for _, tt := range tests {
		recs[tt.name] = testutil.NewRecorder()
		opts := []mesh.DurableOption{mesh.DurableName("start-" + tt.name)}
		if tt.opt != nil {
			opts = append(opts, tt.opt)
		}
		onDurable(t, w, "digest:send", recs[tt.name], opts...)
	}
	emit("e4")
	emit("e5")
	for _, tt := range tests {
		require.Equal(t, tt.want, ids(recs[tt.name].WaitN(t, len(tt.want), 0)), tt.name)
	}

	// "new" goes away, misses nothing, and comes back asking for the
	// stream's start: it resumes where it stopped.
	sub := onDurable(t, w, "digest:later", testutil.NewRecorder(), mesh.DurableName("resume"))
	require.NoError(t, sub.Off(ctx))
	_, err := w.EmitWithReceipt(ctx, "digest:later", nil, mesh.ToSelf(), mesh.WithID("while-away"))
	require.NoError(t, err)
	back := testutil.NewRecorder()
	onDurable(t, w, "digest:later", back, mesh.DurableName("resume"), mesh.StartAtFirst())
	require.Equal(t, []string{"while-away"}, ids(back.WaitN(t, 1, 0)))
}

// TestInactiveConsumersExpire: the consumer of a handler unused past its
// expiry is deleted by the server, while one offline for less catches up.
func TestInactiveConsumersExpire(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, srv, "exprsn-herald")
	ctx := context.Background()
	gone := onDurable(t, w, "digest:old", testutil.NewRecorder(), mesh.DurableName("old"), mesh.InactiveExpiry(time.Second))
	kept := onDurable(t, w, "digest:kept", testutil.NewRecorder(), mesh.DurableName("kept"), mesh.InactiveExpiry(time.Hour))
	require.NoError(t, gone.Off(ctx))
	require.NoError(t, kept.Off(ctx))
	require.NoError(t, w.Emit(ctx, "digest:kept", nil, mesh.ToSelf(), mesh.WithID("missed")))

	stream := subjects.EventStream("ipc")
	require.Eventually(t, func() bool {
		_, err := w.JetStream().Consumer(ctx, stream, "old")
		return errors.Is(err, jetstream.ErrConsumerNotFound)
	}, testutil.DefaultWait, 50*time.Millisecond, "the unused consumer was not deleted")
	back := testutil.NewRecorder()
	onDurable(t, w, "digest:kept", back, mesh.DurableName("kept"), mesh.InactiveExpiry(time.Hour))
	require.Equal(t, []string{"missed"}, ids(back.WaitN(t, 1, 0)))
	info, err := w.JetStream().Consumer(ctx, stream, "kept")
	require.NoError(t, err)
	require.Equal(t, time.Hour, info.CachedInfo().Config.InactiveThreshold)

	// By default the expiry is the event stream's max age.
	onDurable(t, w, "digest:default", testutil.NewRecorder(), mesh.DurableName("default"))
	info, err = w.JetStream().Consumer(ctx, stream, "default")
	require.NoError(t, err)
	s, err := w.JetStream().Stream(ctx, stream)
	require.NoError(t, err)
	require.Equal(t, s.CachedInfo().Config.MaxAge, info.CachedInfo().Config.InactiveThreshold)
}

// TestOrderedByKeyAcrossInstances: three instances, 16 keys, 50 events
// each; one instance killed midway and a fourth joining. Every event is
// handled, and the events of each key in stream order, but for an event
// redelivered from the killed instance (the documented exception).
func TestOrderedByKeyAcrossInstances(t *testing.T) {
	const keys, perKey = 16, 50
	srv := testutil.StartServer(t, testutil.WithStreams())
	var mu sync.Mutex
	handled := map[string][]*mesh.Event{} // by key, in handling order
	all := testutil.NewRecorder()
	h := mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		key, _ := ev.Extension(subjects.PartitionKeyExtension)
		mu.Lock()
		handled[key] = append(handled[key], ev)
		mu.Unlock()
		return all.HandleEvent(ctx, ev)
	})
	start := func(i int) *mesh.Worker {
		w := testutil.Connect(t, srv, "exprsn-spark")
		onDurable(t, w, "message:sent", h, mesh.OrderedByKey(), mesh.Concurrency(4), mesh.AckWait(2*time.Second), mesh.Prefetch(20))
		return w
	}
	instances := []*mesh.Worker{start(0), start(1), start(2)}
	emitter := testutil.Connect(t, srv, "exprsn-timeline")
	ctx := context.Background()
	emitRound := func(i int) {
		for k := range keys {
			require.NoError(t, emitter.Emit(ctx, "message:sent", i, mesh.To("exprsn-spark"),
				mesh.WithPartitionKey(fmt.Sprintf("chat-%d", k)), mesh.WithID(fmt.Sprintf("chat-%d-%d", k, i))))
		}
	}
	for i := range perKey / 2 {
		emitRound(i)
	}
	// Kill an instance midway, as a crash would: its connection goes
	// without a goodbye. (One instance at a time holds the events; which
	// one does not matter to the order.)
	all.WaitN(t, keys, 0)
	instances[0].Conn().Close()
	start(3)
	for i := perKey / 2; i < perKey; i++ {
		emitRound(i)
	}
	all.WaitFor(t, time.Minute, func(evs []*mesh.Event) bool {
		seen := map[string]bool{}
		for _, ev := range evs {
			seen[ev.ID] = true
		}
		return len(seen) == keys*perKey
	})
	mu.Lock()
	defer mu.Unlock()
	for key, evs := range handled {
		last := -1
		for _, ev := range evs {
			var n int
			require.NoError(t, ev.Decode(&n))
			if n < last {
				require.Greater(t, ev.Deliveries, uint64(1), "key %s: event %d handled after %d, and it was not a redelivery", key, n, last)
				continue
			}
			last = n
		}
	}
}

// TestEmitAcrossAServerRestartIsStoredOnce: an emit whose acknowledgement
// a server restart takes away is published again as the same event, and
// the stream stores it once.
func TestEmitAcrossAServerRestartIsStoredOnce(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, srv, "exprsn-timeline")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 50
	errs := make(chan error, n)
	go func() {
		for i := range n {
			_, err := w.EmitWithReceipt(ctx, "post:created", i, mesh.WithID(fmt.Sprintf("post-%d", i)))
			errs <- err
		}
	}()
	srv.Restart(t)
	for range n {
		require.NoError(t, <-errs, "an emit across the restart")
	}
	s, err := w.JetStream().Stream(ctx, subjects.EventStream("ipc"))
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(n), info.State.Msgs, "every event stored once")
}
