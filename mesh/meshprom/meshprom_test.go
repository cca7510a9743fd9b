package meshprom_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/mesh/meshprom"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// traffic connects timeline and herald and sends herald events whose
// handlers succeed, fail, panic, succeed on the second try, and fail for
// good, plus a request and a message that is not an event. It waits until
// herald has settled them all and returns a registry holding both workers'
// collectors and the latency of their handlers.
func traffic(t *testing.T) *prometheus.Registry {
	t.Helper()
	srv := testutil.StartServer(t)
	latency := meshprom.NewLatency()
	cfg := mesh.Config{Stream: mesh.StreamConfig{Manage: true}, Middleware: []mesh.Middleware{latency.Middleware()}}
	herald := testutil.Connect(t, srv, "exprsn-herald", cfg)
	timeline := testutil.Connect(t, srv, "exprsn-timeline", cfg)

	ctx := t.Context()
	var tries atomic.Int32
	for _, err := range []error{
		on(ctx, herald, "feed:ok", func() error { return nil }),
		on(ctx, herald, "feed:bad", func() error { return errors.New("bad feed") }),
		on(ctx, herald, "feed:boom", func() error { panic("boom") }),
		onDurable(ctx, herald, "digest:send", "digests", func() error {
			if tries.Add(1) == 1 {
				return errors.New("mail server busy")
			}
			return nil
		}),
		onDurable(ctx, herald, "digest:bad", "bad-digests", func() error { return mesh.Permanent(errors.New("no address")) }),
		func() error {
			_, err := herald.OnRequest(ctx, "session:validate", mesh.ResponderFunc(func(context.Context, *mesh.Event) (any, error) { return true, nil }))
			return err
		}(),
	} {
		require.NoError(t, err)
	}

	for _, event := range []string{"feed:ok", "feed:ok", "feed:ok", "feed:bad", "feed:boom", "digest:send", "digest:bad"} {
		require.NoError(t, timeline.Emit(ctx, event, nil, mesh.To(herald.Service())))
	}
	_, err := timeline.Request(ctx, herald.Service(), "session:validate", nil)
	require.NoError(t, err)
	require.NoError(t, timeline.Conn().Publish("ipc.exprsn-herald.feed.ok", []byte("not an event")))

	// Stats count a call once it returned, after the handler's own effects:
	// wait for the counts.
	require.Eventually(t, func() bool {
		s := herald.Stats()
		return s.Handled == 5 && s.Failed == 4 && s.Invalid == 1 &&
			s.Durable["digests"].Acked == 1 && s.Durable["bad-digests"].DeadLettered == 1
	}, testutil.DefaultWait, 5*time.Millisecond, "herald's counts: %+v", herald.Stats())

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(latency, meshprom.NewCollector(herald), meshprom.NewCollector(timeline))
	return reg
}

func on(ctx context.Context, w *mesh.Worker, pattern string, fn func() error) error {
	_, err := w.On(ctx, pattern, handler(fn))
	return err
}

func onDurable(ctx context.Context, w *mesh.Worker, pattern, name string, fn func() error) error {
	_, err := w.OnDurable(ctx, pattern, handler(fn), mesh.DurableName(name), mesh.Backoff(time.Millisecond))
	return err
}

func handler(fn func() error) mesh.Handler {
	return mesh.HandlerFunc(func(context.Context, *mesh.Event) error { return fn() })
}

