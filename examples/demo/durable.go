package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/exprsn/ipcmesh/deadletter"
	"github.com/exprsn/ipcmesh/examples/herald"
	"github.com/exprsn/ipcmesh/examples/moderator"
	"github.com/exprsn/ipcmesh/examples/spark"
	"github.com/exprsn/ipcmesh/examples/timeline"
	"github.com/exprsn/ipcmesh/mesh"
)

// The scenes of durable handlers: what happens when a worker is offline,
// and when an event cannot be handled.

// offline closes herald's instances while timeline creates posts and
// moderator moderates them; herald's triggers wait in the event stream.
// Then one instance of herald starts again and delivers every
// notification it missed, in order, each once; a second instance joins.
func offline(ctx context.Context, c *cast) error {
	if err := c.stopHeralds(ctx); err != nil {
		return err
	}
	c.tr.printf(row, "herald", "offline", "", "both instances closed")
	posts := []timeline.Post{
		{ID: "p6", Author: "ana", Text: "written while herald was down"},
		{ID: "p7", Author: "ben", Text: "also while herald was down"},
		{ID: "p8", Author: "ana", Text: "still down"},
	}
	n := len(posts)
	err := c.tr.await(ctx, func() error {
		for _, p := range posts {
			if _, err := timeline.CreatePost(ctx, c.timelineW, p); err != nil {
				return err
			}
		}
		return nil
	},
		handled(timeline.Name, timeline.PostCreated).times(n),
		handled(spark.Name, timeline.PostCreated).times(n),
		handled(moderator.Name, moderator.ContentSubmitted).times(n),
	)
	if err != nil {
		return err
	}
	c.tr.printf(row, "herald", "offline", herald.NotificationTrigger, fmt.Sprintf("%d wait in the stream", n))

	var h heraldInstance
	err = c.tr.await(ctx, func() (err error) {
		h, err = c.startHerald(ctx, herald.Options{})
		return err
	},
		handled(herald.Name, herald.NotificationTrigger).times(n),
		handled(timeline.Name, herald.NotificationDelivered).times(n),
	)
	if err != nil {
		return err
	}
	got := delivered(h.svc, "p6", "p7", "p8")
	c.tr.printf(row, h.label, "caught up", herald.NotificationTrigger, strings.Join(got, ", "))
	if want := []string{"p6", "p7", "p8"}; !slices.Equal(got, want) {
		return fmt.Errorf("herald caught up with %v, want %v: in order, each once", got, want)
	}
	h, err = c.startHerald(ctx, herald.Options{})
	if err != nil {
		return err
	}
	c.tr.printf(row, h.label, "joined", "", "shares herald's durable handlers")
	return nil
}

// deadLetter submits content without text: moderator fails it with
// mesh.Permanent, so it goes to the dead-letter stream at once. The
// operator lists the dead letter; moderator is "fixed" (it approves empty
// content from now on), and the operator re-drives the dead letter, which
// completes the chain.
func deadLetter(ctx context.Context, c *cast) error {
	empty := moderator.Submission{ID: "p9", Author: "ben"} // from a client that sends no text
	err := c.tr.await(ctx, func() error {
		return c.timelineW.Emit(ctx, moderator.ContentSubmitted, empty, mesh.To(moderator.Name))
	},
		handled(moderator.Name, moderator.ContentSubmitted),
		deadLettered(moderator.Name, moderator.ContentSubmitted),
	)
	if err != nil {
		return err
	}
	// Reading and re-driving dead letters is the operator's (meshctl dlq):
	// a service may write its dead letters, not read them.
	dlq := deadletter.New(c.admin, c.moderatorW.Namespace())
	letters, err := dlq.List(ctx, moderator.Name, 1, 0)
	if err != nil {
		return err
	}
	if len(letters) != 1 || letters[0].Event == nil {
		return fmt.Errorf("dead letters of moderator: %+v, want the submission", letters)
	}
	dl := letters[0]
	c.tr.printf(row, "dlq", fmt.Sprintf("listed #%d", dl.Sequence), dl.Event.Type,
		fmt.Sprintf("reason %q, deliveries %d, was %s #%d", dl.Reason, dl.Deliveries, dl.Subject, dl.StreamSequence))

	c.moderator.ApproveEmpty(true)
	c.tr.printf(row, "moderator", "fixed", "", "approves content without text now")
	err = c.tr.await(ctx, func() error {
		c.tr.printf(row, "dlq", fmt.Sprintf("re-drive #%d", dl.Sequence), "", "to "+short(dl.Service)+" only")
		return dlq.Redrive(ctx, dl.Sequence)
	},
		handled(moderator.Name, moderator.ContentSubmitted),
		handled(herald.Name, herald.NotificationTrigger),
		handled(timeline.Name, herald.NotificationDelivered),
	)
	if err != nil {
		return err
	}
	if letters, err = dlq.List(ctx, moderator.Name, 1, 0); err != nil {
		return err
	}
	c.tr.printf(row, "dlq", "left", "", fmt.Sprintf("%d dead letters of moderator", len(letters)))
	return nil
}

// delivered returns the content IDs among ids of the notifications svc
// delivered, in the order it delivered them.
func delivered(svc *herald.Service, ids ...string) []string {
	var out []string
	for _, d := range svc.Recent() {
		if slices.Contains(ids, d.ContentID) {
			out = append(out, d.ContentID)
		}
	}
	return out
}
