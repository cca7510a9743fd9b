package mesh_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/deadletter"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/streams"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// durableConfig makes workers create the namespace's streams.
var durableConfig = mesh.Config{Stream: mesh.StreamConfig{Manage: true}}

func onDurable(t *testing.T, w *mesh.Worker, pattern string, h mesh.Handler, opts ...mesh.DurableOption) *mesh.Subscription {
	t.Helper()
	sub, err := w.OnDurable(context.Background(), pattern, h, opts...)
	require.NoError(t, err)
	return sub
}

func connectRaw(t *testing.T, srv *testutil.Server, service string, cfg mesh.Config) *mesh.Worker {
	t.Helper()
	cfg.Service = service
	cfg.Servers = []string{srv.URL()}
	w, err := mesh.Connect(context.Background(), cfg)
	require.NoError(t, err)
	return w
}

func closeWorker(t *testing.T, w *mesh.Worker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	defer cancel()
	require.NoError(t, w.Close(ctx))
}

func TestDurableWithoutStreamIsAClearError(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-herald")
	require.False(t, w.Durable())
	_, err := w.OnDurable(context.Background(), "notification:trigger", testutil.NewRecorder())
	require.ErrorContains(t, err, "no event stream")
	_, err = w.EmitAsync(context.Background(), "x", nil)
	require.ErrorContains(t, err, "no event stream")
}

func TestOfflineWorkerCatchesUpInStreamOrder(t *testing.T) {
	srv := testutil.StartServer(t)
	timeline := testutil.Connect(t, srv, "exprsn-timeline", durableConfig)
	require.True(t, timeline.Durable())

	// The herald worker registers, then goes offline.
	herald := connectRaw(t, srv, "exprsn-herald", mesh.Config{})
	onDurable(t, herald, "notification:>", testutil.NewRecorder())
	closeWorker(t, herald)

	const n = 1000
	ctx := context.Background()
	for i := range n {
		var err error
		if i%2 == 0 {
			err = timeline.Emit(ctx, "notification:trigger", i, mesh.To("exprsn-herald"))
		} else {
			err = timeline.Emit(ctx, "notification:broadcast", i)
		}
		require.NoError(t, err)
	}
	require.NoError(t, timeline.Emit(ctx, "notification:trigger", "not for herald", mesh.To("exprsn-spark")))

	rec := testutil.NewRecorder()
	herald = testutil.Connect(t, srv, "exprsn-herald")
	onDurable(t, herald, "notification:>", rec)
	evs := rec.WaitN(t, n, 0)
	require.Eventually(t, func() bool { return herald.Stats().Durable[durableNameOf(herald)].Acked == n }, testutil.DefaultWait, time.Millisecond)
	require.Len(t, rec.Events(), n, "each event once, nothing else")
	var last uint64
	for i, ev := range evs {
		require.Greater(t, ev.StreamSequence, last, "stream order at %d", i)
		last = ev.StreamSequence
		var got int
		require.NoError(t, ev.Decode(&got))
		require.Equal(t, i, got)
		require.Equal(t, uint64(1), ev.Deliveries)
	}
}

// durableNameOf returns the name of the worker's only durable handler.
func durableNameOf(w *mesh.Worker) string {
	for name := range w.Stats().Durable {
		return name
	}
	return ""
}

func TestInstancesShareADurableHandler(t *testing.T) {
	srv := testutil.StartServer(t)
	timeline := testutil.Connect(t, srv, "exprsn-timeline", durableConfig)
	all := testutil.NewRecorder()
	for range 2 {
		w := testutil.Connect(t, srv, "exprsn-moderator")
		onDurable(t, w, "content:submitted", all, mesh.Concurrency(4))
	}
	const n = 300
	for i := range n {
		require.NoError(t, timeline.Emit(context.Background(), "content:submitted", i, mesh.To("exprsn-moderator")))
	}
	all.WaitN(t, n, 0)
	seen := map[string]bool{}
	for _, ev := range all.Events() {
		require.False(t, seen[ev.ID], "event %s handled twice", ev.ID)
		seen[ev.ID] = true
	}
	require.Len(t, seen, n)
}

