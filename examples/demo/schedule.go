package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/exprsn/ipcmesh/examples/herald"
	"github.com/exprsn/ipcmesh/examples/spark"
	"github.com/exprsn/ipcmesh/examples/timeline"
	"github.com/exprsn/ipcmesh/schedules"
)

// nudgeAfter is how long the nudging herald waits for a reply.
const nudgeAfter = 2 * time.Second

// scheduled starts an instance of herald that nudges authors nobody
// replied to, then timeline broadcasts two posts: herald schedules a nudge
// of each, nudgeAfter ahead. A reply to the second cancels its nudge; the
// first's fires at its time, with its scheduledtime extension (the tap's
// line), and herald notifies the author.
func scheduled(ctx context.Context, c *cast) error {
	h, err := c.startHerald(ctx, herald.Options{NudgeAfter: nudgeAfter})
	if err != nil {
		return err
	}
	c.tr.printf(row, h.label, "joined", "", fmt.Sprintf("nudges the authors of posts nobody replied to in %s", nudgeAfter))
	posts := []timeline.Post{{ID: "p10", Author: "ana", Text: "anyone there?"}, {ID: "p11", Author: "ben", Text: "a question"}}
	n := len(posts)
	var posted time.Time
	err = c.tr.await(ctx, func() error {
		posted = time.Now()
		for _, p := range posts {
			if err := c.timelineW.Emit(ctx, timeline.PostCreated, p); err != nil {
				return err
			}
		}
		return nil
	},
		handled(herald.Name, herald.PostCreated).times(n),
		handled(timeline.Name, timeline.PostCreated).times(n),
		handled(spark.Name, timeline.PostCreated).times(n),
	)
	if err != nil {
		return err
	}
	err = c.tr.await(ctx, func() error {
		return c.timelineW.Emit(ctx, herald.PostReplied, herald.Reply{PostID: "p11", Author: "ana"})
	}, handled(herald.Name, herald.PostReplied))
	if err != nil {
		return err
	}
	// The operator lists the namespace's pending schedules (meshctl
	// schedules list): auth's session expiries too.
	pending, err := schedules.List(ctx, c.admin, h.w.Namespace())
	if err != nil {
		return err
	}
	var nudges []string
	for _, s := range pending {
		c.tr.printf(row, short(s.Source), "pending", s.Event,
			fmt.Sprintf("%s to %s at %s", s.ID, short(s.Target), s.At.UTC().Format(time.RFC3339Nano)))
		if s.Source == herald.Name {
			nudges = append(nudges, s.ID)
		}
	}
	if !slices.Equal(nudges, []string{herald.NudgeID("p10")}) {
		return fmt.Errorf("herald's pending schedules %v, want the nudge of p10 alone: the reply cancelled p11's", nudges)
	}

	err = c.tr.await(ctx, func() error { return nil },
		handled(herald.Name, herald.NotificationTrigger),
		handled(timeline.Name, herald.NotificationDelivered),
	)
	if err != nil {
		return err
	}
	after := time.Since(posted)
	if after < nudgeAfter {
		return fmt.Errorf("the nudge fired %s after the post, before its time (%s)", after, nudgeAfter)
	}
	c.tr.printf(row, "herald", "nudged", herald.NotificationTrigger, fmt.Sprintf("ana about p10, %.1fs after the post", after.Seconds()))
	return nil
}
