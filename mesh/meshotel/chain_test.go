package meshotel_test

import (
	"testing"

	"github.com/exprsn/ipcmesh/examples/herald"
	"github.com/exprsn/ipcmesh/examples/moderator"
	"github.com/exprsn/ipcmesh/examples/timeline"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/mesh/meshotel"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// durableConfig makes a worker create the namespace's streams, as the
// example services need.
var durableConfig = mesh.Config{Stream: mesh.StreamConfig{Manage: true}}

// TestChainIsOneTrace runs the example services' chain timeline ->
// moderator -> herald -> timeline, each service with its own tracer
// provider, and follows the trace back from its last span to the span that
// created the post.
func TestChainIsOneTrace(t *testing.T) {
	srv := testutil.StartServer(t)
	tr := newTraces()
	tw := tr.connect(t, srv, timeline.Name, durableConfig)
	_, err := timeline.Register(t.Context(), tw)
	require.NoError(t, err)
	_, err = moderator.Register(t.Context(), tr.connect(t, srv, moderator.Name, durableConfig))
	require.NoError(t, err)
	_, err = herald.Register(t.Context(), tr.connect(t, srv, herald.Name, durableConfig))
	require.NoError(t, err)

	ctx, root := tr.provider("http").Tracer("test").Start(t.Context(), "POST /posts")
	_, err = timeline.CreatePost(ctx, tw, timeline.Post{Author: "ana", Text: "hello"})
	root.End()
	require.NoError(t, err)

	// A handler's span ends after the spans of what it sent, which may end
	// after the next hop's: wait for every hop.
	spans := tr.wait(t, "process notification:delivered", "process notification:trigger",
		"process content:submitted", "process post:created")
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range tr.rec.Ended() {
		require.Equal(t, root.SpanContext().TraceID(), s.SpanContext().TraceID(), "span %s", s.Name())
		byID[s.SpanContext().SpanID()] = s
	}

	type hop struct {
		name    string
		kind    trace.SpanKind
		service string
	}
	want := []hop{
		{"process notification:delivered", trace.SpanKindConsumer, timeline.Name},
		{"send notification:delivered", trace.SpanKindProducer, herald.Name},
		{"process notification:trigger", trace.SpanKindConsumer, herald.Name},
		{"send notification:trigger", trace.SpanKindProducer, moderator.Name},
		{"process content:submitted", trace.SpanKindConsumer, moderator.Name},
		{"send content:submitted", trace.SpanKindProducer, timeline.Name},
		{"POST /posts", trace.SpanKindInternal, "http"},
	}
	var got []hop
	for s := one(t, spans["process notification:delivered"]); s != nil; s = byID[s.Parent().SpanID()] {
		got = append(got, hop{s.Name(), s.SpanKind(), service(s)})
	}
	require.Equal(t, want, got, "the chain from its last span up to its root")

	created := one(t, spans["process post:created"])
	require.Equal(t, "send post:created", byID[created.Parent().SpanID()].Name())
	trigger := one(t, spans["process notification:trigger"])
	require.Equal(t, "ipc.exprsn-herald.notification.trigger", attr(trigger, semconv.MessagingDestinationNameKey).AsString())
	require.Equal(t, int64(1), attr(trigger, meshotel.AttrDeliveries).AsInt64())
}