// callLog records when a handler was called.
type callLog struct {
	mu    sync.Mutex
	times []time.Time
}

func (c *callLog) add() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.times = append(c.times, time.Now())
	return len(c.times)
}

func (c *callLog) snapshot() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.times...)
}

func TestFailedEventIsRetriedWithBackoff(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-herald", durableConfig)
	var calls callLog
	done := testutil.NewRecorder()
	backoff := []time.Duration{300 * time.Millisecond, 600 * time.Millisecond}
	onDurable(t, w, "notification:send", mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		if calls.add() <= 2 {
			return errors.New("smtp unavailable")
		}
		return done.HandleEvent(ctx, ev)
	}), mesh.Backoff(backoff...), mesh.MaxDeliver(5))
	require.NoError(t, w.Emit(context.Background(), "notification:send", "hi", mesh.ToSelf()))
	ev := done.WaitN(t, 1, 0)[0]
	require.Equal(t, uint64(3), ev.Deliveries)
	require.Eventually(t, func() bool { return w.Stats().Durable[durableNameOf(w)].Acked == 1 }, testutil.DefaultWait, time.Millisecond)

	times := calls.snapshot()
	require.Len(t, times, 3)
	for i, want := range backoff {
		got := times[i+1].Sub(times[i])
		require.GreaterOrEqual(t, got, want*9/10, "retry %d came after %s, backoff is %s", i+1, got, want)
		require.Less(t, got, want+5*time.Second, "retry %d came after %s, backoff is %s", i+1, got, want)
	}
	st := w.Stats().Durable[durableNameOf(w)]
	require.Equal(t, uint64(2), st.Retried)
	require.Equal(t, uint64(2), st.Redelivered)
	require.Zero(t, st.DeadLettered)
}

func TestExhaustedAndPermanentFailuresAreDeadLettered(t *testing.T) {
	srv := testutil.StartServer(t)
	timeline := testutil.Connect(t, srv, "exprsn-timeline", durableConfig)
	herald := testutil.Connect(t, srv, "exprsn-herald")
	spark := on(t, testutil.Connect(t, srv, "exprsn-spark"), "notification:>")

	var failing atomic.Bool
	failing.Store(true)
	handled := testutil.NewRecorder()
	onDurable(t, herald, "notification:>", mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		if !failing.Load() {
			return handled.HandleEvent(ctx, ev)
		}
		if ev.Type == "notification:bad" {
			return mesh.Permanent(errors.New("template missing"))
		}
		return errors.New("smtp unavailable")
	}), mesh.MaxDeliver(3), mesh.Backoff(50*time.Millisecond))

	ctx := context.Background()
	require.NoError(t, timeline.Emit(ctx, "notification:retry", "r", mesh.WithID("evt-retry")))
	require.NoError(t, timeline.Emit(ctx, "notification:bad", "b", mesh.WithID("evt-bad")))
	spark.WaitN(t, 2, 0)

	dlq := deadletter.New(herald.JetStream(), herald.Namespace())
	var letters []deadletter.DeadLetter
	require.Eventually(t, func() bool {
		var err error
		letters, err = dlq.List(ctx, "exprsn-herald", 1, 0)
		return err == nil && len(letters) == 2
	}, testutil.DefaultWait, 10*time.Millisecond)

	byID := map[string]deadletter.DeadLetter{}
	for _, dl := range letters {
		require.NotNil(t, dl.Event)
		byID[dl.Event.ID] = dl
	}
	retry, bad := byID["evt-retry"], byID["evt-bad"]
	require.Equal(t, "smtp unavailable", retry.Reason)
	require.Equal(t, uint64(3), retry.Deliveries)
	require.Equal(t, "exprsn-herald", retry.Service)
	require.Equal(t, "ipc.all.notification.retry", retry.Subject)
	require.NotZero(t, retry.StreamSequence)
	require.Equal(t, "permanent: template missing", bad.Reason)
	require.Equal(t, uint64(1), bad.Deliveries, "a permanent error is dead-lettered at the first try")
	require.JSONEq(t, `"b"`, string(bad.Event.Data), "the original event is kept unchanged")
	require.Equal(t, uint64(2), herald.Stats().Durable[durableNameOf(herald)].DeadLettered)

	// Re-drive goes to the failing service only, with the original id.
	failing.Store(false)
	require.NoError(t, dlq.Redrive(ctx, retry.Sequence))
	ev := handled.WaitN(t, 1, 0)[0]
	require.Equal(t, "evt-retry", ev.ID)
	require.Equal(t, "exprsn-herald", ev.Target, "re-driven to the service, not broadcast")
	left, err := dlq.List(ctx, "", 1, 0)
	require.NoError(t, err)
	require.Len(t, left, 1)
	require.NoError(t, dlq.Purge(ctx, "exprsn-herald"))
	left, err = dlq.List(ctx, "", 1, 0)
	require.NoError(t, err)
	require.Empty(t, left)
	// spark listened to the broadcasts; the re-drive is not one.
	require.NoError(t, timeline.Emit(ctx, "notification:marker", nil))
	spark.WaitN(t, 3, 0)
	require.Equal(t, []string{"notification:retry", "notification:bad", "notification:marker"}, types(spark.Events()))
}

