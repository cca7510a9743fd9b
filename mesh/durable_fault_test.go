package mesh_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/idempotency"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

func TestIdempotencyGuardSkipsARedelivery(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-herald", durableConfig)
	guard, err := idempotency.Guard(context.Background(), w, time.Hour)
	require.NoError(t, err)

	// loseFirstAck fails the first delivery after the handler succeeded, as
	// a lost acknowledgement would: the server redelivers the event.
	var deliveries atomic.Int32
	acked := testutil.NewRecorder()
	loseFirstAck := func(next mesh.Handler) mesh.Handler {
		return mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
			err := next.HandleEvent(ctx, ev)
			if deliveries.Add(1) == 1 {
				return errors.New("ack lost")
			}
			_ = acked.HandleEvent(ctx, ev)
			return err
		})
	}
	sends := testutil.NewRecorder()
	onDurable(t, w, "notification:send", sends, mesh.Use(loseFirstAck, guard), mesh.Backoff(50*time.Millisecond))
	require.NoError(t, w.Emit(context.Background(), "notification:send", "email", mesh.ToSelf()))

	ev := acked.WaitN(t, 1, 0)[0]
	require.Equal(t, uint64(2), ev.Deliveries, "the event was redelivered")
	require.Equal(t, 1, sends.Len(), "the guarded handler ran once")
	require.Eventually(t, func() bool {
		st := w.Stats().Durable[durableNameOf(w)]
		return st.Skipped == 1 && st.Acked == 1
	}, testutil.DefaultWait, time.Millisecond)
}

func TestCloseLetsDurableHandlersFinishAndAck(t *testing.T) {
	srv := testutil.StartServer(t)
	emitter := testutil.Connect(t, srv, "exprsn-timeline", durableConfig)
	w := connectRaw(t, srv, "exprsn-moderator", mesh.Config{})

	started := testutil.NewRecorder()
	release := make(chan struct{})
	var handled sync.Map
	onDurable(t, w, "content:submitted", mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		_ = started.HandleEvent(ctx, ev)
		<-release
		handled.Store(ev.ID, true)
		return nil
	}), mesh.Concurrency(4))
	const n = 20
	for i := range n {
		require.NoError(t, emitter.Emit(context.Background(), "content:submitted", i, mesh.To("exprsn-moderator")))
	}
	started.WaitN(t, 4, 0)

	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
		defer cancel()
		closed <- w.Close(ctx)
	}()
	close(release)
	require.NoError(t, <-closed)
	var first []string
	handled.Range(func(k, _ any) bool { first = append(first, k.(string)); return true })
	require.NotEmpty(t, first)

	// A new instance gets exactly the events the first did not handle.
	rest := testutil.NewRecorder()
	w2 := testutil.Connect(t, srv, "exprsn-moderator")
	onDurable(t, w2, "content:submitted", rest, mesh.Concurrency(4))
	rest.WaitN(t, n-len(first), 0)
	require.NoError(t, emitter.Emit(context.Background(), "content:submitted", "marker", mesh.To("exprsn-moderator")))
	rest.WaitN(t, n-len(first)+1, 0)
	for _, ev := range rest.Events() {
		_, dup := handled.Load(ev.ID)
		require.False(t, dup, "event %s handled again after a clean Close", ev.ID)
	}
	require.Len(t, rest.Events(), n-len(first)+1)
}

// TestServerRestartLosesNoAcknowledgedEvent restarts the server on the same
// store in the middle of a stream of asynchronous emits and durable handling.
func TestServerRestartLosesNoAcknowledgedEvent(t *testing.T) {
	const n = 10000
	srv := testutil.StartServer(t)
	publisher := testutil.Connect(t, srv, "exprsn-timeline", mesh.Config{Stream: mesh.StreamConfig{Manage: true}, AsyncEmitTimeout: 5 * time.Second})
	worker := testutil.Connect(t, srv, "exprsn-herald")

	var mu sync.Mutex
	handled := map[string]int{}
	progress := testutil.NewRecorder()
	onDurable(t, worker, "feed:update", mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		mu.Lock()
		handled[ev.ID]++
		mu.Unlock()
		return progress.HandleEvent(ctx, ev)
	}), mesh.Concurrency(8), mesh.AckWait(2*time.Second))

	type emit struct {
		id string
		f  *mesh.AsyncEmit
	}
	emits := make([]emit, 0, n)
	var refused int
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := range n {
		if i == n/3 {
			srv.Restart(t)
		}
		id := "evt-" + strconv.Itoa(i)
		f, err := publisher.EmitAsync(ctx, "feed:update", i, mesh.WithID(id), mesh.To("exprsn-herald"))
		if err != nil {
			refused++
			continue
		}
		emits = append(emits, emit{id, f})
	}
	var acked []string
	var failed int
	for _, e := range emits {
		_, err := e.f.Wait(ctx)
		switch {
		case err == nil:
			acked = append(acked, e.id)
		case ctx.Err() != nil:
			t.Fatalf("no outcome for emit %s", e.id)
		default:
			failed++
		}
	}
	progress.WaitFor(t, time.Minute, func([]*mesh.Event) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range acked {
			if handled[id] == 0 {
				return false
			}
		}
		return true
	})
	mu.Lock()
	defer mu.Unlock()
	duplicates := 0
	for _, c := range handled {
		duplicates += c - 1
	}
	t.Logf("restart: emitted %d, acknowledged %d, failed with error %d, refused %d, handled %d distinct, lost 0, duplicates %d",
		n, len(acked), failed, refused, len(handled), duplicates)
	require.Equal(t, n, len(acked)+failed+refused, "every emit has an outcome")
	require.NotZero(t, len(acked))
}
