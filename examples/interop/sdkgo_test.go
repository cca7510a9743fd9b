// Package interop_test checks the mesh against clients no one here wrote:
// cloudevents sdk-go's NATS and JetStream protocols (this file) and the
// nats command line tool (natscli_test.go). Each sends events in its own
// way that a mesh worker must handle, or receives events a worker emits.
package interop_test

import (
	"context"
	"testing"
	"time"

	cenats "github.com/cloudevents/sdk-go/protocol/nats/v2"
	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/client"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
)

const (
	herald    = "exprsn-herald"
	trigger   = "notification:trigger"
	toHerald  = "ipc.exprsn-herald.notification.trigger"
	traceID   = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	sdkSource = "sdk-service"
)

// sdkEvent is the event sdk-go senders send in these tests.
func sdkEvent(t *testing.T, id string) event.Event {
	e := event.New()
	e.SetID(id)
	e.SetSource(sdkSource)
	e.SetType(trigger)
	e.SetTime(time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC))
	e.SetExtension("traceparent", traceID)
	e.SetExtension("attempt", 3)
	require.NoError(t, e.SetData(event.ApplicationJSON, map[string]string{"userId": "ana"}))
	return e
}

// checkSDKEvent checks that a mesh handler got sdkEvent(id) sent to herald.
func checkSDKEvent(t *testing.T, rec *testutil.Recorder, id string) *mesh.Event {
	t.Helper()
	evs := rec.WaitFor(t, 0, func(evs []*mesh.Event) bool { return byID(evs, id) != nil })
	ev := byID(evs, id)
	assert.Equal(t, sdkSource, ev.Source)
	assert.Equal(t, trigger, ev.Type)
	assert.Equal(t, herald, ev.Target)
	assert.True(t, ev.Time.Equal(time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)), "time %v", ev.Time)
	tp, _ := ev.Extension("traceparent")
	assert.Equal(t, traceID, tp)
	attempt, _ := ev.Extension("attempt")
	assert.Equal(t, "3", attempt)
	var data struct{ UserID string }
	require.NoError(t, ev.Decode(&data))
	assert.Equal(t, "ana", data.UserID)
	return ev
}

// send sends e with c and fails the test unless sdk-go reports it sent.
func send(t *testing.T, ctx context.Context, c client.Client, e event.Event) {
	t.Helper()
	res := c.Send(ctx, e)
	require.True(t, protocol.IsACK(res), "sdk-go send: %v", res)
}

// TestSDKNATSSenderToWorker sends with sdk-go's NATS protocol (structured
// mode, no header) to a live mesh handler.
func TestSDKNATSSenderToWorker(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, herald)
	rec := testutil.NewRecorder()
	_, err := w.On(ctx(t), trigger, rec)
	require.NoError(t, err)

	sender, err := cenats.NewSender(srv.URL(), toHerald, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sender.Close(context.Background()) })
	c, err := client.New(sender)
	require.NoError(t, err)
	send(t, ctx(t), c, sdkEvent(t, "sdk-nats-1"))
	checkSDKEvent(t, rec, "sdk-nats-1")
}