func TestCollectorExportsStats(t *testing.T) {
	reg := traffic(t)
	const want = `
# HELP ipcmesh_durable_acked_total Events a durable handler handled and acknowledged, by handler.
# TYPE ipcmesh_durable_acked_total counter
ipcmesh_durable_acked_total{handler="bad-digests",namespace="ipc",service="exprsn-herald"} 0
ipcmesh_durable_acked_total{handler="digests",namespace="ipc",service="exprsn-herald"} 1
# HELP ipcmesh_durable_dead_lettered_total Events a durable handler sent to the dead-letter stream, by handler.
# TYPE ipcmesh_durable_dead_lettered_total counter
ipcmesh_durable_dead_lettered_total{handler="bad-digests",namespace="ipc",service="exprsn-herald"} 1
ipcmesh_durable_dead_lettered_total{handler="digests",namespace="ipc",service="exprsn-herald"} 0
# HELP ipcmesh_durable_redelivered_total Deliveries to a durable handler after the first of an event, by handler.
# TYPE ipcmesh_durable_redelivered_total counter
ipcmesh_durable_redelivered_total{handler="bad-digests",namespace="ipc",service="exprsn-herald"} 0
ipcmesh_durable_redelivered_total{handler="digests",namespace="ipc",service="exprsn-herald"} 1
# HELP ipcmesh_durable_retried_total Failed tries of a durable handler scheduled for redelivery, by handler.
# TYPE ipcmesh_durable_retried_total counter
ipcmesh_durable_retried_total{handler="bad-digests",namespace="ipc",service="exprsn-herald"} 0
ipcmesh_durable_retried_total{handler="digests",namespace="ipc",service="exprsn-herald"} 1
# HELP ipcmesh_durable_terminated_total Events given up after their last try because no dead letter could be stored, by handler.
# TYPE ipcmesh_durable_terminated_total counter
ipcmesh_durable_terminated_total{handler="bad-digests",namespace="ipc",service="exprsn-herald"} 0
ipcmesh_durable_terminated_total{handler="digests",namespace="ipc",service="exprsn-herald"} 0
# HELP ipcmesh_events_emitted_total Events emitted (requests and replies not included), by event name.
# TYPE ipcmesh_events_emitted_total counter
ipcmesh_events_emitted_total{event="digest:bad",namespace="ipc",service="exprsn-herald"} 0
ipcmesh_events_emitted_total{event="digest:bad",namespace="ipc",service="exprsn-timeline"} 1
ipcmesh_events_emitted_total{event="digest:send",namespace="ipc",service="exprsn-herald"} 0
ipcmesh_events_emitted_total{event="digest:send",namespace="ipc",service="exprsn-timeline"} 1
ipcmesh_events_emitted_total{event="feed:bad",namespace="ipc",service="exprsn-herald"} 0
ipcmesh_events_emitted_total{event="feed:bad",namespace="ipc",service="exprsn-timeline"} 1
ipcmesh_events_emitted_total{event="feed:boom",namespace="ipc",service="exprsn-herald"} 0
ipcmesh_events_emitted_total{event="feed:boom",namespace="ipc",service="exprsn-timeline"} 1
ipcmesh_events_emitted_total{event="feed:ok",namespace="ipc",service="exprsn-herald"} 0
ipcmesh_events_emitted_total{event="feed:ok",namespace="ipc",service="exprsn-timeline"} 3
ipcmesh_events_emitted_total{event="session:validate",namespace="ipc",service="exprsn-herald"} 0
# HELP ipcmesh_events_failed_total Handler calls that returned an error or panicked, by event name.
# TYPE ipcmesh_events_failed_total counter
ipcmesh_events_failed_total{event="digest:bad",namespace="ipc",service="exprsn-herald"} 1
ipcmesh_events_failed_total{event="digest:bad",namespace="ipc",service="exprsn-timeline"} 0
ipcmesh_events_failed_total{event="digest:send",namespace="ipc",service="exprsn-herald"} 1
ipcmesh_events_failed_total{event="digest:send",namespace="ipc",service="exprsn-timeline"} 0
ipcmesh_events_failed_total{event="feed:bad",namespace="ipc",service="exprsn-herald"} 1
ipcmesh_events_failed_total{event="feed:bad",namespace="ipc",service="exprsn-timeline"} 0
ipcmesh_events_failed_total{event="feed:boom",namespace="ipc",service="exprsn-herald"} 1
ipcmesh_events_failed_total{event="feed:boom",namespace="ipc",service="exprsn-timeline"} 0
ipcmesh_events_failed_total{event="feed:ok",namespace="ipc",service="exprsn-herald"} 0
ipcmesh_events_failed_total{event="feed:ok",namespace="ipc",service="exprsn-timeline"} 0
ipcmesh_events_failed_total{event="session:validate",namespace="ipc",service="exprsn-herald"} 0
# HELP ipcmesh_events_handled_total Handler calls that succeeded, by event name; an event with two handlers counts twice.
# TYPE ipcmesh_events_handled_total counter
ipcmesh_events_handled_total{event="digest:bad",namespace="ipc",service="exprsn-herald"} 0
ipcmesh_events_handled_total{event="digest:bad",namespace="ipc",service="exprsn-timeline"} 0
ipcmesh_events_handled_total{event="digest:send",namespace="ipc",service="exprsn-herald"} 1
ipcmesh_events_handled_total{event="digest:send",namespace="ipc",service="exprsn-timeline"} 0
ipcmesh_events_handled_total{event="feed:bad",namespace="ipc",service="exprsn-herald"} 0
ipcmesh_events_handled_total{event="feed:bad",namespace="ipc",service="exprsn-timeline"} 0
ipcmesh_events_handled_total{event="feed:boom",namespace="ipc",service="exprsn-herald"} 0
ipcmesh_events_handled_total{event="feed:boom",namespace="ipc",service="exprsn-timeline"} 0
ipcmesh_events_handled_total{event="feed:ok",namespace="ipc",service="exprsn-herald"} 3
ipcmesh_events_handled_total{event="feed:ok",namespace="ipc",service="exprsn-timeline"} 0
ipcmesh_events_handled_total{event="session:validate",namespace="ipc",service="exprsn-herald"} 1
# HELP ipcmesh_events_received_total Valid events delivered to the worker, by event name; a durable handler's redeliveries count again.
# TYPE ipcmesh_events_received_total counter
ipcmesh_events_received_total{event="digest:bad",namespace="ipc",service="exprsn-herald"} 1
ipcmesh_events_received_total{event="digest:bad",namespace="ipc",service="exprsn-timeline"} 0
ipcmesh_events_received_total{event="digest:send",namespace="ipc",service="exprsn-herald"} 2
ipcmesh_events_received_total{event="digest:send",namespace="ipc",service="exprsn-timeline"} 0
ipcmesh_events_received_total{event="feed:bad",namespace="ipc",service="exprsn-herald"} 1
ipcmesh_events_received_total{event="feed:bad",namespace="ipc",service="exprsn-timeline"} 0
ipcmesh_events_received_total{event="feed:boom",namespace="ipc",service="exprsn-herald"} 1
ipcmesh_events_received_total{event="feed:boom",namespace="ipc",service="exprsn-timeline"} 0
ipcmesh_events_received_total{event="feed:ok",namespace="ipc",service="exprsn-herald"} 3
ipcmesh_events_received_total{event="feed:ok",namespace="ipc",service="exprsn-timeline"} 0
ipcmesh_events_received_total{event="session:validate",namespace="ipc",service="exprsn-herald"} 1
# HELP ipcmesh_handler_panics_total Handler calls that panicked (also counted as failed).
# TYPE ipcmesh_handler_panics_total counter
ipcmesh_handler_panics_total{namespace="ipc",service="exprsn-herald"} 1
ipcmesh_handler_panics_total{namespace="ipc",service="exprsn-timeline"} 0
# HELP ipcmesh_handlers_in_flight Handler calls running now.
# TYPE ipcmesh_handlers_in_flight gauge
ipcmesh_handlers_in_flight{namespace="ipc",service="exprsn-herald"} 0
ipcmesh_handlers_in_flight{namespace="ipc",service="exprsn-timeline"} 0
# HELP ipcmesh_invalid_messages_total Messages on mesh subjects that were not valid CloudEvents and reached no handler.
# TYPE ipcmesh_invalid_messages_total counter
ipcmesh_invalid_messages_total{namespace="ipc",service="exprsn-herald"} 1
ipcmesh_invalid_messages_total{namespace="ipc",service="exprsn-timeline"} 0
# HELP ipcmesh_requests_total Requests sent.
# TYPE ipcmesh_requests_total counter
ipcmesh_requests_total{namespace="ipc",service="exprsn-herald"} 0
ipcmesh_requests_total{namespace="ipc",service="exprsn-timeline"} 1
`
	require.NoError(t, promtest.GatherAndCompare(reg, strings.NewReader(want),
		"ipcmesh_durable_acked_total", "ipcmesh_durable_dead_lettered_total", "ipcmesh_durable_redelivered_total",
		"ipcmesh_durable_retried_total", "ipcmesh_durable_terminated_total", "ipcmesh_events_emitted_total", "ipcmesh_events_failed_total",
		"ipcmesh_events_handled_total", "ipcmesh_events_received_total", "ipcmesh_handler_panics_total",
		"ipcmesh_handlers_in_flight", "ipcmesh_invalid_messages_total", "ipcmesh_requests_total"))
}

