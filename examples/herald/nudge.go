package herald

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/schedules"
	"github.com/exprsn/ipcmesh/subjects"
)

// Events herald listens to for its nudges (Options.NudgeAfter).
const (
	// PostCreated is timeline's broadcast of a new post, as
	// timeline.PostCreated (herald cannot import timeline, which imports
	// herald). Herald reads a Post from it.
	PostCreated = "post:created"
	// PostReplied is broadcast with a Reply by the service that records
	// replies to posts. It cancels the post's nudge.
	PostReplied = "post:replied"
)

// NudgeMessage is what a nudged author reads.
const NudgeMessage = "nobody has replied to your post yet"

// MaxPostIDLen bounds the post IDs herald takes from post:created and
// post:replied; longer ones are refused.
const MaxPostIDLen = 128

// Post is what herald reads of a post:created: the post's ID and author.
type Post struct {
	ID     string `json:"id"`
	Author string `json:"author"`
}

// Reply is the data of post:replied.
type Reply struct {
	// PostID is the post replied to.
	PostID string `json:"postId"`
	// Author is who replied.
	Author string `json:"author"`
}

// NudgeID is the id of the scheduled notification:trigger that nudges
// the author of post postID; each firing's id is "<NudgeID>@<its time>".
func NudgeID(postID string) string { return "nudge/" + postID }

// registerNudges makes w schedule a nudge, after, for each new post, and
// cancel it on a reply. Each is work for one instance of herald.
func registerNudges(ctx context.Context, w *mesh.Worker, after time.Duration) error {
	schedule := func(ctx context.Context, ev *mesh.Event, p Post) error {
		return scheduleNudge(ctx, ev, p, after)
	}
	if _, err := w.On(ctx, PostCreated, mesh.Typed(schedule), mesh.OncePerService()); err != nil {
		return err
	}
	_, err := w.On(ctx, PostReplied, mesh.Typed(cancelNudge), mesh.OncePerService())
	return err
}

// scheduleNudge schedules the trigger that nudges p's author after, to be
// delivered back to the service that created p.
func scheduleNudge(ctx context.Context, ev *mesh.Event, p Post, after time.Duration) error {
	if err := checkPostID(p.ID); err != nil {
		return err
	}
	if p.Author == "" {
		return mesh.Permanent(fmt.Errorf("herald: post %q has no author to nudge", p.ID))
	}
	if err := subjects.ValidateService(ev.Source); err != nil {
		return mesh.Permanent(fmt.Errorf("herald: post %q: its source cannot be answered: %w", p.ID, err))
	}
	t := Trigger{Origin: ev.Source, UserID: p.Author, ContentID: p.ID, Message: NudgeMessage}
	return mesh.FromContext(ctx).Emit(ctx, NotificationTrigger, t,
		mesh.ToSelf(), mesh.After(after), mesh.WithID(NudgeID(p.ID)))
}

// cancelNudge cancels the nudge of the post replied to, if it is still
// pending: a nudge that fired, or was cancelled by an earlier reply, is
// fine.
func cancelNudge(ctx context.Context, _ *mesh.Event, r Reply) error {
	if err := checkPostID(r.PostID); err != nil {
		return err
	}
	err := mesh.FromContext(ctx).CancelSchedule(ctx, NudgeID(r.PostID))
	if errors.Is(err, schedules.ErrNotFound) {
		return nil
	}
	return err
}

// checkPostID refuses an empty or over-long post ID.
func checkPostID(id string) error {
	if id == "" || len(id) > MaxPostIDLen {
		return mesh.Permanent(fmt.Errorf("herald: post ID of %d bytes: want 1 to %d", len(id), MaxPostIDLen))
	}
	return nil
}
