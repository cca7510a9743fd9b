package meshotel_test

import (
	"context"
	"log"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/mesh/meshotel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// A service traces its worker by passing its Config through Instrument
// before it connects.
func ExampleInstrument() {
	// In a service, the provider exports spans, e.g. with
	// sdktrace.WithBatcher(otlptracegrpc exporter), and has the service's
	// name in its resource.
	tp := sdktrace.NewTracerProvider()
	ctx := context.Background()
	defer tp.Shutdown(ctx)

	cfg := mesh.Config{Service: "exprsn-moderator"}
	meshotel.Instrument(&cfg, meshotel.WithTracerProvider(tp))
	w, err := mesh.Connect(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close(ctx)

	// The handler's ctx holds its span: the emit continues the trace.
	_, err = w.On(ctx, "content:submitted", mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		return mesh.FromContext(ctx).Emit(ctx, "notification:trigger", ev.Data, mesh.To("exprsn-herald"))
	}))
	if err != nil {
		log.Fatal(err)
	}
}

// A batch handler takes no middleware: wrapping its per-event work in
// Middleware gives each event its span, in the event's trace.
func ExampleMiddleware() {
	ctx := context.Background()
	cfg := mesh.Config{Service: "exprsn-herald"}
	meshotel.Instrument(&cfg)
	w, err := mesh.Connect(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close(ctx)

	notify := meshotel.Middleware()(mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		return nil // deliver one notification
	}))
	_, err = w.OnDurableBatch(ctx, "notification:bulk", mesh.BatchHandlerFunc(func(ctx context.Context, events []*mesh.Event) error {
		failed := mesh.BatchErrors{}
		for i, ev := range events {
			if err := notify.HandleEvent(ctx, ev); err != nil {
				failed[i] = err
			}
		}
		if len(failed) > 0 {
			return failed
		}
		return nil
	}))
	if err != nil {
		log.Fatal(err)
	}
}