func TestLatencyCountsEveryCall(t *testing.T) {
	reg := traffic(t)
	families, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]uint64{}
	for _, f := range families {
		if f.GetName() != "ipcmesh_handler_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			got[labels["service"]+" "+labels["event"]+" "+labels["kind"]] = m.GetHistogram().GetSampleCount()
		}
	}
	require.Equal(t, map[string]uint64{
		"exprsn-herald feed:ok live":             3,
		"exprsn-herald feed:bad live":            1,
		"exprsn-herald feed:boom live":           1,
		"exprsn-herald digest:send durable":      2,
		"exprsn-herald digest:bad durable":       1,
		"exprsn-herald session:validate request": 1,
	}, got)
}

// TestInFlight checks the gauge while a handler runs.
func TestInFlight(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithoutJetStream())
	w := testutil.Connect(t, srv, "exprsn-spark")
	started, release := make(chan struct{}), make(chan struct{})
	_, err := w.On(t.Context(), "presence:update", mesh.HandlerFunc(func(context.Context, *mesh.Event) error {
		close(started)
		<-release
		return nil
	}))
	require.NoError(t, err)
	c := meshprom.NewCollector(w, meshprom.WithConstLabels(prometheus.Labels{"instance": "a", "service": "ignored"}))
	require.NoError(t, w.Emit(t.Context(), "presence:update", nil, mesh.ToSelf()))

	select {
	case <-started:
	case <-time.After(testutil.DefaultWait):
		t.Fatal("the handler did not start")
	}
	const want = `
# HELP ipcmesh_handlers_in_flight Handler calls running now.
# TYPE ipcmesh_handlers_in_flight gauge
ipcmesh_handlers_in_flight{instance="a",namespace="ipc",service="exprsn-spark"} 1
`
	err = promtest.CollectAndCompare(c, strings.NewReader(want), "ipcmesh_handlers_in_flight")
	close(release)
	require.NoError(t, err)
}
