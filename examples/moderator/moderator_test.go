package moderator_test

import (
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/deadletter"
	"github.com/exprsn/ipcmesh/examples/herald"
	"github.com/exprsn/ipcmesh/examples/moderator"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
)

// durableConfig makes a worker create the namespace's streams, as a
// service run on its own does.
var durableConfig = mesh.Config{Stream: mesh.StreamConfig{Manage: true}}

func TestDecide(t *testing.T) {
	for _, tt := range []struct {
		text string
		want moderator.Verdict
	}{
		{"hello", moderator.Approved},
		{"", moderator.Approved},
		{"buy SPAM now", moderator.Flagged},
	} {
		if got := moderator.Decide(tt.text); got != tt.want {
			t.Errorf("Decide(%q) = %s, want %s", tt.text, got, tt.want)
		}
	}
}

// start connects and registers moderator, a stand-in for herald that
// records what moderator sends it, and a stand-in for timeline that
// submits content.
func start(t *testing.T) (svc *moderator.Service, w *mesh.Worker, toHerald *testutil.Recorder, source *mesh.Worker) {
	t.Helper()
	srv := testutil.StartServer(t)
	w = testutil.Connect(t, srv, moderator.Name, durableConfig)
	svc, err := moderator.Register(t.Context(), w)
	if err != nil {
		t.Fatal(err)
	}
	toHerald = testutil.NewRecorder()
	if _, err := testutil.Connect(t, srv, herald.Name, durableConfig).On(t.Context(), "notification:*", toHerald); err != nil {
		t.Fatal(err)
	}
	return svc, w, toHerald, testutil.Connect(t, srv, "exprsn-timeline", durableConfig)
}

// submit sends a content event to moderator.
func submit(t *testing.T, source *mesh.Worker, event string, data any) {
	t.Helper()
	if err := source.Emit(t.Context(), event, data, mesh.To(moderator.Name)); err != nil {
		t.Fatal(err)
	}
}

// TestModerate submits one item and a batch and checks what reaches
// herald: a trigger for the item, bulk notifications for the batch.
func TestModerate(t *testing.T) {
	_, _, toHerald, source := start(t)
	submit(t, source, moderator.ContentSubmitted, moderator.Submission{ID: "p1", Author: "ana", Text: "hello"})
	submit(t, source, moderator.ContentBatch, moderator.Batch{Items: []moderator.Submission{
		{ID: "p2", Author: "ben", Text: "spam"},
		{ID: "p3", Author: "ben", Text: "fine"},
	}})

	type sent struct {
		event   string
		trigger herald.Trigger
	}
	from := source.Service()
	want := map[string]sent{
		"p1": {herald.NotificationTrigger, herald.Trigger{Origin: from, UserID: "ana", ContentID: "p1", Message: "your post p1 was approved"}},
		"p2": {herald.NotificationBulk, herald.Trigger{Origin: from, UserID: "ben", ContentID: "p2", Message: "your post p2 was flagged"}},
		"p3": {herald.NotificationBulk, herald.Trigger{Origin: from, UserID: "ben", ContentID: "p3", Message: "your post p3 was approved"}},
	}
	for _, ev := range toHerald.WaitN(t, len(want), 0) {
		var got herald.Trigger
		if err := ev.Decode(&got); err != nil {
			t.Fatal(err)
		}
		if w := want[got.ContentID]; ev.Type != w.event || got != w.trigger {
			t.Errorf("%s %+v, want %s %+v", ev.Type, got, w.event, w.trigger)
		}
		delete(want, got.ContentID)
	}
}

// TestContentWithoutTextIsDeadLettered submits content without text: it
// goes to the dead-letter stream at once, and, re-driven once moderator
// approves empty content, reaches herald.
func TestContentWithoutTextIsDeadLettered(t *testing.T) {
	svc, w, toHerald, source := start(t)
	submit(t, source, moderator.ContentSubmitted, moderator.Submission{ID: "p1", Author: "ana"})

	// A dead letter is stored after its handler returned: wait for it.
	dlq := deadletter.New(w.JetStream(), w.Namespace())
	var letters []deadletter.DeadLetter
	require.Eventually(t, func() bool {
		var err error
		letters, err = dlq.List(t.Context(), moderator.Name, 1, 0)
		return err == nil && len(letters) > 0
	}, testutil.DefaultWait, 10*time.Millisecond)
	require.Len(t, letters, 1)
	dl := letters[0]
	require.Equal(t, "permanent: "+moderator.ErrNoText.Error(), dl.Reason)
	require.Equal(t, uint64(1), dl.Deliveries, "a permanent failure is not retried")
	require.Equal(t, "ipc.exprsn-moderator.content.submitted", dl.Subject)
	require.Zero(t, toHerald.Len(), "nothing went to herald")

	svc.ApproveEmpty(true)
	require.NoError(t, dlq.Redrive(t.Context(), dl.Sequence))
	var got herald.Trigger
	require.NoError(t, toHerald.WaitN(t, 1, 0)[0].Decode(&got))
	require.Equal(t, "your post p1 was approved", got.Message)
	letters, err := dlq.List(t.Context(), moderator.Name, 1, 0)
	require.NoError(t, err)
	require.Empty(t, letters, "a re-driven dead letter is removed")
}
