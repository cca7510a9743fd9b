package meshotel_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/mesh/meshotel"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// TestHandlerFailureIsRecorded checks the process span of a handler that
// fails, and that a panic still reaches the worker with the stack of the
// handler that panicked.
func TestHandlerFailureIsRecorded(t *testing.T) {
	for _, tt := range []struct {
		name      string
		handler   mesh.HandlerFunc
		wantError string
	}{
		{"error", failingHandler, "render failed"},
		{"panic", panickingHandler, "panic: render exploded"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := testutil.StartServer(t, testutil.WithoutJetStream())
			tr := newTraces()
			reported := make(chan error, 1)
			w := tr.connect(t, srv, "exprsn-timeline", mesh.Config{OnError: func(err error) { reported <- err }})
			_, err := w.On(t.Context(), "feed:render", tt.handler)
			require.NoError(t, err)
			require.NoError(t, w.Emit(t.Context(), "feed:render", nil, mesh.ToSelf()))

			span := one(t, tr.wait(t, "process feed:render")["process feed:render"])
			require.Equal(t, codes.Error, span.Status().Code)
			require.Equal(t, tt.wantError, span.Status().Description)
			require.Equal(t, tt.wantError, exception(span))
			require.NotEmpty(t, attr(span, semconv.ErrorTypeKey).AsString())

			var herr *mesh.HandlerError
			select {
			case err := <-reported:
				require.ErrorAs(t, err, &herr)
			case <-time.After(testutil.DefaultWait):
				t.Fatal("the failure was not reported")
			}
			if perr, ok := errors.AsType[*mesh.PanicError](herr); ok {
				require.Contains(t, string(perr.Stack), "panickingHandler", "the reported stack starts where the handler panicked")
			}
		})
	}
}

func failingHandler(context.Context, *mesh.Event) error { return errors.New("render failed") }

func panickingHandler(context.Context, *mesh.Event) error { panic("render exploded") }

// TestDurableSpansHaveDeliveryAttributes fails a durable handler's first
// try: each delivery has its own process span, child of the one send span,
// with the delivery count, the stream sequence and the handler's name.
func TestDurableSpansHaveDeliveryAttributes(t *testing.T) {
	srv := testutil.StartServer(t)
	tr := newTraces()
	w := tr.connect(t, srv, "exprsn-herald", durableConfig)
	var tries atomic.Int32
	_, err := w.OnDurable(t.Context(), "digest:send", mesh.HandlerFunc(func(context.Context, *mesh.Event) error {
		if tries.Add(1) == 1 {
			return errors.New("mail server busy")
		}
		return nil
	}), mesh.DurableName("digests"), mesh.Backoff(time.Millisecond))
	require.NoError(t, err)
	require.NoError(t, w.Emit(t.Context(), "digest:send", nil, mesh.ToSelf()))

	spans := tr.wait(t, "send digest:send", "process digest:send", "process digest:send")
	send, calls := one(t, spans["send digest:send"]), spans["process digest:send"]
	for i, want := range []struct {
		deliveries int64
		status     codes.Code
	}{{1, codes.Error}, {2, codes.Unset}} {
		span := calls[i]
		require.Equal(t, send.SpanContext(), span.Parent().WithRemote(false), "delivery %d", want.deliveries)
		require.Equal(t, trace.SpanKindConsumer, span.SpanKind())
		require.Equal(t, want.deliveries, attr(span, meshotel.AttrDeliveries).AsInt64())
		require.Equal(t, want.status, span.Status().Code)
		require.Equal(t, "digests", attr(span, semconv.MessagingConsumerGroupNameKey).AsString())
	}
	require.Positive(t, attr(calls[0], meshotel.AttrStreamSequence).AsInt64())
	require.Equal(t, attr(calls[0], meshotel.AttrStreamSequence), attr(calls[1], meshotel.AttrStreamSequence))
}

// TestSendFailureIsRecorded checks the spans of sends that fail.
func TestSendFailureIsRecorded(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithoutJetStream())
	tr := newTraces()
	w := tr.connect(t, srv, "exprsn-spark", mesh.Config{})

	err := w.Emit(t.Context(), "media:upload", make([]byte, 2<<20))
	require.ErrorIs(t, err, mesh.ErrTooLarge)
	_, err = w.Request(t.Context(), "exprsn-auth", "session:validate", nil)
	require.ErrorIs(t, err, mesh.ErrNoResponders)

	spans := tr.wait(t, "send media:upload", "request session:validate")
	// The description is the error the hook saw: the sentinel's text for
	// the refused emit, and the request's error, which names the call
	// first ("mesh: request <event> from <service>: <cause>").
	for name, want := range map[string]string{
		"send media:upload":        mesh.ErrTooLarge.Error(),
		"request session:validate": `mesh: request "session:validate" from "exprsn-auth": ` + mesh.ErrNoResponders.Error(),
	} {
		span := one(t, spans[name])
		require.Equal(t, codes.Error, span.Status().Code, name)
		require.True(t, strings.HasPrefix(span.Status().Description, want), "%s: %s", name, span.Status().Description)
	}
}