func TestLongHandlerKeepsItsEvent(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-moderator", durableConfig)
	var calls atomic.Int32
	done := testutil.NewRecorder()
	onDurable(t, w, "content:scan", mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		calls.Add(1)
		timer := time.NewTimer(5 * time.Second) // 2.5 x AckWait
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		return done.HandleEvent(ctx, ev)
	}), mesh.AckWait(2*time.Second))
	require.NoError(t, w.Emit(context.Background(), "content:scan", nil, mesh.ToSelf()))
	done.WaitN(t, 1, 0)
	require.Equal(t, int32(1), calls.Load(), "the event must not be redelivered while its handler runs")
	require.Zero(t, w.Stats().Durable[durableNameOf(w)].Redelivered)
}

func TestOrderedByKeyKeepsPerKeyOrder(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-spark", durableConfig)
	const keys, perKey = 8, 50
	var mu sync.Mutex
	got := map[string][]int{}
	var running, peak atomic.Int32
	all := testutil.NewRecorder()
	onDurable(t, w, "message:sent", mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		now := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
		}
		var n int
		if err := ev.Decode(&n); err != nil {
			return err
		}
		key, _ := ev.Extension(subjects.PartitionKeyExtension)
		mu.Lock()
		got[key] = append(got[key], n)
		mu.Unlock()
		return all.HandleEvent(ctx, ev)
	}), mesh.Concurrency(keys), mesh.OrderedByKey())
	for i := range perKey {
		for k := range keys {
			require.NoError(t, w.Emit(context.Background(), "message:sent", i, mesh.ToSelf(), mesh.WithPartitionKey(fmt.Sprintf("chat-%d", k))))
		}
	}
	all.WaitN(t, keys*perKey, 0)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, keys)
	for key, ns := range got {
		require.Len(t, ns, perKey)
		for i, n := range ns {
			require.Equal(t, i, n, "key %s out of order", key)
		}
	}
	t.Logf("peak concurrency %d of %d lanes", peak.Load(), keys)
}

func TestBatchHandlerPerEventOutcome(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-herald", durableConfig)
	var mu sync.Mutex
	var sizes []int
	tries := map[int]int{}
	done := testutil.NewRecorder()
	_, err := w.OnDurableBatch(context.Background(), "notification:bulk", mesh.BatchHandlerFunc(func(ctx context.Context, evs []*mesh.Event) error {
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, len(evs))
		failed := mesh.BatchErrors{}
		for i, ev := range evs {
			var n int
			if err := ev.Decode(&n); err != nil {
				return err
			}
			tries[n]++
			if n%10 == 0 && tries[n] == 1 {
				failed[i] = errors.New("recipient mailbox busy")
				continue
			}
			_ = done.HandleEvent(ctx, ev)
		}
		if len(failed) > 0 {
			return failed
		}
		return nil
	}), mesh.Batch(25, 200*time.Millisecond), mesh.Backoff(50*time.Millisecond))
	require.NoError(t, err)
	const n = 100
	for i := range n {
		require.NoError(t, w.Emit(context.Background(), "notification:bulk", i, mesh.ToSelf()))
	}
	done.WaitN(t, n, 0)
	mu.Lock()
	defer mu.Unlock()
	for i := range n {
		want := 1
		if i%10 == 0 {
			want = 2
		}
		require.Equal(t, want, tries[i], "event %d", i)
	}
	for _, s := range sizes {
		require.LessOrEqual(t, s, 25)
	}
	require.Eventually(t, func() bool { return w.Stats().Durable[durableNameOf(w)].Acked == n }, testutil.DefaultWait, time.Millisecond)
}

