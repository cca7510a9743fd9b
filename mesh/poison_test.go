package mesh_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/deadletter"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

// poison is a bad message a foreign client may publish on a mesh subject.
type poison struct {
	name       string
	header     nats.Header
	body       string
	wantReason string // in the dead letter's reason
}

var poisons = []poison{
	{name: "not JSON, no headers", body: "hello", wantReason: "not a JSON object"},
	{name: "empty body", body: "", wantReason: "empty"},
	{name: "wrong specversion", body: `{"specversion":"0.3","id":"1","source":"x","type":"t"}`, wantReason: "specversion"},
	{name: "missing id", body: `{"specversion":"1.0","source":"x","type":"t"}`, wantReason: `"id"`},
	{name: "invalid UTF-8", body: "{\"specversion\":\"1.0\",\"id\":\"\xff\",\"source\":\"x\",\"type\":\"t\"}", wantReason: "UTF-8"},
	{name: "truncated", body: `{"specversion":"1.0","id":"1","source":"x","type":"t","data":{"a":`, wantReason: "end of input"},
	{
		name:       "invalid percent-encoding",
		header:     nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"a%zz"}, "ce-source": {"x"}, "ce-type": {"t"}},
		wantReason: "percent",
	},
	{
		name:       "huge header",
		header:     nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"1"}, "ce-source": {"x"}, "ce-type": {"t"}, "ce-time": {strings.Repeat("9", 32<<10)}},
		wantReason: "time",
	},
}

// TestPoisonInputOnTheLivePath publishes each poison raw; each is reported,
// none reaches a handler, and the worker handles the next good event.
func TestPoisonInputOnTheLivePath(t *testing.T) {
	srv := testutil.StartServer(t)
	sink := newErrorSink()
	w := testutil.Connect(t, srv, "exprsn-moderator", mesh.Config{OnError: sink.report})
	rec := on(t, w, "content:>")
	raw, err := nats.Connect(srv.URL())
	require.NoError(t, err)
	defer raw.Close()

	for _, p := range poisons {
		require.NoError(t, raw.PublishMsg(&nats.Msg{Subject: "ipc.exprsn-moderator.content.check", Header: p.header, Data: []byte(p.body)}), p.name)
	}
	require.NoError(t, raw.Flush())
	errs := sink.waitN(t, len(poisons))
	for _, err := range errs {
		require.ErrorIs(t, err, mesh.ErrInvalidMessage)
	}
	require.NoError(t, w.Emit(context.Background(), "content:check", "good", mesh.ToSelf()))
	require.Equal(t, "good", decodeString(t, rec.WaitN(t, 1, 0)[0]))
	require.Equal(t, 1, rec.Len())
	require.Equal(t, uint64(len(poisons)), w.Stats().Invalid)

	// An oversized payload never leaves the foreign client.
	big := make([]byte, raw.MaxPayload()+1)
	require.ErrorIs(t, raw.Publish("ipc.exprsn-moderator.content.check", big), nats.ErrMaxPayload)
}

// TestPoisonInputOnTheDurablePath: each poison stored in the stream is
// dead-lettered with its reason, and the durable handler goes on.
func TestPoisonInputOnTheDurablePath(t *testing.T) {
	srv := testutil.StartServer(t)
	w := testutil.Connect(t, srv, "exprsn-moderator", durableConfig)
	rec := testutil.NewRecorder()
	onDurable(t, w, "content:>", rec)
	raw, err := nats.Connect(srv.URL())
	require.NoError(t, err)
	defer raw.Close()
	for _, p := range poisons {
		require.NoError(t, raw.PublishMsg(&nats.Msg{Subject: "ipc.exprsn-moderator.content.check", Header: p.header, Data: []byte(p.body)}), p.name)
	}
	// Non-JSON data under a JSON content type decodes as an event, and fails
	// in a typed handler: dead-lettered as permanent at the first try.
	typed := testutil.NewRecorder()
	onDurable(t, w, "report:>", mesh.Typed(func(ctx context.Context, ev *mesh.Event, v map[string]any) error {
		return typed.HandleEvent(ctx, ev)
	}))
	require.NoError(t, raw.PublishMsg(&nats.Msg{
		Subject: "ipc.exprsn-moderator.report.filed",
		Header:  nats.Header{"ce-specversion": {"1.0"}, "ce-id": {"r1"}, "ce-source": {"x"}, "ce-type": {"report:filed"}, "Content-Type": {"application/json"}},
		Data:    []byte("not json"),
	}))
	require.NoError(t, w.Emit(context.Background(), "content:check", "good", mesh.ToSelf()))
	require.Equal(t, "good", decodeString(t, rec.WaitN(t, 1, 0)[0]))

	var letters []deadletter.DeadLetter
	require.Eventually(t, func() bool {
		letters, err = deadletter.New(w.JetStream(), w.Namespace()).List(context.Background(), "exprsn-moderator", 1, 0)
		return err == nil && len(letters) == len(poisons)+1
	}, testutil.DefaultWait, 10*time.Millisecond)
	var content []deadletter.DeadLetter
	var report *deadletter.DeadLetter
	for i, dl := range letters {
		if dl.Subject == "ipc.exprsn-moderator.report.filed" {
			report = &letters[i]
		} else {
			content = append(content, dl)
		}
	}
	require.Len(t, content, len(poisons))
	for i, p := range poisons {
		require.Nil(t, content[i].Event, p.name)
		require.Contains(t, content[i].Reason, p.wantReason, p.name)
		require.Equal(t, p.body, string(content[i].Data), "%s: kept unchanged", p.name)
		require.Equal(t, uint64(1), content[i].Deliveries, p.name)
	}
	require.NotNil(t, report)
	require.NotNil(t, report.Event)
	require.Contains(t, report.Reason, "permanent: mesh: decode data")
	require.Zero(t, typed.Len())
	require.Equal(t, 1, rec.Len())
}

func decodeString(t *testing.T, ev *mesh.Event) string {
	t.Helper()
	var s string
	require.NoError(t, ev.Decode(&s))
	return s
}
