package meshotel_test

import (
	"context"
	"testing"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/mesh/meshotel"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TestInstrumentKeepsHooksAndMiddleware checks that an OnSend hook and
// middleware set before Instrument still run, inside the spans.
func TestInstrumentKeepsHooksAndMiddleware(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithoutJetStream())
	tr := newTraces()
	type sent struct {
		span        trace.SpanContext
		traceparent string
		err         error
	}
	hooked := make(chan sent, 1)
	handled := make(chan trace.SpanContext, 1)
	cfg := mesh.Config{
		OnSend: func(ctx context.Context, s mesh.Send) func(error) {
			tp, _ := s.Event.Extension("traceparent")
			return func(err error) { hooked <- sent{trace.SpanContextFromContext(ctx), tp, err} }
		},
		Middleware: []mesh.Middleware{func(next mesh.Handler) mesh.Handler {
			return mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
				handled <- trace.SpanContextFromContext(ctx)
				return next.HandleEvent(ctx, ev)
			})
		}},
	}
	w := tr.connect(t, srv, "exprsn-timeline", cfg)
	_, err := w.On(t.Context(), "feed:render", testutil.NewRecorder())
	require.NoError(t, err)
	require.NoError(t, w.Emit(t.Context(), "feed:render", nil, mesh.ToSelf()))

	spans := tr.wait(t, "send feed:render", "process feed:render")
	send, process := one(t, spans["send feed:render"]), one(t, spans["process feed:render"])
	got := <-hooked
	require.NoError(t, got.err)
	require.Equal(t, send.SpanContext(), got.span, "the hook runs in the send span")
	require.Contains(t, got.traceparent, send.SpanContext().SpanID().String(), "and sees the traceparent written")
	require.Equal(t, process.SpanContext(), <-handled, "the middleware runs in the process span")
}

// TestFieldsThatAreNotExtensionNamesAreDropped uses a propagator with a
// field that cannot be a CloudEvents extension name: the event goes out,
// with the fields that can.
func TestFieldsThatAreNotExtensionNamesAreDropped(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithoutJetStream())
	tr := newTraces()
	cfg := mesh.Config{}
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, dashedPropagator{})
	meshotel.Instrument(&cfg, meshotel.WithTracerProvider(tr.provider("exprsn-timeline")), meshotel.WithPropagator(prop))
	w := testutil.Connect(t, srv, "exprsn-timeline", cfg)
	rec := testutil.NewRecorder()
	_, err := w.On(t.Context(), "feed:render", rec)
	require.NoError(t, err)

	require.NoError(t, w.Emit(t.Context(), "feed:render", nil, mesh.ToSelf()))
	ev := rec.WaitN(t, 1, 0)[0]
	require.Len(t, ev.Extensions, 1)
	require.Equal(t, "traceparent", ev.Extensions[0].Name)
}

// dashedPropagator writes a field named like B3's.
type dashedPropagator struct{}

func (dashedPropagator) Inject(_ context.Context, c propagation.TextMapCarrier) {
	c.Set("x-b3-sampled", "1")
}

func (dashedPropagator) Extract(ctx context.Context, _ propagation.TextMapCarrier) context.Context {
	return ctx
}

func (dashedPropagator) Fields() []string { return []string{"x-b3-sampled"} }
