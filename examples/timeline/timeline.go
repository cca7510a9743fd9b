// Package timeline is the example posts service, "exprsn-timeline".
//
// Store.CreatePost stores a new post and announces it, in one database
// transaction through a transactional outbox (package outbox): it
// broadcasts post:created to every service and submits the post to
// moderator (content:submitted), which starts the chain timeline ->
// moderator -> herald -> timeline that ends with notification:delivered
// back here. The post and its events are committed together or not at
// all, and the outbox's relay stores the events in the event stream,
// retrying while the mesh is down. Each instance keeps a live feed of
// recent posts from the post:created broadcasts, its own included.
// NewHTTPHandler serves POST /posts and GET /posts/{id}.
//
// CreatePost announces a post that is stored elsewhere, or nowhere,
// directly with Emit; see Store for why a service that stores should not.
package timeline

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/exprsn/ipcmesh/examples/herald"
	"github.com/exprsn/ipcmesh/examples/moderator"
	"github.com/exprsn/ipcmesh/mesh"
)

// Name is the service name of timeline on the mesh.
const Name = "exprsn-timeline"

// PostCreated is broadcast with the Post when a post is created.
const PostCreated = "post:created"

// FeedSize is the number of posts a feed keeps.
const FeedSize = 50

// Post is a post on the timeline.
type Post struct {
	ID     string `json:"id"`
	Author string `json:"author"`
	Text   string `json:"text"`
}

// submission is p as moderator receives it.
func (p Post) submission() moderator.Submission {
	return moderator.Submission{ID: p.ID, Author: p.Author, Text: p.Text}
}

// MaxIDLen is the longest post ID accepted.
const MaxIDLen = 64

// ErrInvalidPost is returned for a post without an author or a text, or
// with an ID longer than MaxIDLen.
var ErrInvalidPost = errors.New("timeline: invalid post")

// newPost checks p and gives it an ID if it has none.
func newPost(p Post) (Post, error) {
	switch {
	case p.Author == "" || p.Text == "":
		return p, fmt.Errorf("%w: it needs an author and a text", ErrInvalidPost)
	case len(p.ID) > MaxIDLen:
		return p, fmt.Errorf("%w: an ID of %d bytes, at most %d", ErrInvalidPost, len(p.ID), MaxIDLen)
	case p.ID == "":
		p.ID = rand.Text()[:10]
	}
	return p, nil
}

// eventID is the CloudEvents id of p's event: the same for every try, so
// that announcing p again is sending the same events again, which the
// event stream stores at most once within its duplicate window (2 minutes
// by default).
func eventID(event string, p Post) string { return event + "/" + p.ID }

// announcement is one event that announces a post.
type announcement struct {
	event string
	data  any
	opts  []mesh.EmitOption
}

// announcements are the events that announce p: post:created to every
// service and content:submitted to moderator, with ids from p's.
func announcements(p Post) []announcement {
	return []announcement{
		{PostCreated, p, []mesh.EmitOption{mesh.WithID(eventID(PostCreated, p))}},
		{moderator.ContentSubmitted, p.submission(),
			[]mesh.EmitOption{mesh.To(moderator.Name), mesh.WithID(eventID(moderator.ContentSubmitted, p))}},
	}
}

// CreatePost announces p with w, without storing it: it broadcasts
// post:created and sends content:submitted to moderator. It gives p an ID
// if it has none and returns it. Both events are tried; the error joins
// their failures. An error matching mesh.ErrUnconfirmed says an event may
// be stored all the same: calling CreatePost again with the returned post
// (its ID set), within the stream's duplicate window, stores each event
// at most once, as its events keep their ids (live handlers may see them
// twice).
//
// A service that stores its posts announces them with Store.CreatePost
// instead: written then announced with CreatePost, a post whose emit
// fails, or whose process dies in between, exists with no event.
func CreatePost(ctx context.Context, w *mesh.Worker, p Post) (Post, error) {
	p, err := newPost(p)
	if err != nil {
		return p, err
	}
	var errs []error
	for _, a := range announcements(p) {
		errs = append(errs, w.Emit(ctx, a.event, a.data, a.opts...))
	}
	return p, errors.Join(errs...)
}

// Service is one instance of timeline and its feed. Its methods are safe
// for concurrent use.
type Service struct {
	mu   sync.Mutex
	feed []Post // newest first
}

// Register makes w keep a feed from post:created and handle
// notification:delivered, and returns the service. It returns once the
// server knows of timeline's handlers, waiting for it until ctx ends (see
// auth.Register).
func Register(ctx context.Context, w *mesh.Worker) (*Service, error) {
	s := &Service{}
	// Every instance keeps its own feed, so it takes every broadcast (the
	// default); mesh.OncePerService would leave the other feeds behind.
	if _, err := w.On(ctx, PostCreated, mesh.Typed(s.addToFeed)); err != nil {
		return nil, err
	}
	if _, err := w.On(ctx, herald.NotificationDelivered, mesh.Typed(authorNotified)); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) addToFeed(_ context.Context, _ *mesh.Event, p Post) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.feed = slices.Insert(s.feed, 0, p)
	if len(s.feed) > FeedSize {
		s.feed = s.feed[:FeedSize]
	}
	return nil
}

// authorNotified ends the chain: herald has told the author about the post.
func authorNotified(ctx context.Context, ev *mesh.Event, d herald.Delivery) error {
	mesh.FromContext(ctx).Logger().Info("author notified", "post", d.ContentID, "user", d.UserID, "by", ev.Source)
	return nil
}

// Feed returns the posts of the feed, newest first.
func (s *Service) Feed() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.feed)
}
