package meshotel

import (
	"context"

	"github.com/exprsn/ipcmesh/mesh"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Middleware returns the middleware that Instrument installs: it starts a
// span for each event a handler handles, as the child of the span that sent
// it (read from the event's extensions), and passes the span's context to
// the handler, so that what the handler emits continues the trace.
//
// Instrument installs it for every single-event handler; use Middleware
// itself where Config.Middleware does not reach: around the per-event work
// of a batch handler (mesh.Worker.OnDurableBatch), which takes no
// middleware. Give it the options given to Instrument.
func Middleware(opts ...Option) mesh.Middleware {
	return newTracing(opts).middleware
}

// middleware wraps next in a handle span.
func (t *tracing) middleware(next mesh.Handler) mesh.Handler {
	return mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		ctx, span := t.startHandle(ctx, ev)
		defer func() {
			if v := recover(); v != nil {
				// Recorded with the stack, which still holds the panicking
				// frames, then passed on for the worker to report.
				finish(span, &mesh.PanicError{Value: v}, ev.IsRequest(), trace.WithStackTrace(true))
				panic(v)
			}
		}()
		err := next.HandleEvent(ctx, ev)
		finish(span, err, ev.IsRequest())
		return err
	})
}

// startHandle starts the span of one event handled: "process <event>"
// (consumer) for events, "respond <event>" (server) for requests.
func (t *tracing) startHandle(ctx context.Context, ev *mesh.Event) (context.Context, trace.Span) {
	ctx = t.prop.Extract(ctx, carrier{&ev.Event})
	op, spanKind := "process", trace.SpanKindConsumer
	if ev.IsRequest() {
		op, spanKind = "respond", trace.SpanKindServer
	}
	attrs := append(eventAttributes(&ev.Event, semconv.MessagingOperationTypeProcess, op, 5),
		semconv.MessagingDestinationName(ev.NATSSubject))
	if ev.Handler != "" {
		attrs = append(attrs,
			semconv.MessagingConsumerGroupName(ev.Handler),
			AttrDeliveries.Int64(int64(ev.Deliveries)),
			AttrStreamSequence.Int64(int64(ev.StreamSequence)))
	}
	if ev.Replayed {
		attrs = append(attrs, AttrReplayed.Bool(true))
	}
	return t.tracer.Start(ctx, op+" "+ev.Type, trace.WithSpanKind(spanKind), trace.WithAttributes(attrs...))
}
