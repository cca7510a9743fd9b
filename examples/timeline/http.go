package timeline

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/exprsn/ipcmesh/mesh"
)

// createResponse is the body of a 201 answer to POST /posts.
type createResponse struct {
	// Post is the post as stored, with the ID the server gave it.
	Post Post `json:"post"`
}

// NewHTTPHandler returns timeline's HTTP API on s, with s's worker in each
// request's context (mesh.Worker.HTTPMiddleware):
//
//	POST /posts {"author": "ana", "text": "hello"} -> 201 {"post": {"id": ..., ...}}
//	GET /posts/{id} -> 200 {"id": ..., "author": ..., "text": ...}, or 404
//	GET /healthz -> 200 "ok", or 503 with why the worker handles no events (w.Healthy)
//
// POST /posts answers 201 once the post and its events are committed
// (Store.CreatePost): the events reach the mesh at once when it is up, and
// once it is back when it is not, so a mesh outage neither fails the
// request nor loses the events. A post without an author or a text gets
// 400; an event the mesh would refuse (a text over the server's
// max_payload) 400 too, and nothing is stored; a database failure 500. A
// request whose client hangs up before the commit creates nothing.
func NewHTTPHandler(s *Store) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /posts", s.serveCreate)
	mux.HandleFunc("GET /posts/{id}", s.servePost)
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		if err := s.w.Healthy(); err != nil {
			http.Error(rw, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = rw.Write([]byte("ok"))
	})
	return s.w.HTTPMiddleware(mux)
}

func (s *Store) serveCreate(rw http.ResponseWriter, r *http.Request) {
	var p Post
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		http.Error(rw, "timeline: body is not a JSON post: "+err.Error(), http.StatusBadRequest)
		return
	}
	p.ID = "" // the server names posts
	p, err := s.CreatePost(r.Context(), p)
	switch {
	case errors.Is(err, ErrInvalidPost), errors.Is(err, mesh.ErrTooLarge):
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	case err != nil:
		s.w.Logger().Error("timeline: create post", "error", err)
		http.Error(rw, "timeline: the post could not be stored", http.StatusInternalServerError)
		return
	}
	s.writeJSON(rw, http.StatusCreated, createResponse{Post: p})
}

func (s *Store) servePost(rw http.ResponseWriter, r *http.Request) {
	p, err := s.Post(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, ErrNoPost):
		http.Error(rw, err.Error(), http.StatusNotFound)
		return
	case err != nil:
		s.w.Logger().Error("timeline: read post", "error", err)
		http.Error(rw, "timeline: the post could not be read", http.StatusInternalServerError)
		return
	}
	s.writeJSON(rw, http.StatusOK, p)
}

// writeJSON answers with status and v as JSON.
func (s *Store) writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	if err := json.NewEncoder(rw).Encode(v); err != nil {
		s.w.Logger().Warn("timeline: write response", "error", err)
	}
}