func TestStoredEventsAreNotRequests(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-timeline", durableConfig)
	rec := on(t, w, "post:created")
	require.NoError(t, w.Emit(context.Background(), "post:created", nil))
	ev := rec.WaitN(t, 1, 0)[0]
	require.False(t, ev.IsRequest(), "the stream's acknowledgement inbox is not a request's reply")
}

func TestOnDeadLetterHookAndTypedDecodeFailure(t *testing.T) {
	srv := testutil.StartServer(t)
	dead := make(chan string, 1)
	w := testutil.Connect(t, srv, "exprsn-herald", mesh.Config{
		Stream:       mesh.StreamConfig{Manage: true},
		OnDeadLetter: func(ev *mesh.Event, reason string) { dead <- ev.ID + ": " + reason },
	})
	onDurable(t, w, "notification:send", mesh.Typed(func(context.Context, *mesh.Event, struct{ To string }) error {
		return nil
	}))
	require.NoError(t, w.Emit(context.Background(), "notification:send", []int{1}, mesh.ToSelf(), mesh.WithID("evt-1")))
	select {
	case got := <-dead:
		require.Contains(t, got, "evt-1: permanent: mesh: decode data")
	case <-time.After(testutil.DefaultWait):
		t.Fatal("undecodable data was not dead-lettered at once")
	}
	// Middleware (Use) does not apply to batch handlers: it does not
	// compile with OnDurableBatch (TestOptionsFitOnlyTheirCalls).
	require.False(t, reflect.TypeFor[mesh.HandlerOption]().Implements(reflect.TypeFor[mesh.BatchOption]()), "Use with OnDurableBatch")
}

func TestStreamsAndConsumersUpdateInPlace(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-herald", durableConfig)
	ctx := context.Background()
	js := w.JetStream()

	// The streams are created with the stated defaults, and updated when
	// asked again with other settings.
	s, err := js.Stream(ctx, subjects.EventStream("ipc"))
	require.NoError(t, err)
	cfg := s.CachedInfo().Config
	require.Equal(t, streams.DefaultMaxAge, cfg.MaxAge)
	require.Equal(t, streams.DefaultDuplicateWindow, cfg.Duplicates)
	require.Equal(t, jetstream.FileStorage, cfg.Storage)
	require.Equal(t, 1, cfg.Replicas)
	require.NoError(t, streams.Ensure(ctx, js, "ipc", streams.Config{MaxAge: time.Hour, MaxBytes: 1 << 30}))
	require.NoError(t, streams.Ensure(ctx, js, "ipc", streams.Config{MaxAge: time.Hour, MaxBytes: 1 << 30}), "idempotent")
	info, err := s.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, time.Hour, info.Config.MaxAge)
	require.Equal(t, int64(1<<30), info.Config.MaxBytes)
	dlq, err := js.Stream(ctx, subjects.DeadLetterStream("ipc"))
	require.NoError(t, err)
	require.Equal(t, streams.DefaultDeadLetterMaxAge, dlq.CachedInfo().Config.MaxAge)

	// Registering a handler again with other options updates its consumer.
	sub := onDurable(t, w, "notification:send", testutil.NewRecorder(), mesh.MaxDeliver(3), mesh.DurableName("herald-send"))
	require.NoError(t, sub.Off(context.Background()))
	onDurable(t, w, "notification:send", testutil.NewRecorder(), mesh.MaxDeliver(7), mesh.AckWait(time.Minute), mesh.DurableName("herald-send"))
	c, err := s.Consumer(ctx, "herald-send")
	require.NoError(t, err)
	// The worker counts the tries and dead-letters; the server's limit, past
	// the worker's extra deliveries for a dead letter that cannot be
	// stored, ends only an event the handler never sees.
	require.Equal(t, 7+4, c.CachedInfo().Config.MaxDeliver)
	require.Equal(t, time.Minute, c.CachedInfo().Config.AckWait)

	// Close never deletes it.
	closeWorker(t, w)
	nc, err := nats.Connect(srv.URL())
	require.NoError(t, err)
	defer nc.Close()
	js2, err := jetstream.New(nc)
	require.NoError(t, err)
	_, err = js2.Consumer(ctx, subjects.EventStream("ipc"), "herald-send")
	require.NoError(t, err, "the durable consumer outlives the worker")
}

