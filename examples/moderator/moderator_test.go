package moderator_test

import (
	"context"
	"testing"

	"github.com/exprsn/ipcmesh/examples/herald"
	"github.com/exprsn/ipcmesh/examples/moderator"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
)

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

// TestModerate submits one item and a batch from a stand-in for timeline and
// checks what reaches a stand-in for herald.
func TestModerate(t *testing.T) {
	srv := testutil.StartServer(t)
	if err := moderator.Register(testutil.Connect(t, srv, moderator.Name)); err != nil {
		t.Fatal(err)
	}
	triggers := testutil.NewRecorder()
	if _, err := testutil.Connect(t, srv, herald.Name).On(herald.NotificationTrigger, triggers); err != nil {
		t.Fatal(err)
	}
	source := testutil.Connect(t, srv, "exprsn-timeline")
	ctx := context.Background()

	one := moderator.Submission{ID: "p1", Author: "ana", Text: "hello"}
	if err := source.Emit(ctx, moderator.ContentSubmitted, one, mesh.To(moderator.Name)); err != nil {
		t.Fatal(err)
	}
	batch := moderator.Batch{Items: []moderator.Submission{
		{ID: "p2", Author: "ben", Text: "spam"},
		{ID: "p3", Author: "ben", Text: "fine"},
	}}
	if err := source.Emit(ctx, moderator.ContentBatch, batch, mesh.To(moderator.Name)); err != nil {
		t.Fatal(err)
	}

	want := map[string]herald.Trigger{
		"p1": {Origin: source.Service(), UserID: "ana", ContentID: "p1", Message: "your post p1 was approved"},
		"p2": {Origin: source.Service(), UserID: "ben", ContentID: "p2", Message: "your post p2 was flagged"},
		"p3": {Origin: source.Service(), UserID: "ben", ContentID: "p3", Message: "your post p3 was approved"},
	}
	for _, ev := range triggers.WaitN(t, len(want), 0) {
		var got herald.Trigger
		if err := ev.Decode(&got); err != nil {
			t.Fatal(err)
		}
		if got != want[got.ContentID] {
			t.Errorf("trigger %+v, want %+v", got, want[got.ContentID])
		}
		delete(want, got.ContentID)
	}
}
