package meshotel

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the spans this package starts.
const ScopeName = "github.com/exprsn/ipcmesh/mesh/meshotel"

// Option changes how Instrument and Middleware trace.
type Option func(*tracing)

// WithTracerProvider sets where spans go. Default: the global provider
// (otel.GetTracerProvider), read when Instrument or Middleware is called;
// a provider set globally later is still used, as the global provider
// forwards to it. A nil tp keeps the default.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(t *tracing) {
		if tp != nil {
			t.provider = tp
		}
	}
}

// WithPropagator sets how the trace context is written into and read from
// an event's extension attributes. Default: propagation.TraceContext, the
// W3C traceparent and tracestate that the CloudEvents distributed tracing
// extension defines (not the global propagator, which is a no-op unless
// set). Pass a composite with propagation.Baggage to carry baggage too. A
// field whose name cannot be a CloudEvents extension name (lowercase
// letters and digits only, such as B3's "x-b3-traceid") is not written. A
// nil p keeps the default.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(t *tracing) {
		if p != nil {
			t.prop = p
		}
	}
}

// tracing is one configuration of the send hook and the handler middleware.
type tracing struct {
	provider trace.TracerProvider
	prop     propagation.TextMapPropagator
	tracer   trace.Tracer
}

func newTracing(opts []Option) *tracing {
	t := &tracing{provider: otel.GetTracerProvider(), prop: propagation.TraceContext{}}
	for _, opt := range opts {
		opt(t)
	}
	t.tracer = t.provider.Tracer(ScopeName)
	return t
}
