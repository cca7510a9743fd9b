package durable

import (
	"context"
	"fmt"
	"sync"
)

// Handler is one registered durable handler: its pattern, its consumer's
// configuration and the hooks its consumer calls.
type Handler[E any] struct {
	Pattern  string
	Config   Config
	Hooks    Hooks[E]
	consumer *Consumer[E] // nil until started
}

// Registry holds a worker's durable handlers by consumer name, and starts
// each one's consumer once the worker is ready. Start and Connected are set
// before use.
type Registry[E any] struct {
	// Start starts a handler's consumer.
	Start func(ctx context.Context, h *Handler[E]) (*Consumer[E], error)
	// Connected reports whether the server is reachable (see
	// Consumer.Stop).
	Connected func() bool

	mu       sync.Mutex
	handlers map[string]*Handler[E]
	ready    bool
}

// Add registers h, unless usable, called under the registry's lock,
// returns an error, or the worker has a handler of h's name. Once the
// worker is ready (see Ready), it starts h's consumer, waiting for the
// server until ctx ends.
func (r *Registry[E]) Add(ctx context.Context, h *Handler[E], usable func() error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := usable()
	if _, dup := r.handlers[h.Config.Name]; err == nil && dup {
		err = fmt.Errorf("this worker already has a durable handler named %q", h.Config.Name)
	}
	if err == nil && r.ready {
		h.consumer, err = r.Start(ctx, h)
	}
	if err != nil {
		return fmt.Errorf("mesh: on durable %q: %w", h.Pattern, err)
	}
	if r.handlers == nil {
		r.handlers = make(map[string]*Handler[E])
	}
	r.handlers[h.Config.Name] = h
	return nil
}

// Ready starts the consumers of the handlers added so far, reporting those
// that fail to start, and calls ready, all under the registry's lock: a
// handler added meanwhile is started either here or by Add.
func (r *Registry[E]) Ready(ctx context.Context, report func(error), ready func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range r.handlers {
		if h.consumer != nil {
			continue
		}
		c, err := r.Start(ctx, h)
		if err != nil {
			report(fmt.Errorf("mesh: on durable %q: %w", h.Pattern, err))
			continue
		}
		h.consumer = c
	}
	r.ready = true
	ready()
}

// Remove stops h in this instance after the events it holds are handled,
// waiting for them until ctx ends, and forgets it; its consumer stays on
// the server.
func (r *Registry[E]) Remove(ctx context.Context, h *Handler[E]) error {
	r.mu.Lock()
	c := h.consumer
	r.mu.Unlock()
	var err error
	if c != nil {
		err = c.Stop(ctx, r.Connected())
	}
	r.mu.Lock()
	if r.handlers[h.Config.Name] == h {
		delete(r.handlers, h.Config.Name)
	}
	r.mu.Unlock()
	return err
}

// Stop stops every handler's consumer, for Close (see Consumer.Stop).
func (r *Registry[E]) Stop(ctx context.Context) error {
	r.mu.Lock()
	var consumers []*Consumer[E]
	for _, h := range r.handlers {
		if h.consumer != nil { // else never started (a background connect)
			consumers = append(consumers, h.consumer)
		}
	}
	r.mu.Unlock()
	for _, c := range consumers {
		if err := c.Stop(ctx, r.Connected()); err != nil {
			return err
		}
	}
	return nil
}
