// Package moderator is the example content moderation service,
// "exprsn-moderator".
//
// Services submit content to it one item at a time (content:submitted, a
// Submission) or in bulk (content:batch, a Batch). For each item it decides
// whether to approve or flag it and asks herald to tell the author
// (notification:trigger), naming the submitting service as the origin so
// that herald reports the delivery back there.
package moderator

import (
	"context"
	"strings"

	"github.com/exprsn/ipcmesh/examples/herald"
	"github.com/exprsn/ipcmesh/mesh"
)

// Name is the service name of moderator on the mesh.
const Name = "exprsn-moderator"

// Events of moderator.
const (
	// ContentSubmitted submits one Submission for moderation.
	ContentSubmitted = "content:submitted"
	// ContentBatch submits a Batch of submissions at once.
	ContentBatch = "content:batch"
)

// Submission is a piece of content to moderate.
type Submission struct {
	ID     string `json:"id"`
	Author string `json:"author"`
	Text   string `json:"text"`
}

// Batch is the data of content:batch.
type Batch struct {
	Items []Submission `json:"items"`
}

// Verdict is the outcome of moderating a submission.
type Verdict string

// Verdicts.
const (
	Approved Verdict = "approved"
	Flagged  Verdict = "flagged"
)

// Decide is the moderation rule, deliberately trivial: text that mentions
// spam is flagged, anything else approved.
func Decide(text string) Verdict {
	if strings.Contains(strings.ToLower(text), "spam") {
		return Flagged
	}
	return Approved
}

// Register makes w handle moderator's events.
func Register(w *mesh.Worker) error {
	if _, err := w.On(ContentSubmitted, mesh.Typed(moderateOne)); err != nil {
		return err
	}
	_, err := w.On(ContentBatch, mesh.Typed(moderateBatch))
	return err
}

func moderateOne(ctx context.Context, ev *mesh.Event, s Submission) error {
	return moderate(ctx, ev.Source, s)
}

// moderateBatch moderates every item of a batch. It stops at the first
// item it cannot pass on to herald; the handler's error then says which.
func moderateBatch(ctx context.Context, ev *mesh.Event, b Batch) error {
	for _, s := range b.Items {
		if err := moderate(ctx, ev.Source, s); err != nil {
			return err
		}
	}
	return nil
}

// moderate decides on s and asks herald to tell its author, on behalf of
// origin, the service that submitted s.
func moderate(ctx context.Context, origin string, s Submission) error {
	verdict := Decide(s.Text)
	t := herald.Trigger{
		Origin:    origin,
		UserID:    s.Author,
		ContentID: s.ID,
		Message:   "your post " + s.ID + " was " + string(verdict),
	}
	return mesh.FromContext(ctx).Emit(ctx, herald.NotificationTrigger, t, mesh.To(herald.Name))
}
