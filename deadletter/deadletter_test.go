package deadletter_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/deadletter"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
)

// TestAnOmittedBodyIsReadBackFromTheEventStream: an event too large for
// its dead letter to carry its body is dead-lettered without it; List and
// Get read the event back from the event stream, and Redrive sends the
// original.
func TestAnOmittedBodyIsReadBackFromTheEventStream(t *testing.T) {
	const maxPayload = 64 << 10
	srv := testutil.StartServer(t, testutil.WithMaxPayload(maxPayload), testutil.WithStreams())
	w := testutil.Connect(t, srv, "exprsn-herald")
	ctx := context.Background()
	rec := testutil.NewRecorder()
	var fail = true
	_, err := w.OnDurable(ctx, "digest:send", mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		if fail {
			return mesh.Permanent(errors.New("template missing"))
		}
		return rec.HandleEvent(ctx, ev)
	}))
	if err != nil {
		t.Fatal(err)
	}
	// A JSON string close to max_payload: Emit takes it, but the dead
	// letter's own headers leave no room for it.
	big := `"` + strings.Repeat("x", maxPayload-400) + `"`
	if err := w.Emit(ctx, "digest:send", []byte(big), mesh.ToSelf(), mesh.WithID("big-1"), mesh.WithContentType("application/json")); err != nil {
		t.Fatal(err)
	}
	q := deadletter.New(w.JetStream(), w.Namespace())
	var letters []deadletter.DeadLetter
	deadline := time.Now().Add(testutil.DefaultWait)
	for len(letters) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no dead letter within the deadline")
		}
		if letters, err = q.List(ctx, "exprsn-herald", 1, 0); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	dl := letters[0]
	if dl.Omitted != "data" || len(dl.Data) != 0 {
		t.Fatalf("dead letter omits %q with %d bytes of data, want the data omitted", dl.Omitted, len(dl.Data))
	}
	if dl.Event == nil || dl.Event.ID != "big-1" || len(dl.Event.Data) != len(big) {
		t.Fatalf("the event was not read back from the event stream: %+v", dl.Event)
	}
	fail = false
	if err := q.Redrive(ctx, dl.Sequence); err != nil {
		t.Fatal(err)
	}
	got := rec.WaitN(t, 1, 0)[0]
	if got.ID != "big-1" || !got.Replayed || len(got.Data) != len(big) {
		t.Fatalf("re-driven event: id %s, replayed %v, %d bytes of data", got.ID, got.Replayed, len(got.Data))
	}
}
