package herald_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/examples/herald"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
)

// This file shows how to test a durable worker: connect it with a config
// that creates the namespace's streams, emit to it from a stand-in for the
// services that talk to it, and wait for what it sends back with a
// testutil.Recorder. Being offline is closing the worker; coming back is
// connecting and registering a new one.

// durableConfig makes a worker create the namespace's streams, as a
// service run on its own does.
var durableConfig = mesh.Config{Stream: mesh.StreamConfig{Manage: true}}

// origin is the service that herald answers in these tests.
const origin = "exprsn-timeline"

// start connects an instance of herald, with cfg if given, and registers
// it. The worker creates the namespace's streams, as with durableConfig.
func start(t *testing.T, srv *testutil.Server, cfg ...mesh.Config) (*herald.Service, *mesh.Worker) {
	t.Helper()
	c := durableConfig
	if len(cfg) > 0 {
		c = cfg[0]
		c.Stream.Manage = true
	}
	w := testutil.Connect(t, srv, herald.Name, c)
	svc, err := herald.Register(t.Context(), w)
	if err != nil {
		t.Fatal(err)
	}
	return svc, w
}

// standIns connects a stand-in for the origin, which records the
// deliveries, and one for the sender of triggers.
func standIns(t *testing.T, srv *testutil.Server) (delivered *testutil.Recorder, sender *mesh.Worker) {
	t.Helper()
	delivered = testutil.NewRecorder()
	if _, err := testutil.Connect(t, srv, origin, durableConfig).On(t.Context(), herald.NotificationDelivered, delivered); err != nil {
		t.Fatal(err)
	}
	return delivered, testutil.Connect(t, srv, "exprsn-moderator", durableConfig)
}

// trigger sends n triggers of one kind (herald.NotificationTrigger or
// herald.NotificationBulk) for contents "0" to "n-1".
func trigger(t *testing.T, sender *mesh.Worker, event string, n int) {
	t.Helper()
	for i := range n {
		tr := herald.Trigger{Origin: origin, UserID: "ana", ContentID: strconv.Itoa(i), Message: "hi"}
		if err := sender.Emit(t.Context(), event, tr, mesh.To(herald.Name)); err != nil {
			t.Fatal(err)
		}
	}
}

// reportTo returns an error hook that passes errors to ch without ever
// blocking the worker.
func reportTo(ch chan<- error) func(error) {
	return func(err error) {
		select {
		case ch <- err:
		default:
		}
	}
}

// failure waits for an error reported to ch that satisfies match.
func failure(t *testing.T, ch <-chan error, match func(error) bool) {
	t.Helper()
	deadline := time.After(testutil.DefaultWait)
	for {
		select {
		case err := <-ch:
			if match(err) {
				return
			}
		case <-deadline:
			t.Fatal("the expected failure was not reported")
		}
	}
}

// contents returns the content IDs of ds.
func contents(ds []herald.Delivery) []string {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ContentID
	}
	return ids
}

// TestDeliveryGoesBackToOrigin triggers notifications through two herald
// instances and checks that each delivery goes once to the service named
// as the origin, not to the one that sent the trigger, and that a trigger
// without an origin fails permanently.
func TestDeliveryGoesBackToOrigin(t *testing.T) {
	srv := testutil.StartServer(t)
	failures := make(chan error, 16)
	for range 2 {
		start(t, srv, mesh.Config{OnError: reportTo(failures)})
	}
	delivered, sender := standIns(t, srv)

	const n = 10
	trigger(t, sender, herald.NotificationTrigger, n)
	seen := map[string]bool{}
	for _, ev := range delivered.WaitN(t, n, 0) {
		var d herald.Delivery
		if err := ev.Decode(&d); err != nil {
			t.Fatal(err)
		}
		if seen[d.ContentID] || ev.Target != origin || ev.Source != herald.Name {
			t.Errorf("delivery %+v from %s to %s (seen before: %v)", d, ev.Source, ev.Target, seen[d.ContentID])
		}
		seen[d.ContentID] = true
	}

	noOrigin := herald.Trigger{UserID: "ana", ContentID: "x", Message: "hi"}
	if err := sender.Emit(t.Context(), herald.NotificationTrigger, noOrigin, mesh.To(herald.Name)); err != nil {
		t.Fatal(err)
	}
	failure(t, failures, func(err error) bool {
		var herr *mesh.HandlerError
		return errors.As(err, &herr) && herr.Event == herald.NotificationTrigger &&
			errors.Is(err, herald.ErrNoOrigin) && mesh.IsPermanent(err)
	})
}

