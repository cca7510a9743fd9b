package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/exprsn/ipcmesh/edge"
	"github.com/exprsn/ipcmesh/examples/timeline"
	"github.com/exprsn/ipcmesh/mesh"
)

// PresenceUpdate is the event spark sends to itself, and so to its
// browsers, when a user's contact comes or goes.
const PresenceUpdate = "presence:update"

// Presence is the data of presence:update: For is the user whose browser
// is told that User is Online or not.
type Presence struct {
	For    string `json:"for"`
	User   string `json:"user"`
	Online bool   `json:"online"`
}

//go:embed pages
var pages embed.FS

// emitTimeout bounds the emits of one HTTP request.
const emitTimeout = 2 * time.Second

// app is the two services' browser side on one mux.
type app struct {
	mux              *http.ServeMux
	timeline, spark  *mesh.Worker
	posts, presences *edge.Handler
}

// newApp mounts, for the timeline worker tw and the spark worker sw:
//
//	GET  /timeline/         the page of new posts
//	GET  /timeline/events   post:created, to every browser
//	POST /timeline/posts    {"author": "ana", "text": "hello"}: a new post
//	GET  /spark/?user=ana   ana's presence page
//	GET  /spark/events      presence:update, to the user's browser only
//	POST /spark/presence    {"for": "ana", "user": "ben", "online": true}
func newApp(ctx context.Context, tw, sw *mesh.Worker) (*app, error) {
	a := &app{mux: http.NewServeMux(), timeline: tw, spark: sw}
	var err error
	a.posts, err = edge.New(ctx, tw, edge.Config{Events: []string{timeline.PostCreated}, Authorize: edge.Public})
	if err != nil {
		return nil, err
	}
	a.presences, err = edge.New(ctx, sw, edge.Config{Events: []string{PresenceUpdate}, Authorize: onlyOwnPresence})
	if err != nil {
		return nil, errors.Join(err, a.posts.Close(ctx))
	}
	a.mux.Handle("GET /timeline/", page("pages/timeline.html"))
	a.mux.Handle("GET /timeline/events", a.posts)
	a.mux.HandleFunc("POST /timeline/posts", a.createPost)
	a.mux.Handle("GET /spark/", page("pages/spark.html"))
	a.mux.Handle("GET /spark/events", a.presences)
	a.mux.HandleFunc("POST /spark/presence", a.updatePresence)
	return a, nil
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Close ends the browsers' streams.
func (a *app) Close(ctx context.Context) error {
	return errors.Join(a.posts.Close(ctx), a.presences.Close(ctx))
}

// user is who the request says it is: the "user" query parameter, or else
// the "user" cookie. DEMO ONLY: anyone can claim to be anyone. A real
// service takes the user from its session (a signed cookie or a token it
// verifies), as the auth service's session validation does.
func user(r *http.Request) string {
	if u := r.URL.Query().Get("user"); u != "" {
		return u
	}
	if c, err := r.Cookie("user"); err == nil {
		return c.Value
	}
	return ""
}

// onlyOwnPresence lets a browser see the presence updates meant for its
// user, and refuses a request that names no user.
func onlyOwnPresence(r *http.Request) (edge.Filter, error) {
	u := user(r)
	if u == "" {
		return nil, edge.ErrUnauthorized
	}
	return func(ev *mesh.Event) bool {
		var p Presence
		return ev.Decode(&p) == nil && p.For == u
	}, nil
}

func (a *app) createPost(w http.ResponseWriter, r *http.Request) {
	var p timeline.Post
	if !decodeBody(w, r, &p) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), emitTimeout)
	defer cancel()
	p, err := timeline.CreatePost(ctx, a.timeline, p)
	if errors.Is(err, timeline.ErrInvalidPost) {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	reply(w, p, err)
}

func (a *app) updatePresence(w http.ResponseWriter, r *http.Request) {
	var p Presence
	if !decodeBody(w, r, &p) {
		return
	}
	if p.For == "" || p.User == "" {
		http.Error(w, "presence needs for and user", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), emitTimeout)
	defer cancel()
	reply(w, p, a.spark.Emit(ctx, PresenceUpdate, p, mesh.ToSelf()))
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(v); err != nil {
		http.Error(w, "body is not the expected JSON: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

// reply answers 201 with v, or 503 when its event was not sent.
func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		http.Error(w, "the mesh did not take the event: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(v)
}

func page(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, pages, name)
	})
}
