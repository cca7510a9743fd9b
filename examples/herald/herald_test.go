package herald_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/examples/herald"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
)

// TestDeliveryGoesBackToOrigin triggers notifications through two herald
// instances and checks that each delivery goes to the service named as the
// origin, not to the one that sent the trigger, and that a trigger without
// an origin fails.
func TestDeliveryGoesBackToOrigin(t *testing.T) {
	srv := testutil.StartServer(t)
	failures := make(chan error, 1)
	cfg := mesh.Config{OnError: func(err error) { failures <- err }}
	for range 2 {
		if err := herald.Register(testutil.Connect(t, srv, herald.Name, cfg)); err != nil {
			t.Fatal(err)
		}
	}
	delivered := testutil.NewRecorder()
	if _, err := testutil.Connect(t, srv, "exprsn-timeline").On(herald.NotificationDelivered, delivered); err != nil {
		t.Fatal(err)
	}
	sender := testutil.Connect(t, srv, "exprsn-moderator")
	ctx := context.Background()

	const n = 10
	for i := range n {
		tr := herald.Trigger{Origin: "exprsn-timeline", UserID: "ana", ContentID: strconv.Itoa(i), Message: "hi"}
		if err := sender.Emit(ctx, herald.NotificationTrigger, tr, mesh.To(herald.Name)); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for _, ev := range delivered.WaitN(t, n, 0) {
		var d herald.Delivery
		if err := ev.Decode(&d); err != nil {
			t.Fatal(err)
		}
		if seen[d.ContentID] || ev.Target != "exprsn-timeline" || ev.Source != herald.Name {
			t.Errorf("delivery %+v from %s to %s (seen before: %v)", d, ev.Source, ev.Target, seen[d.ContentID])
		}
		seen[d.ContentID] = true
	}

	noOrigin := herald.Trigger{UserID: "ana", ContentID: "x", Message: "hi"}
	if err := sender.Emit(ctx, herald.NotificationTrigger, noOrigin, mesh.To(herald.Name)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-failures:
		var herr *mesh.HandlerError
		if !errors.As(err, &herr) || herr.Event != herald.NotificationTrigger {
			t.Errorf("reported %v, want a *mesh.HandlerError for %s", err, herald.NotificationTrigger)
		}
	case <-time.After(testutil.DefaultWait):
		t.Error("a trigger without an origin was not reported as a failure")
	}
}