// TestOfflineHeraldCatchesUp sends triggers while herald is offline and
// checks that herald, once back, delivers every one, in order, once.
func TestOfflineHeraldCatchesUp(t *testing.T) {
	srv := testutil.StartServer(t)
	delivered, sender := standIns(t, srv)
	_, w := start(t, srv)
	if err := w.Close(t.Context()); err != nil { // its durable consumer stays
		t.Fatal(err)
	}

	const n = 20
	trigger(t, sender, herald.NotificationTrigger, n)
	svc, _ := start(t, srv)
	delivered.WaitN(t, n, 0)
	want := make([]string, n)
	for i := range want {
		want[i] = strconv.Itoa(i)
	}
	if got := contents(svc.Recent()); !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
}

// TestRedeliveredTriggerIsDeliveredOnce loses the acknowledgement of a
// trigger, as a crash right after delivering it would: the server delivers
// the trigger again, and the idempotency guard skips it.
func TestRedeliveredTriggerIsDeliveredOnce(t *testing.T) {
	srv := testutil.StartServer(t)
	delivered, sender := standIns(t, srv)
	var tries atomic.Int32
	again := testutil.NewRecorder()
	loseFirstAck := func(next mesh.Handler) mesh.Handler {
		return mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
			err := next.HandleEvent(ctx, ev)
			if tries.Add(1) == 1 {
				return errors.New("acknowledgement lost")
			}
			_ = again.HandleEvent(ctx, ev)
			return err
		})
	}
	svc, w := start(t, srv, mesh.Config{Middleware: []mesh.Middleware{loseFirstAck}})

	trigger(t, sender, herald.NotificationTrigger, 1)
	ev := again.WaitN(t, 1, 0)[0] // after the first retry's backoff, a second
	if ev.Deliveries != 2 {
		t.Errorf("delivery %d of the trigger, want 2", ev.Deliveries)
	}
	if got := contents(svc.Recent()); !slices.Equal(got, []string{"0"}) {
		t.Errorf("delivered %v, want [0]: once", got)
	}
	// The skip is counted once the middleware returns, after it recorded
	// the event.
	testutil.WaitUntil(t, "the idempotency guard skipped the redelivered trigger", func() bool {
		return w.Stats().Durable[ev.Handler].Skipped == 1
	})
	delivered.WaitN(t, 1, 0)
}

// TestBulkPerEventOutcome sends bulk notifications, one of which can never
// be delivered: the others are delivered, and the batch handler's error
// names that one alone, as permanent.
func TestBulkPerEventOutcome(t *testing.T) {
	srv := testutil.StartServer(t)
	failures := make(chan error, 16)
	svc, _ := start(t, srv, mesh.Config{OnError: reportTo(failures)})
	delivered, sender := standIns(t, srv)

	trigger(t, sender, herald.NotificationBulk, 2)
	noOrigin := herald.Trigger{UserID: "ana", ContentID: "x", Message: "hi"}
	if err := sender.Emit(t.Context(), herald.NotificationBulk, noOrigin, mesh.To(herald.Name)); err != nil {
		t.Fatal(err)
	}
	delivered.WaitN(t, 2, 0)
	failure(t, failures, func(err error) bool {
		var failed mesh.BatchErrors
		if !errors.As(err, &failed) || len(failed) != 1 {
			return false
		}
		for _, err := range failed { // the only one
			if !errors.Is(err, herald.ErrNoOrigin) || !mesh.IsPermanent(err) {
				return false
			}
		}
		return true
	})
	if got := contents(svc.Recent()); !slices.Equal(got, []string{"0", "1"}) {
		t.Errorf("delivered %v, want [0 1]", got)
	}
}
