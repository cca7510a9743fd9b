package meshotel

import "github.com/exprsn/ipcmesh/mesh"

// Instrument makes the worker that cfg configures trace every event it
// sends and handles. Call it once, before mesh.Connect:
//
//   - It sets cfg.OnSend to a hook that starts a span for each emit, request
//     and reply and writes the span's context into the event's traceparent
//     and tracestate extensions. An OnSend hook already set is kept: it is
//     called after, with the span's context, and its done func before the
//     span ends.
//   - It puts Middleware first in cfg.Middleware (outermost), so that the
//     handle span covers the other middleware too and they see its context.
//
// A worker whose Config went through Instrument continues the trace of
// every event it handles in the events its handlers send with the
// handler's ctx.
func Instrument(cfg *mesh.Config, opts ...Option) {
	t := newTracing(opts)
	cfg.OnSend = t.hook(cfg.OnSend)
	cfg.Middleware = append([]mesh.Middleware{t.middleware}, cfg.Middleware...)
}