// TestSDKJetStreamSenderToWorker sends with sdk-go's JetStream protocol,
// which writes binary mode by default, to the mesh's event stream: a live
// handler gets each event at once, and a durable handler registered later
// gets it from the stream.
func TestSDKJetStreamSenderToWorker(t *testing.T) {
	srv := testutil.StartServer(t)
	w, refused := heraldWorker(t, srv)
	live := testutil.NewRecorder()
	_, err := w.On(ctx(t), trigger, live)
	require.NoError(t, err)

	// The stream exists (the worker manages it), so the sender uses it.
	sender, err := cejs.NewSender(srv.URL(), subjects.EventStream("ipc"), toHerald, nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sender.Close(context.Background()) })
	c, err := client.New(sender)
	require.NoError(t, err)
	send(t, ctx(t), c, sdkEvent(t, "sdk-js-binary"))
	send(t, binding.WithForceStructured(ctx(t)), c, sdkEvent(t, "sdk-js-structured"))

	checkSDKEvent(t, live, "sdk-js-binary")
	checkSDKEvent(t, live, "sdk-js-structured")

	durable := testutil.NewRecorder()
	_, err = w.OnDurable(ctx(t), trigger, durable, mesh.StartAtFirst())
	require.NoError(t, err)
	for _, id := range []string{"sdk-js-binary", "sdk-js-structured"} {
		assert.NotZero(t, checkSDKEvent(t, durable, id).StreamSequence, "from the stream")
	}

	// sdk-go's JetStream sender does not percent-encode header values: a
	// '%' in one is read as the start of an escape and the event refused
	// (conformance vector binary/percent-bare), by the live handler and
	// the durable one, which dead-letters it.
	e := sdkEvent(t, "sdk-js-percent")
	e.SetSubject("100% sure")
	send(t, ctx(t), c, e)
	for range 2 {
		ce := waitRefused(t, refused)
		assert.Equal(t, "subject", ce.Attribute)
		assert.ErrorIs(t, ce, codec.ErrInvalidAttribute)
	}
}

// post is the data of post:created in these tests.
type post struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// checkMeshEvent checks what sdk-go made of the post:created a worker
// emitted with id.
func checkMeshEvent(t *testing.T, m binding.Message, id string) *event.Event {
	t.Helper()
	got, err := binding.ToEvent(context.Background(), m)
	require.NoError(t, err)
	require.NoError(t, got.Validate())
	assert.Equal(t, id, got.ID())
	assert.Equal(t, "exprsn-timeline", got.Source())
	assert.Equal(t, "post:created", got.Type())
	assert.Equal(t, traceID, got.Extensions()["traceparent"])
	var p post
	require.NoError(t, got.DataAs(&p))
	assert.Equal(t, post{ID: "p1", Text: "héllo"}, p)
	return got
}

// TestWorkerToSDKReceivers emits from a mesh worker and receives with
// sdk-go's NATS receiver (live) and JetStream consumer (from the stream).
func TestWorkerToSDKReceivers(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-timeline", mesh.Config{Stream: mesh.StreamConfig{Manage: true}})
	nc := w.Conn()
	r := cenats.NewReceiver()
	sub, err := nc.Subscribe("ipc.all.post.created", r.MsgHandler)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	require.NoError(t, nc.Flush())

	emit := func(w *mesh.Worker, id string) {
		require.NoError(t, w.Emit(ctx(t), "post:created", post{ID: "p1", Text: "héllo"}, mesh.WithID(id), mesh.WithExtension("traceparent", traceID)))
	}
	emit(w, "mesh-structured")
	m, err := r.Receive(ctx(t))
	require.NoError(t, err)
	got := checkMeshEvent(t, m, "mesh-structured")
	assert.Equal(t, event.ApplicationJSON, got.DataContentType())

	// A worker in binary mode: sdk-go's JetStream consumer reads binary
	// mode, but only a Content-Type header spelled "content-type", so the
	// content type is lost (the data is still there).
	bw := testutil.Connect(t, srv, "exprsn-timeline", mesh.Config{Encoding: codec.Binary})
	emit(bw, "mesh-binary")

	consumer, err := cejs.NewConsumerFromConn(nc, subjects.EventStream("ipc"), "ipc.all.post.created", nil, nil)
	require.NoError(t, err)
	octx, stop := context.WithCancel(context.Background())
	opened := make(chan error, 1)
	go func() { opened <- consumer.OpenInbound(octx) }()
	t.Cleanup(func() {
		stop()
		<-opened
	})
	m, err = consumer.Receive(ctx(t))
	require.NoError(t, err)
	got = checkMeshEvent(t, m, "mesh-structured")
	assert.Equal(t, event.ApplicationJSON, got.DataContentType())
	m, err = consumer.Receive(ctx(t))
	require.NoError(t, err)
	got = checkMeshEvent(t, m, "mesh-binary")
	t.Logf("sdk-go JetStream consumer, mesh binary mode: datacontenttype %q", got.DataContentType())
}