// TestPrefetchedEventsAreNotRedelivered: events waiting behind a slow
// handler for longer than AckWait are kept in progress, not redelivered.
func TestPrefetchedEventsAreNotRedelivered(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-moderator", durableConfig)
	const n = 15
	for i := range n {
		require.NoError(t, w.Emit(context.Background(), "content:scan", i, mesh.ToSelf()))
	}
	done := testutil.NewRecorder()
	onDurable(t, w, "content:scan", mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		timer := time.NewTimer(150 * time.Millisecond) // n events: 2.25 x AckWait in all
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		return done.HandleEvent(ctx, ev)
	}), mesh.AckWait(time.Second), mesh.StartAtFirst())
	evs := done.WaitN(t, n, 0)
	for _, ev := range evs {
		require.Equal(t, uint64(1), ev.Deliveries, "event %s was redelivered while it waited", ev.ID)
	}
	require.Zero(t, w.Stats().Durable[durableNameOf(w)].Redelivered)
}

// TestDeadLetterStoreFailureRetriesThenTerminates: while the dead-letter
// stream is missing, an exhausted event is retried a bounded number of
// times, then terminated with a report naming its stream sequence, where
// the event stream still holds it: it no longer holds a slot.
func TestDeadLetterStoreFailureRetriesThenTerminates(t *testing.T) {
	srv := testutil.StartServer(t)
	reports := make(chan error, 100)
	cfg := durableConfig
	cfg.OnError = func(err error) {
		select {
		case reports <- err:
		default:
		}
	}
	w := testutil.Connect(t, srv, "exprsn-herald", cfg)
	ctx := context.Background()
	require.NoError(t, w.JetStream().DeleteStream(ctx, subjects.DeadLetterStream("ipc")))
	onDurable(t, w, "notification:send", mesh.HandlerFunc(func(context.Context, *mesh.Event) error {
		return errors.New("smtp unavailable")
	}), mesh.MaxDeliver(2), mesh.Backoff(50*time.Millisecond))
	r, err := w.EmitWithReceipt(ctx, "notification:send", nil, mesh.ToSelf(), mesh.WithID("evt-kept"))
	require.NoError(t, err)

	// Past MaxDeliver, the server redelivers it a few times more, then the
	// worker gives up on it.
	name := durableNameOf(w)
	require.Eventually(t, func() bool { return w.Stats().Durable[name].Terminated == 1 },
		testutil.DefaultWait, 10*time.Millisecond)
	require.GreaterOrEqual(t, w.Stats().Durable[name].Redelivered, uint64(3))
	var gaveUp error
	require.Eventually(t, func() bool {
		for {
			select {
			case err := <-reports:
				if strings.Contains(err.Error(), "gave up") {
					gaveUp = err
				}
			default:
				return gaveUp != nil
			}
		}
	}, testutil.DefaultWait, 10*time.Millisecond)
	require.Contains(t, gaveUp.Error(), fmt.Sprintf("stream sequence %d", r.Sequence))
	info, err := w.JetStream().Consumer(ctx, subjects.EventStream("ipc"), name)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		ci, err := info.Info(ctx)
		return err == nil && ci.NumAckPending == 0 && ci.NumRedelivered == 0
	}, testutil.DefaultWait, 10*time.Millisecond)
	stream, err := w.JetStream().Stream(ctx, subjects.EventStream("ipc"))
	require.NoError(t, err)
	_, err = stream.GetMsg(ctx, r.Sequence)
	require.NoError(t, err, "the event stays readable in the event stream")
}
