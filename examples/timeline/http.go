package timeline

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/exprsn/ipcmesh/examples/moderator"
	"github.com/exprsn/ipcmesh/mesh"
)

// emitTimeout bounds the emits of one HTTP request.
const emitTimeout = 2 * time.Second

// createResponse is the body of a 201 answer to POST /posts.
type createResponse struct {
	Post Post `json:"post"`
	// Announced is true when both events are stored (or sent, without an
	// event stream), false when the mesh did not confirm them within
	// emitTimeout; the post is created anyway. False is not "lost": an
	// emit whose acknowledgement did not come (mesh.ErrUnconfirmed) may
	// be stored all the same, and reach its handlers. The events' ids
	// derive from the post's (eventID), so announcing the post again with
	// those ids is safe: the stream stores each at most once within its
	// duplicate window.
	Announced bool `json:"announced"`
}

// NewHTTPHandler returns timeline's HTTP API, with w in each request's
// context (w.HTTPMiddleware):
//
//	POST /posts {"author": "ana", "text": "hello"} -> 201 {"post": {...}, "announced": true}
//	GET /healthz -> 200 "ok", or 503 with why the worker handles no events (w.Healthy)
//
// A post without an author or a text gets 400. Events are sent with
// TryEmit: when the mesh is down or slow the user still gets 201, with
// announced false, and the failure is logged (with the event's id) and
// counted by the worker. Announced false means "not confirmed": the events
// may be stored all the same (see createResponse); nothing here retries
// them, but a retry with the same ids (CreatePost with the post) is safe.
func NewHTTPHandler(w *mesh.Worker) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /posts", createPost)
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		if err := w.Healthy(); err != nil {
			http.Error(rw, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = rw.Write([]byte("ok"))
	})
	return w.HTTPMiddleware(mux)
}

func createPost(rw http.ResponseWriter, r *http.Request) {
	var p Post
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		http.Error(rw, "timeline: body is not a JSON post: "+err.Error(), http.StatusBadRequest)
		return
	}
	p.ID = "" // the server names posts
	p, err := newPost(p)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	// The post exists now: announce it even if the client hangs up, but
	// never keep the user waiting long on the mesh (an emit waits for the
	// event stream's acknowledgement when the namespace has one).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), emitTimeout)
	defer cancel()
	w := mesh.FromContext(ctx)
	announced := w.TryEmit(ctx, PostCreated, p, mesh.WithID(eventID(PostCreated, p)))
	announced = w.TryEmit(ctx, moderator.ContentSubmitted, p.submission(), mesh.To(moderator.Name),
		mesh.WithID(eventID(moderator.ContentSubmitted, p))) && announced

	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(http.StatusCreated)
	if err := json.NewEncoder(rw).Encode(createResponse{Post: p, Announced: announced}); err != nil {
		w.Logger().Warn("timeline: write response", "error", err)
	}
}
