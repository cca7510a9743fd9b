// Package moderator is the example content moderation service,
// "exprsn-moderator", a worker that must moderate everything submitted to
// it, including what was submitted while it was down.
//
// Services submit content to it one item at a time (content:submitted, a
// Submission) or in bulk (content:batch, a Batch). Both go to durable
// handlers (mesh.Worker.OnDurable), so a submission waits in the event
// stream until an instance of moderator has handled it, and is retried if
// moderating fails. For each item moderator decides whether to approve or
// flag it and asks herald to tell the author, with notification:trigger for
// a single submission and notification:bulk for the items of a batch,
// naming the submitting service as the origin so that herald reports the
// delivery back there.
//
// Content without text cannot be moderated by these rules. Retrying would
// not change that, so its event fails with mesh.Permanent(ErrNoText) and
// goes to the dead-letter stream at once; once the rules change
// (ApproveEmpty), the dead letter can be re-driven (package deadletter,
// or meshctl dlq). A batch with such an item fails as a whole,
// before any of its items is passed on.
package moderator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

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

// ErrNoText is the permanent failure of content without text, unless
// ApproveEmpty is set.
var ErrNoText = errors.New("moderator: no text to moderate")

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

// Service is one instance of moderator. Its methods are safe for
// concurrent use.
type Service struct {
	approveEmpty atomic.Bool
}

// Register makes w handle moderator's events and returns the service. It
// creates or updates moderator's durable consumers, so w's namespace needs
// its event stream (mesh.StreamConfig).
func Register(ctx context.Context, w *mesh.Worker) (*Service, error) {
	s := &Service{}
	if _, err := w.OnDurable(ctx, ContentSubmitted, mesh.Typed(s.moderateOne)); err != nil {
		return nil, err
	}
	if _, err := w.OnDurable(ctx, ContentBatch, mesh.Typed(s.moderateBatch)); err != nil {
		return nil, err
	}
	return s, nil
}

// ApproveEmpty sets whether content without text is approved. Default:
// false, such content cannot be moderated and fails with ErrNoText.
func (s *Service) ApproveEmpty(approve bool) { s.approveEmpty.Store(approve) }

// verdict moderates sub.
func (s *Service) verdict(sub Submission) (Verdict, error) {
	if strings.TrimSpace(sub.Text) == "" && !s.approveEmpty.Load() {
		return "", mesh.Permanent(ErrNoText)
	}
	return Decide(sub.Text), nil
}

func (s *Service) moderateOne(ctx context.Context, ev *mesh.Event, sub Submission) error {
	v, err := s.verdict(sub)
	if err != nil {
		return err
	}
	return notify(ctx, ev, herald.NotificationTrigger, sub, v)
}

// moderateBatch moderates every item of a batch, then passes the verdicts
// on to herald. An item that cannot be moderated fails the batch before
// anything is sent.
func (s *Service) moderateBatch(ctx context.Context, ev *mesh.Event, b Batch) error {
	verdicts := make([]Verdict, len(b.Items))
	for i, sub := range b.Items {
		v, err := s.verdict(sub)
		if err != nil {
			return fmt.Errorf("item %d (%s): %w", i, sub.ID, err)
		}
		verdicts[i] = v
	}
	// One call stores the triggers in order; if it fails partway, the
	// batch is retried and the triggers already stored are duplicates.
	triggers := make([]mesh.BatchEvent, len(b.Items))
	for i, sub := range b.Items {
		triggers[i] = mesh.BatchEvent{Event: herald.NotificationBulk, Data: trigger(ev, sub, verdicts[i]),
			Options: []mesh.BatchEventOption{mesh.To(herald.Name), mesh.WithID(triggerID(ev, sub))}}
	}
	_, err := mesh.FromContext(ctx).EmitBatch(ctx, triggers)
	return err
}

// notify asks herald, with event, to tell the author of sub the verdict, on
// behalf of the service that submitted it.
func notify(ctx context.Context, submitted *mesh.Event, event string, sub Submission, v Verdict) error {
	return mesh.FromContext(ctx).Emit(ctx, event, trigger(submitted, sub, v), mesh.To(herald.Name), mesh.WithID(triggerID(submitted, sub)))
}

// trigger is herald's trigger telling the author of sub the verdict v.
func trigger(submitted *mesh.Event, sub Submission, v Verdict) herald.Trigger {
	return herald.Trigger{
		Origin:    submitted.Source,
		UserID:    sub.Author,
		ContentID: sub.ID,
		Message:   "your post " + sub.ID + " was " + string(v),
	}
}

// triggerID derives a trigger's id from the submission's, so that when a
// submission is handled again (a retry after some triggers went out, a
// re-drive) the stream drops a repeated trigger as a duplicate, and
// herald's idempotency guard skips one that comes later than the stream's
// duplicate window.
func triggerID(submitted *mesh.Event, sub Submission) string { return submitted.ID + "-" + sub.ID }
