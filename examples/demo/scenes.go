package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"

	"github.com/exprsn/ipcmesh/examples/auth"
	"github.com/exprsn/ipcmesh/examples/herald"
	"github.com/exprsn/ipcmesh/examples/moderator"
	"github.com/exprsn/ipcmesh/examples/spark"
	"github.com/exprsn/ipcmesh/examples/timeline"
	"github.com/exprsn/ipcmesh/mesh"
)

// A scene starts one flow and returns once every handler of the flow has
// run, or with an error when ctx ends first.
type scene struct {
	title string
	play  func(ctx context.Context, c *cast) error
}

var scenes = []scene{
	{"login: auth broadcasts user:login; spark tracks presence, herald catches up once per service", login},
	{"pub/sub: timeline broadcasts post:created to every service that listens", pubSub},
	{"event chain: timeline -> moderator -> herald -> back to timeline", chain},
	{"request and reply: spark asks auth for profiles", requestReply},
	{"bulk: timeline submits three posts to moderator in one content:batch; herald notifies in batches", bulk},
	{"HTTP: POST /posts on timeline's API stores the post and emits its events", httpPost},
	{"offline worker: herald is down while posts are moderated, and catches up when it is back", offline},
	{"dead letters: content moderator cannot moderate is dead-lettered, then re-driven after a fix", deadLetter},
	{"scheduled event: herald nudges an author nobody replied to, 2 s after the post; a reply cancels a nudge", scheduled},
}

func login(ctx context.Context, c *cast) error {
	err := c.tr.await(ctx, func() error {
		_, err := c.auth.Login(ctx, "ana")
		return err
	},
		handled(spark.Name, auth.UserLogin),
		handled(herald.Name, auth.UserLogin), // one of the two instances
	)
	c.tr.printf(row, "spark", "online", "", strings.Join(c.spark.Online(), ", "))
	return err
}

func pubSub(ctx context.Context, c *cast) error {
	posts, disconnect := c.spark.ConnectClient() // a client of spark's live posts
	defer disconnect()
	post := timeline.Post{ID: "p1", Author: "ana", Text: "hello, mesh"}
	err := c.tr.await(ctx, func() error { return c.timelineW.Emit(ctx, timeline.PostCreated, post) },
		handled(spark.Name, timeline.PostCreated),
		handled(timeline.Name, timeline.PostCreated),
	)
	if err != nil {
		return err
	}
	select {
	case p := <-posts:
		c.tr.printf(row, "spark", "pushed live", "", p.ID+" to a connected client")
	case <-ctx.Done():
		return fmt.Errorf("spark's client got no live post: %w", ctx.Err())
	}
	c.tr.printf(row, "timeline", "feed", "", feed(c.timeline.Feed()))
	return nil
}

func chain(ctx context.Context, c *cast) error {
	return c.tr.await(ctx, func() error {
		_, err := timeline.CreatePost(ctx, c.timelineW, timeline.Post{ID: "p2", Author: "ana", Text: "a post to moderate"})
		return err
	}, newPostFlow()...)
}

// newPostFlow is what a new post sets off: the broadcast and the chain.
func newPostFlow() []expect {
	return []expect{
		handled(timeline.Name, timeline.PostCreated),
		handled(spark.Name, timeline.PostCreated),
		handled(moderator.Name, moderator.ContentSubmitted),
		handled(herald.Name, herald.NotificationTrigger),
		handled(timeline.Name, herald.NotificationDelivered),
	}
}

func requestReply(ctx context.Context, c *cast) error {
	var profile auth.Profile
	err := c.tr.await(ctx, func() (err error) {
		profile, err = c.spark.Profile(ctx, "ana")
		return err
	}, handled(auth.Name, auth.ProfileGet))
	if err != nil {
		return err
	}
	reply, err := json.Marshal(profile)
	if err != nil {
		return err
	}
	c.tr.printf(row, "spark", "<- auth reply", auth.ProfileGet, reply)

	var notFound *mesh.RemoteError
	err = c.tr.await(ctx, func() error {
		_, err := c.spark.Profile(ctx, "zoe")
		if !errors.As(err, &notFound) || notFound.Code != 404 {
			return fmt.Errorf("profile of an unknown user: got %v, want a 404 *mesh.RemoteError", err)
		}
		return nil
	}, handled(auth.Name, auth.ProfileGet))
	if err != nil {
		return err
	}
	c.tr.printf(row, "spark", "<- auth error", auth.ProfileGet, fmt.Sprintf("%d %s", notFound.Code, notFound.Message))

	_, err = c.sparkW.Request(ctx, auth.Name, "session:refresh", auth.SessionQuery{Token: "t"})
	if !errors.Is(err, mesh.ErrNoResponders) {
		return fmt.Errorf("a request nobody answers: got %v, want mesh.ErrNoResponders", err)
	}
	c.tr.printf(row, "spark", "<- nobody", "session:refresh", err)
	return nil
}

func bulk(ctx context.Context, c *cast) error {
	batch := moderator.Batch{Items: []moderator.Submission{
		{ID: "p3", Author: "ana", Text: "an old post"},
		{ID: "p4", Author: "ben", Text: "buy cheap spam here"},
		{ID: "p5", Author: "ben", Text: "another old post"},
	}}
	n := len(batch.Items)
	err := c.tr.await(ctx, func() error {
		return c.timelineW.Emit(ctx, moderator.ContentBatch, batch, mesh.To(moderator.Name))
	},
		handled(moderator.Name, moderator.ContentBatch),
		handled(timeline.Name, herald.NotificationDelivered).times(n),
	)
	if err != nil {
		return err
	}
	// Middleware does not wrap batch handlers, so herald's batches have no
	// "handled" line; what each instance delivered shows them.
	for _, h := range c.heralds {
		if ids := delivered(h.svc, "p3", "p4", "p5"); len(ids) > 0 {
			c.tr.printf(row, h.label, "delivered", herald.NotificationBulk, strings.Join(ids, ", "))
		}
	}
	return nil
}

func httpPost(ctx context.Context, c *cast) (err error) {
	// The API stores posts, in a SQLite database, and announces them
	// through its outbox in the same transaction.
	store, err := timeline.OpenStore(ctx, c.timelineW, timeline.StoreConfig{Database: filepath.Join(c.dir, "timeline.db")})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, store.Close(ctx)) }()
	api := timeline.NewHTTPHandler(store)
	return c.tr.await(ctx, func() error {
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/posts", strings.NewReader(`{"author":"ben","text":"posted over HTTP"}`))
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		c.tr.printf(row, "http", "POST /posts", "", fmt.Sprintf("%d %s", rec.Code, strings.TrimSpace(rec.Body.String())))
		if rec.Code != http.StatusCreated {
			return fmt.Errorf("POST /posts: status %d, want %d", rec.Code, http.StatusCreated)
		}
		return nil
	}, newPostFlow()...)
}

// feed lists the IDs of posts.
func feed(posts []timeline.Post) string {
	ids := make([]string, len(posts))
	for i, p := range posts {
		ids[i] = p.ID
	}
	return strings.Join(ids, ", ")
}
