// Package herald is the example notification service, "exprsn-herald".
//
// Other services send it notification:trigger (a Trigger) to notify a user.
// Herald delivers the notification and answers the service named in the
// trigger's Origin with notification:delivered (a Delivery): the last link
// of the chain timeline -> moderator -> herald -> timeline. Several
// instances share the triggers, each trigger reaching one of them.
//
// Herald also listens to the broadcast user:login, once per service rather
// than once per instance, to deliver what a user missed while logged out:
// that is work to do once, whichever instance does it.
package herald

import (
	"context"
	"errors"

	"github.com/exprsn/ipcmesh/examples/auth"
	"github.com/exprsn/ipcmesh/mesh"
)

// Name is the service name of herald on the mesh.
const Name = "exprsn-herald"

// Events of herald.
const (
	// NotificationTrigger asks herald to notify a user, with a Trigger.
	NotificationTrigger = "notification:trigger"
	// NotificationDelivered is sent with a Delivery to the Origin of a
	// trigger once its notification is delivered.
	NotificationDelivered = "notification:delivered"
)

// Trigger is the data of notification:trigger.
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

// Register makes w handle herald's events.
func Register(w *mesh.Worker) error {
	if _, err := w.On(NotificationTrigger, mesh.Typed(notify)); err != nil {
		return err
	}
	_, err := w.On(auth.UserLogin, mesh.Typed(catchUp), mesh.OncePerService())
	return err
}

// notify delivers a notification (here: logs it) and reports the delivery
// back to the trigger's origin.
func notify(ctx context.Context, _ *mesh.Event, t Trigger) error {
	if t.Origin == "" {
		// Without an origin there is no one to tell; say so in herald's words.
		return errors.New("herald: notification:trigger without an origin to answer")
	}
	w := mesh.FromContext(ctx)
	w.Logger().Info("notification delivered", "user", t.UserID, "content", t.ContentID, "message", t.Message)
	d := Delivery{UserID: t.UserID, ContentID: t.ContentID, Message: t.Message}
	return w.Emit(ctx, NotificationDelivered, d, mesh.To(t.Origin))
}

// catchUp would deliver the notifications a user missed while logged out.
func catchUp(ctx context.Context, _ *mesh.Event, u auth.UserEvent) error {
	mesh.FromContext(ctx).Logger().Info("delivering missed notifications", "user", u.UserID)
	return nil
}
