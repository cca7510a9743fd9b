package mesh

import (
	"context"
	"time"
)

// Handler handles events. HandleEvent may be called concurrently, for
// different events, up to its Concurrency at once; ctx is cancelled
// when the handler's Timeout passes or when Close gives up waiting. An error
// or a panic is reported (Config.OnError, logs, Stats) and never stops the
// worker.
type Handler interface {
	HandleEvent(ctx context.Context, ev *Event) error
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, ev *Event) error

// HandleEvent calls f(ctx, ev).
func (f HandlerFunc) HandleEvent(ctx context.Context, ev *Event) error { return f(ctx, ev) }

// Typed adapts a function taking the event's JSON data decoded into T. An
// event whose data does not decode into T fails with the decode error,
// marked Permanent (a retry would not decode either), and fn is not called.
func Typed[T any](fn func(ctx context.Context, ev *Event, data T) error) Handler {
	return HandlerFunc(func(ctx context.Context, ev *Event) error {
		var data T
		if err := ev.Decode(&data); err != nil {
			return Permanent(err)
		}
		return fn(ctx, ev, data)
	})
}

// Middleware wraps a Handler, for cross-cutting work around every event.
type Middleware func(Handler) Handler

// HandlerOption changes how a handler registered with On or OnRequest
// receives events.
type HandlerOption func(*handlerOptions)

type handlerOptions struct {
	oncePerService bool
	timeout        time.Duration
	respond        bool // the handler answers requests (OnRequest)
	concurrency    int
	pending        pendingLimits
	middleware     []Middleware
	durable        durableOptions
}

func newHandlerOptions(opts []HandlerOption) handlerOptions {
	var o handlerOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// OncePerService makes a broadcast reach one instance of this service
// instead of every instance (the default). Use it when the handler's effect
// is per service (writing to the service's database), not per instance
// (updating an in-memory cache). Events targeted at the service reach one
// instance either way.
func OncePerService() HandlerOption {
	return func(o *handlerOptions) { o.oncePerService = true }
}

// Timeout cancels the handler's context after d. Default: no timeout. A
// durable handler whose context ends this way fails and its event is
// retried.
func Timeout(d time.Duration) HandlerOption {
	return func(o *handlerOptions) { o.timeout = d }
}

// Concurrency bounds the calls of this handler running at once in this
// instance. Default: Config.MaxConcurrent for live handlers; 1 for durable
// handlers, which then handle events in stream order.
func Concurrency(n int) HandlerOption {
	return func(o *handlerOptions) { o.concurrency = n }
}

// PendingLimits bounds the live events that wait in the NATS client for
// this handler's subscription while its Concurrency calls are running: msgs
// events or bytes bytes, whichever comes first (-1 for no limit on either).
// Past them the client drops events, counts them in Stats.Dropped and the
// worker reports them (Config.OnError, at most once a second while it goes
// on, with the total). Handlers registered for the same pattern share a
// subscription: the last limits set apply to all of them. Default: the NATS
// client's, 512Ki events or 64 MiB. Durable handlers have no such limit:
// their events wait in the stream.
func PendingLimits(msgs, bytes int) HandlerOption {
	return func(o *handlerOptions) { o.pending = pendingLimits{msgs: msgs, bytes: bytes, set: true} }
}

type pendingLimits struct {
	msgs, bytes int
	set         bool
}

// Use wraps this handler in middleware, inside Config.Middleware, the first
// element outermost.
func Use(mw ...Middleware) HandlerOption {
	return func(o *handlerOptions) { o.middleware = append(o.middleware, mw...) }
}

// wrap applies the worker's and the handler's middleware to h.
func (w *Worker) wrap(h Handler, o handlerOptions) Handler {
	for i := len(o.middleware) - 1; i >= 0; i-- {
		h = o.middleware[i](h)
	}
	for i := len(w.cfg.Middleware) - 1; i >= 0; i-- {
		h = w.cfg.Middleware[i](h)
	}
	return h
}
