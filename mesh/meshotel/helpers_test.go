package meshotel_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/mesh/meshotel"
	"github.com/exprsn/ipcmesh/testutil"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// traces records the spans of a test's workers. Each worker gets its own
// tracer provider with its service's name, as a service's process would.
type traces struct {
	rec   *tracetest.SpanRecorder
	ended *endSignal
}

func newTraces() *traces {
	return &traces{rec: tracetest.NewSpanRecorder(), ended: &endSignal{ch: make(chan struct{})}}
}

// provider returns a tracer provider for service whose spans are recorded.
func (tr *traces) provider(service string) trace.TracerProvider {
	return sdktrace.NewTracerProvider(
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(service))),
		// The recorder first: when the signal fires, it holds the span.
		sdktrace.WithSpanProcessor(tr.rec),
		sdktrace.WithSpanProcessor(tr.ended))
}

// connect connects a traced worker for service to srv.
func (tr *traces) connect(t *testing.T, srv *testutil.Server, service string, cfg mesh.Config) *mesh.Worker {
	t.Helper()
	meshotel.Instrument(&cfg, meshotel.WithTracerProvider(tr.provider(service)))
	return testutil.Connect(t, srv, service, cfg)
}

// wait waits until the ended spans include one span for each of names (a
// name given twice wants two spans of that name) and returns the ended
// spans by name, in the order they ended. It fails the test after
// testutil.DefaultWait.
func (tr *traces) wait(t *testing.T, names ...string) map[string][]sdktrace.ReadOnlySpan {
	t.Helper()
	deadline := time.NewTimer(testutil.DefaultWait)
	defer deadline.Stop()
	for {
		next := tr.ended.next()
		byName := map[string][]sdktrace.ReadOnlySpan{}
		for _, s := range tr.rec.Ended() {
			byName[s.Name()] = append(byName[s.Name()], s)
		}
		missing := map[string]int{}
		for _, name := range names {
			missing[name]++
		}
		complete := true
		for name, n := range missing {
			complete = complete && len(byName[name]) >= n
		}
		if complete {
			return byName
		}
		select {
		case <-next:
		case <-deadline.C:
			t.Fatalf("spans %q not all ended within %s; ended: %v", names, testutil.DefaultWait, byName)
		}
	}
}

// endSignal is a span processor that wakes the waiters on every span that
// ends.
type endSignal struct {
	mu sync.Mutex
	ch chan struct{} // closed and replaced when a span ends
}

// next returns a channel closed when the next span ends.
func (s *endSignal) next() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

func (s *endSignal) OnEnd(sdktrace.ReadOnlySpan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.ch)
	s.ch = make(chan struct{})
}

func (*endSignal) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (*endSignal) Shutdown(context.Context) error                  { return nil }
func (*endSignal) ForceFlush(context.Context) error                { return nil }

// attr returns the value of span's attribute key, or an empty value.
func attr(span sdktrace.ReadOnlySpan, key attribute.Key) attribute.Value {
	for _, kv := range span.Attributes() {
		if kv.Key == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// service returns the service.name of the provider that made span.
func service(span sdktrace.ReadOnlySpan) string {
	v, _ := span.Resource().Set().Value(semconv.ServiceNameKey)
	return v.AsString()
}

// one returns the only span of spans, failing the test if there are more.
func one(t *testing.T, spans []sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	t.Helper()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1: %v", len(spans), spans)
	}
	return spans[0]
}

// exception returns the message of span's exception event, or "".
func exception(span sdktrace.ReadOnlySpan) string {
	for _, ev := range span.Events() {
		if ev.Name == semconv.ExceptionEventName {
			for _, kv := range ev.Attributes {
				if kv.Key == semconv.ExceptionMessageKey {
					return kv.Value.AsString()
				}
			}
		}
	}
	return ""
}
