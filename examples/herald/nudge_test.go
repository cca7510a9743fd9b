package herald_test

import (
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/examples/herald"
	"github.com/exprsn/ipcmesh/examples/timeline"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go/jetstream"
)

// nudgeAfter is the nudges' delay in these tests.
const nudgeAfter = 2 * time.Second

// ofType returns the events of evs of type typ.
func ofType(evs []*mesh.Event, typ string) []*mesh.Event {
	var out []*mesh.Event
	for _, ev := range evs {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// startNudging connects an instance of herald that nudges after
// nudgeAfter, recording the events it handled; and timeline's worker,
// which creates the posts, with a stand-in of timeline that records the
// deliveries.
func startNudging(t *testing.T, srv *testutil.Server) (svc *herald.Service, w *mesh.Worker, handled *testutil.Recorder, tw *mesh.Worker, delivered *testutil.Recorder) {
	t.Helper()
	handled = testutil.NewRecorder()
	cfg := durableConfig
	cfg.Middleware = []mesh.Middleware{handled.Middleware()}
	w = testutil.Connect(t, srv, herald.Name, cfg)
	svc, err := herald.RegisterWith(t.Context(), w, herald.Options{NudgeAfter: nudgeAfter})
	if err != nil {
		t.Fatal(err)
	}
	delivered, _ = standIns(t, srv)
	return svc, w, handled, testutil.Connect(t, srv, timeline.Name, durableConfig), delivered
}

// TestNudgeWhenNobodyReplied creates a post nobody replies to: herald's
// scheduled trigger fires no earlier than nudgeAfter later, with its
// derived id and scheduled time, and herald nudges the author, answering
// timeline.
func TestNudgeWhenNobodyReplied(t *testing.T) {
	srv := testutil.StartServer(t)
	svc, _, handled, tw, delivered := startNudging(t, srv)
	if herald.PostCreated != timeline.PostCreated {
		t.Fatalf("herald listens to %q, timeline broadcasts %q", herald.PostCreated, timeline.PostCreated)
	}

	created := time.Now()
	p, err := timeline.CreatePost(t.Context(), tw, timeline.Post{Author: "ana", Text: "anyone?"})
	if err != nil {
		t.Fatal(err)
	}
	ev := delivered.WaitN(t, 1, 0)[0]
	if early := time.Until(created.Add(nudgeAfter)); early > 0 {
		t.Errorf("nudged %v early", early)
	}
	var d herald.Delivery
	if err := ev.Decode(&d); err != nil {
		t.Fatal(err)
	}
	if want := (herald.Delivery{UserID: "ana", ContentID: p.ID, Message: herald.NudgeMessage}); d != want || ev.Target != timeline.Name {
		t.Errorf("delivered %+v to %s, want %+v to %s", d, ev.Target, want, timeline.Name)
	}
	handled.WaitType(t, herald.NotificationTrigger, 0)
	got := ofType(handled.Events(), herald.NotificationTrigger)
	if len(got) != 1 {
		t.Fatalf("herald got %d triggers, want 1", len(got))
	}
	stamp, ok := got[0].Extension(subjects.ScheduledTimeExtension)
	if !ok || got[0].ID != herald.NudgeID(p.ID)+"@"+stamp || got[0].StreamSequence == 0 {
		t.Errorf("trigger id %q, scheduled time %q (%v), sequence %d: want a durable firing of %s",
			got[0].ID, stamp, ok, got[0].StreamSequence, herald.NudgeID(p.ID))
	}
	if recent := svc.Recent(); len(recent) != 1 || recent[0] != d {
		t.Errorf("herald's recent deliveries %+v, want the nudge", recent)
	}
}

// TestReplyCancelsNudge replies to a post before its nudge is due: the
// nudge is cancelled and never fires. A second post, nudged later than
// the first would have been, marks the end of the wait.
func TestReplyCancelsNudge(t *testing.T) {
	srv := testutil.StartServer(t)
	svc, w, handled, tw, delivered := startNudging(t, srv)
	ctx := t.Context()

	answered, err := timeline.CreatePost(ctx, tw, timeline.Post{Author: "ana", Text: "a question"})
	if err != nil {
		t.Fatal(err)
	}
	handled.WaitType(t, herald.PostCreated, 0)
	if !pendingNudge(t, w, answered.ID) {
		t.Fatalf("no nudge pending for %s", answered.ID)
	}
	// The second reply finds nothing to cancel, which is fine.
	for _, who := range []string{"ben", "cleo"} {
		if err := tw.Emit(ctx, herald.PostReplied, herald.Reply{PostID: answered.ID, Author: who}); err != nil {
			t.Fatal(err)
		}
	}
	handled.WaitFor(t, testutil.DefaultWait, func(evs []*mesh.Event) bool { return len(ofType(evs, herald.PostReplied)) == 2 })
	if pendingNudge(t, w, answered.ID) {
		t.Fatalf("the nudge of %s is still pending after a reply", answered.ID)
	}

	ignored, err := timeline.CreatePost(ctx, tw, timeline.Post{Author: "ben", Text: "another one"})
	if err != nil {
		t.Fatal(err)
	}
	var d herald.Delivery
	if err := delivered.WaitN(t, 1, 0)[0].Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d.ContentID != ignored.ID {
		t.Errorf("nudged about %s, want %s (the answered post's nudge was cancelled)", d.ContentID, ignored.ID)
	}
	// Firings reach the event stream in the order they fire: had the
	// cancelled nudge fired, it would be stored before the second post's.
	if n := storedTriggers(t, w); n != 1 {
		t.Errorf("%d triggers stored, want 1: the cancelled nudge fired", n)
	}
	if got := contents(svc.Recent()); len(got) != 1 || got[0] != ignored.ID {
		t.Errorf("herald delivered %v, want [%s]", got, ignored.ID)
	}
}

// TestNudgeRefusesBadPosts: a post without an author, or with an
// over-long ID, gets no nudge, and the failure is reported.
func TestNudgeRefusesBadPosts(t *testing.T) {
	srv := testutil.StartServer(t)
	failures := make(chan error, 16)
	w := testutil.Connect(t, srv, herald.Name, mesh.Config{Stream: mesh.StreamConfig{Manage: true}, OnError: reportTo(failures)})
	if _, err := herald.RegisterWith(t.Context(), w, herald.Options{NudgeAfter: time.Hour}); err != nil {
		t.Fatal(err)
	}
	tw := testutil.Connect(t, srv, timeline.Name)
	for _, p := range []herald.Post{{ID: "p1"}, {ID: strings.Repeat("x", herald.MaxPostIDLen+1), Author: "ana"}} {
		if err := tw.Emit(t.Context(), herald.PostCreated, p); err != nil {
			t.Fatal(err)
		}
		failure(t, failures, func(err error) bool { return mesh.IsPermanent(err) })
	}
	list, err := w.Schedules(t.Context())
	if err != nil || len(list) != 0 {
		t.Errorf("schedules %+v (%v), want none", list, err)
	}
}

// pendingNudge reports whether the nudge of post postID is pending.
func pendingNudge(t *testing.T, w *mesh.Worker, postID string) bool {
	t.Helper()
	list, err := w.Schedules(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.ID == herald.NudgeID(postID) {
			return true
		}
	}
	return false
}

// storedTriggers counts the triggers to herald the event stream holds.
func storedTriggers(t *testing.T, w *mesh.Worker) uint64 {
	t.Helper()
	subject, err := subjects.Subject("ipc", herald.Name, herald.NotificationTrigger)
	if err != nil {
		t.Fatal(err)
	}
	s, err := w.JetStream().Stream(t.Context(), subjects.EventStream("ipc"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context(), jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects[subject]
}
