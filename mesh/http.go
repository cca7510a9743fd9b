package mesh

import (
	"context"
	"net/http"
)

type ctxKey struct{}

// NewContext returns a copy of ctx that carries w; FromContext gets it back.
// Handlers' contexts carry their worker already.
func NewContext(ctx context.Context, w *Worker) context.Context {
	return context.WithValue(ctx, ctxKey{}, w)
}

// FromContext returns the worker ctx carries, or nil. It is the Go form of
// the JavaScript req.ipc: HTTP handlers behind HTTPMiddleware, and mesh
// handlers, find their worker with it.
func FromContext(ctx context.Context) *Worker {
	w, _ := ctx.Value(ctxKey{}).(*Worker)
	return w
}

// HTTPMiddleware puts w in each request's context, for handlers that emit.
// Pair it with TryEmit so that a mesh outage never fails the user's
// request, and detach the emit's context from the request's, so that a
// client hanging up does not cancel an event for work already done:
//
//	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 2*time.Second)
//	defer cancel()
//	mesh.FromContext(r.Context()).TryEmit(ctx, "post:created", post)
func (w *Worker) HTTPMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(rw, r.WithContext(NewContext(r.Context(), w)))
	})
}
