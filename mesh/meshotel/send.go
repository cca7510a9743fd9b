package meshotel

import (
	"context"

	"github.com/exprsn/ipcmesh/mesh"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// sendHook is the type of mesh.Config.OnSend.
type sendHook = func(ctx context.Context, s mesh.Send) (done func(err error))

// hook returns an OnSend hook that starts a span for each event sent,
// writes its context into the event, then calls next (if not nil) with the
// span's context. The span ends when the send does, after next's done.
func (t *tracing) hook(next sendHook) sendHook {
	return func(ctx context.Context, s mesh.Send) func(error) {
		ctx, span := t.startSend(ctx, s)
		var nextDone func(error)
		if next != nil {
			nextDone = next(ctx, s)
		}
		return func(err error) {
			if nextDone != nil {
				nextDone(err)
			}
			finish(span, err, false)
		}
	}
}

// startSend starts the span of one event sent and writes its context into
// the event's extensions.
func (t *tracing) startSend(ctx context.Context, s mesh.Send) (context.Context, trace.Span) {
	op, spanKind := sendOperation(s.Kind)
	attrs := append(eventAttributes(s.Event, semconv.MessagingOperationTypeSend, op, 0),
		semconv.MessagingDestinationName(s.Subject))
	ctx, span := t.tracer.Start(ctx, op+" "+s.Event.Type, trace.WithSpanKind(spanKind), trace.WithAttributes(attrs...))
	t.prop.Inject(ctx, carrier{s.Event})
	return ctx, span
}

// sendOperation names the operation of a send and gives its span kind.
func sendOperation(kind mesh.SendKind) (string, trace.SpanKind) {
	switch kind {
	case mesh.SendRequest:
		return "request", trace.SpanKindClient
	case mesh.SendReply:
		return "reply", trace.SpanKindProducer
	default:
		return "send", trace.SpanKindProducer
	}
}
