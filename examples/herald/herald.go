// Package herald is the example notification service, "exprsn-herald", a
// background worker whose notifications must not be lost.
//
// Other services send it notification:trigger (a Trigger) to notify a user.
// Herald delivers the notification and answers the service named in the
// trigger's Origin with notification:delivered (a Delivery): the last link
// of the chain timeline -> moderator -> herald -> timeline.
//
// # Durable handling
//
// Triggers go to a durable handler (mesh.Worker.OnDurable). Herald's
// instances share its consumer, so each trigger reaches one of them; a
// trigger is acknowledged once delivered, and retried with backoff when
// delivering fails. While herald is offline, triggers wait in the event
// stream, and when it comes back it delivers every one it missed, in order.
// An idempotency guard (idempotency.Guard) skips a trigger already
// delivered, should the server deliver it again (an acknowledgement lost, a
// re-drive). A trigger that can
// never be delivered, without an origin to answer, fails with
// mesh.Permanent and goes to the dead-letter stream at once.
//
// notification:bulk carries a Trigger too, for senders with many at once
// (moderator, for the items of a content:batch). Herald takes those in
// batches (mesh.Worker.OnDurableBatch), with an outcome per event: the ones
// that failed are retried or dead-lettered one by one, the others are
// acknowledged.
//
// Herald also listens to the broadcast user:login, live and once per
// service rather than once per instance, to deliver what a user missed
// while logged out: that is work to do once, whichever instance does it.
//
// # Nudges: a scheduled notification
//
// Registered with Options.NudgeAfter, herald nudges the author of a post
// that nobody replied to. On each post:created (live, once per service)
// it emits to itself a notification:trigger scheduled NudgeAfter later
// (mesh.After), with the id NudgeID(post): the server keeps it and, at its
// time, delivers it to herald's durable handler like any trigger, which
// notifies the author and answers the post's source. A post:replied for
// the post before then cancels it (mesh.Worker.CancelSchedule with the same
// id), so it never fires. Being live, a post created while every instance
// of herald is down gets no nudge.
package herald

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/exprsn/ipcmesh/examples/auth"
	"github.com/exprsn/ipcmesh/idempotency"
	"github.com/exprsn/ipcmesh/mesh"
)

// Name is the service name of herald on the mesh.
const Name = "exprsn-herald"

// Events of herald.
const (
	// NotificationTrigger asks herald to notify a user, with a Trigger.
	NotificationTrigger = "notification:trigger"
	// NotificationBulk asks herald to notify a user, with a Trigger, as
	// one of many sent at once: herald handles them in batches.
	NotificationBulk = "notification:bulk"
	// NotificationDelivered is sent with a Delivery to the Origin of a
	// trigger once its notification is delivered.
	NotificationDelivered = "notification:delivered"
)

// RecentSize is the number of deliveries Recent keeps.
const RecentSize = 100

// ErrNoOrigin is the permanent failure of a trigger without an origin: no
// one could be told of its delivery.
var ErrNoOrigin = errors.New("herald: a notification trigger needs an origin to answer")

// Trigger is the data of notification:trigger and notification:bulk.
type Trigger struct {
	// Origin is the service to tell when the notification is delivered,
	// usually the one where the content was created.
	Origin string `json:"origin"`
	// UserID is the user to notify.
	UserID string `json:"userId"`
	// ContentID is the content the notification is about.
	ContentID string `json:"contentId"`
	// Message is what the user reads.
	Message string `json:"message"`
}

// Delivery is the data of notification:delivered.
type Delivery struct {
	UserID    string `json:"userId"`
	ContentID string `json:"contentId"`
	Message   string `json:"message"`
}

// Service is one instance of herald and the notifications it delivered.
// Its methods are safe for concurrent use.
type Service struct {
	bulkOne mesh.Handler // one bulk event: notify behind the idempotency guard

	mu     sync.Mutex
	recent []Delivery // oldest first
}

// Options are herald's optional behaviours. The zero value is Register's.
type Options struct {
	// NudgeAfter, if positive, makes herald nudge the author of each new
	// post that nobody replied to within NudgeAfter (see the package doc).
	// w's namespace then needs its schedule stream (streams.Ensure, on
	// nats-server 2.12 or later), and a provisioned herald the schedules
	// permission. Default: 0, no nudges.
	NudgeAfter time.Duration
}

// Register makes w handle herald's events and returns the service. It
// creates or updates herald's durable consumers and the idempotency guard's
// bucket, so w's namespace needs its event stream (mesh.StreamConfig).
func Register(ctx context.Context, w *mesh.Worker) (*Service, error) {
	return RegisterWith(ctx, w, Options{})
}

// RegisterWith is Register with options.
func RegisterWith(ctx context.Context, w *mesh.Worker, o Options) (*Service, error) {
	guard, err := idempotency.Guard(ctx, w, 0)
	if err != nil {
		return nil, err
	}
	s := &Service{}
	if _, err := w.OnDurable(ctx, NotificationTrigger, mesh.Typed(s.notify), mesh.Use(guard)); err != nil {
		return nil, err
	}
	// A batch handler takes no middleware: the guard wraps each event.
	s.bulkOne = guard(mesh.Typed(s.notify))
	if _, err := w.OnDurableBatch(ctx, NotificationBulk, mesh.BatchHandlerFunc(s.notifyBulk)); err != nil {
		return nil, err
	}
	if _, err := w.On(ctx, auth.UserLogin, mesh.Typed(catchUp), mesh.OncePerService()); err != nil {
		return nil, err
	}
	if o.NudgeAfter > 0 {
		if err := registerNudges(ctx, w, o.NudgeAfter); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// notify delivers a notification (here: keeps it in Recent and logs it)
// and reports the delivery back to the trigger's origin. If the report
// cannot be sent, the trigger fails and is retried, delivering it again:
// a user may be notified twice, never not at all.
func (s *Service) notify(ctx context.Context, _ *mesh.Event, t Trigger) error {
	if t.Origin == "" {
		return mesh.Permanent(ErrNoOrigin)
	}
	d := Delivery{UserID: t.UserID, ContentID: t.ContentID, Message: t.Message}
	s.mu.Lock()
	s.recent = append(s.recent, d)
	if len(s.recent) > RecentSize {
		s.recent = slices.Delete(s.recent, 0, len(s.recent)-RecentSize)
	}
	s.mu.Unlock()
	w := mesh.FromContext(ctx)
	w.Logger().Info("notification delivered", "user", t.UserID, "content", t.ContentID, "message", t.Message)
	return w.Emit(ctx, NotificationDelivered, d, mesh.To(t.Origin))
}

// notifyBulk delivers a batch of notification:bulk events and names the
// ones that failed, so that only those are retried or dead-lettered.
func (s *Service) notifyBulk(ctx context.Context, events []*mesh.Event) error {
	failed := mesh.BatchErrors{}
	for i, ev := range events {
		if err := s.bulkOne.HandleEvent(ctx, ev); err != nil {
			failed[i] = err
		}
	}
	if len(failed) > 0 {
		return failed
	}
	return nil
}

// Recent returns the last RecentSize notifications this instance
// delivered, oldest first.
func (s *Service) Recent() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.recent)
}

// catchUp would deliver the notifications a user missed while logged out.
func catchUp(ctx context.Context, _ *mesh.Event, u auth.UserEvent) error {
	mesh.FromContext(ctx).Logger().Info("delivering missed notifications", "user", u.UserID)
	return nil
}
