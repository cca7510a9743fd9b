package cesdk_test

import (
	"context"
	"testing"
	"time"

	cenats "github.com/cloudevents/sdk-go/protocol/nats/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/client"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/protocol"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/codec/cesdk"
	"github.com/exprsn/ipcmesh/codec/internal/codectest"
	"github.com/exprsn/ipcmesh/testutil"
)

// TestInteropSDKSender sends events with sdk-go's NATS sender (through a
// cloudevents client), receives them with plain nats.go and decodes them.
func TestInteropSDKSender(t *testing.T) {
	srv := testutil.StartServer(t)
	nc := codectest.Connect(t, srv.URL())
	sub, err := nc.SubscribeSync("interop.sdk")
	require.NoError(t, err)
	require.NoError(t, nc.Flush())

	sender, err := cenats.NewSender(srv.URL(), "interop.sdk", cenats.NatsOptions())
	require.NoError(t, err)
	t.Cleanup(func() { _ = sender.Close(context.Background()) })
	c, err := client.New(sender)
	require.NoError(t, err)

	when := time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)
	newEvent := func() event.Event {
		e := event.New()
		e.SetID("sdk-1")
		e.SetSource("sdk-service")
		e.SetType("post:created")
		return e
	}
	tests := []struct {
		name  string
		build func(e *event.Event)
		want  *codec.Event
	}{
		{
			name: "every attribute, JSON data, typed extensions",
			build: func(e *event.Event) {
				e.SetTime(when)
				e.SetSubject("post/42")
				e.SetDataSchema("https://schemas.exprsn.io/post/created/v1.json")
				e.SetExtension("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
				e.SetExtension("attempt", 3)
				e.SetExtension("replayed", true)
				require.NoError(t, e.SetData(event.ApplicationJSON, map[string]any{"postId": 42, "text": "héllo \"world\""}))
			},
			want: &codec.Event{
				ID: "sdk-1", Source: "sdk-service", Type: "post:created", Time: when, Subject: "post/42",
				DataSchema: "https://schemas.exprsn.io/post/created/v1.json", DataContentType: "application/json",
				Extensions: []codec.Extension{
					{Name: "attempt", Value: "3"}, {Name: "replayed", Value: "true"},
					{Name: "traceparent", Value: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
				},
				Data: []byte(`{"postId":42,"text":"héllo \"world\""}`),
			},
		},
		{
			name:  "text data",
			build: func(e *event.Event) { require.NoError(t, e.SetData(event.TextPlain, "line 1\nline \"2\"")) },
			want:  &codec.Event{ID: "sdk-1", Source: "sdk-service", Type: "post:created", DataContentType: "text/plain", Data: []byte("line 1\nline \"2\"")},
		},
		{
			name: "binary data",
			build: func(e *event.Event) {
				require.NoError(t, e.SetData("application/octet-stream", []byte{0, 1, 0xfe, 0xff}))
			},
			want: &codec.Event{ID: "sdk-1", Source: "sdk-service", Type: "post:created", DataContentType: "application/octet-stream", Data: []byte{0, 1, 0xfe, 0xff}},
		},
		{
			name:  "no data",
			build: func(e *event.Event) {},
			want:  &codec.Event{ID: "sdk-1", Source: "sdk-service", Type: "post:created"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEvent()
			tt.build(&e)
			ctx, cancel := context.WithTimeout(context.Background(), codectest.InteropWait)
			defer cancel()
			res := c.Send(ctx, e)
			require.True(t, protocol.IsACK(res), "send: %v", res)

			msg, err := sub.NextMsg(codectest.InteropWait)
			require.NoError(t, err)
			assert.Empty(t, msg.Header, "sdk-go's NATS sender sends no header")
			var got codec.Event
			require.NoError(t, codec.DecodeMsg(msg, &got), "decode %s", msg.Data)
			assertEvent(t, tt.want, &got, true)
		})
	}
}

// receiveSDK publishes msg and reads it back with sdk-go's NATS receiver.
func receiveSDK(t *testing.T, nc *nats.Conn, r *cenats.Receiver, msg *nats.Msg) (*event.Event, error) {
	t.Helper()
	require.NoError(t, nc.PublishMsg(msg))
	ctx, cancel := context.WithTimeout(context.Background(), codectest.InteropWait)
	defer cancel()
	m, err := r.Receive(ctx)
	require.NoError(t, err)
	return binding.ToEvent(ctx, m)
}

// TestInteropSDKReceiver publishes events encoded here with nats.go and reads
// them with sdk-go's NATS receiver.
func TestInteropSDKReceiver(t *testing.T) {
	srv := testutil.StartServer(t)
	nc := codectest.Connect(t, srv.URL())
	r := cenats.NewReceiver()
	_, err := nc.Subscribe("interop.ours", r.MsgHandler)
	require.NoError(t, err)
	require.NoError(t, nc.Flush())

	for _, tt := range []struct {
		name string
		ev   *codec.Event
	}{
		{name: "full", ev: fullEvent()},
		{name: "minimal", ev: minimalEvent()},
		{name: "text data", ev: &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "text/plain", Data: []byte("plain\n")}},
		{name: "binary data", ev: &codec.Event{ID: "1", Source: "s", Type: "t", DataContentType: "application/octet-stream", Data: []byte{0, 0xff}}},
		{name: "unicode and escapes", ev: &codec.Event{ID: "é€😀", Source: "s", Type: "t", Subject: "\"\\\n\t\x01", Data: []byte(`["é"]`)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msg := nats.NewMsg("interop.ours")
			require.NoError(t, codec.EncodeMsg(msg, tt.ev, codec.Structured))
			e, err := receiveSDK(t, nc, r, msg)
			require.NoError(t, err)
			require.NoError(t, e.Validate())
			assert.Equal(t, tt.ev.ID, e.ID())
			assert.Equal(t, tt.ev.Source, e.Source())
			assert.Equal(t, tt.ev.Type, e.Type())
			got, err := cesdk.FromSDK(*e)
			require.NoError(t, err)
			assertEvent(t, tt.ev, &got, true)
		})
	}

	// sdk-go's NATS binding (protocol/nats/v2) reads every message as
	// structured: it cannot read binary mode, and fails on it.
	t.Run("binary mode is not supported by sdk-go", func(t *testing.T) {
		msg := nats.NewMsg("interop.ours")
		require.NoError(t, codec.EncodeMsg(msg, fullEvent(), codec.Binary))
		_, err := receiveSDK(t, nc, r, msg)
		require.Error(t, err)
		t.Logf("sdk-go on a binary-mode message: %v", err)
	})
}
