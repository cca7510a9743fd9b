// Package jspeer_test runs the JavaScript peer (peer.mjs, on the npm nats
// package) against Go workers on an embedded server, in both directions:
// broadcasts, targeted events, requests and their replies and errors. It
// needs node (20 or later) and `npm ci --prefix examples/jspeer`; with
// -short and without them, it skips.
package jspeer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/conformance"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
)

const (
	jsService = "exprsn-jspeer"
	goService = "exprsn-gopeer"
)

// ctx is a context for one step of a test, ended after testutil.DefaultWait.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	t.Cleanup(cancel)
	return c
}

// session is a validate request as the Go responder reads it.
type session struct {
	Token string `json:"token"`
}

// TestJSPeer runs a Go service and the JavaScript peer on one mesh.
func TestJSPeer(t *testing.T) {
	node := requireNode(t, true)
	srv := testutil.StartServer(t)
	// The Go service creates the event stream, so the peer's emits are
	// stored (with their duplicate key as Nats-Msg-Id) as Go workers' are.
	gw := testutil.Connect(t, srv, goService, mesh.Config{Stream: mesh.StreamConfig{Manage: true}})
	live := testutil.NewRecorder()
	_, err := gw.On(ctx(t), "order:*", live)
	require.NoError(t, err)
	durable := testutil.NewRecorder()
	_, err = gw.OnDurable(ctx(t), "order:shipped", durable)
	require.NoError(t, err)
	_, err = gw.OnRequest(ctx(t), "session:validate", mesh.TypedResponder(func(_ context.Context, _ *mesh.Event, s session) (map[string]any, error) {
		if s.Token != "good" {
			return nil, mesh.NewRemoteError(401, "invalid token")
		}
		return map[string]any{"valid": true, "userId": "ana"}, nil
	}))
	require.NoError(t, err)
	p := startPeer(t, node, srv.URL(), jsService)

	t.Run("js joins the queue groups Go instances use", func(t *testing.T) {
		connz, err := srv.NATS.Connz(&server.ConnzOptions{SubscriptionsDetail: true})
		require.NoError(t, err)
		var subs []server.SubDetail
		for _, c := range connz.Conns {
			if c.Name == jsService {
				subs = append(subs, c.SubsDetail...)
			}
		}
		for _, want := range []struct{ subject, queue string }{
			{"ipc.exprsn-jspeer.notification.trigger", "exprsn-jspeer:notification:trigger"},
			{"ipc.all.notification.trigger", ""},
			{"ipc.exprsn-jspeer.post.created", "exprsn-jspeer:post:created"},
			{"ipc.all.post.created", ""},
			{"ipc.exprsn-jspeer.user.*", "exprsn-jspeer:user:*"},
			{"ipc.all.user.*", ""},
			{"_rpc.ipc.exprsn-jspeer.profile.get", "exprsn-jspeer:profile:get"},
		} {
			assert.True(t, slices.ContainsFunc(subs, func(s server.SubDetail) bool { return s.Subject == want.subject && s.Queue == want.queue }),
				"no subscription %s (queue %q) in %+v", want.subject, want.queue, subs)
		}
	})

	t.Run("go broadcast reaches js", func(t *testing.T) {
		require.NoError(t, gw.Emit(ctx(t), "post:created", map[string]any{"id": "p1", "text": "héllo"}, mesh.WithID("go-bc-1")))
		ev := p.received(t, "go-bc-1")
		assert.Equal(t, goService, ev.Source)
		assert.Equal(t, "post:created", ev.Type)
		assert.Equal(t, "all", ev.Target)
		assert.Equal(t, "ipc.all.post.created", ev.NATSSubject)
		assert.Equal(t, "application/json", ev.DataContentType)
		assert.JSONEq(t, `{"id":"p1","text":"héllo"}`, string(ev.Data))
		when, err := time.Parse(time.RFC3339Nano, ev.Time)
		require.NoError(t, err)
		assert.WithinDuration(t, time.Now(), when, time.Minute)
	})

	t.Run("a js pattern handler gets matching events only", func(t *testing.T) {
		require.NoError(t, gw.Emit(ctx(t), "user:profile:updated", "three segments", mesh.WithID("user-3")))
		require.NoError(t, gw.Emit(ctx(t), "user:login", map[string]string{"userId": "ana"}, mesh.WithID("user-login")))
		require.NoError(t, gw.Emit(ctx(t), "user:logout", map[string]string{"userId": "ana"}, mesh.To(jsService), mesh.WithID("user-logout")))
		assert.Equal(t, "user:login", p.received(t, "user-login").Type)
		assert.Equal(t, jsService, p.received(t, "user-logout").Target)
		// In order from one publisher: user:profile:updated came first and
		// does not match user:*.
		assert.Empty(t, p.all(func(l line) bool { return l.Event != nil && l.Event.ID == "user-3" }))
	})

	t.Run("go targeted event reaches js", func(t *testing.T) {
		require.NoError(t, gw.Emit(ctx(t), "notification:trigger", map[string]string{"userId": "ana"},
			mesh.To(jsService), mesh.WithID("go-t-1"), mesh.WithExtension("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")))
		ev := p.received(t, "go-t-1")
		assert.Equal(t, jsService, ev.Target)
		assert.Equal(t, "ipc.exprsn-jspeer.notification.trigger", ev.NATSSubject)
		assert.Equal(t, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ev.Extensions["traceparent"])
		assert.JSONEq(t, `{"userId":"ana"}`, string(ev.Data))
	})

	t.Run("go binary mode reaches js", func(t *testing.T) {
		bw := testutil.Connect(t, srv, "exprsn-gobinary", mesh.Config{Encoding: codec.Binary})
		require.NoError(t, bw.Emit(ctx(t), "notification:trigger", []byte("raw \x00\xff"), mesh.To(jsService),
			mesh.WithID("go-bin-1"), mesh.WithExtension("note", `Zoë is "100%" sure`)))
		ev := p.received(t, "go-bin-1")
		assert.Equal(t, "exprsn-gobinary", ev.Source)
		assert.Equal(t, `Zoë is "100%" sure`, ev.Extensions["note"], "percent-decoded")
		assert.Equal(t, "application/octet-stream", ev.DataContentType)
		assert.Equal(t, "cmF3IAD/", ev.DataBase64)
	})

	t.Run("js broadcast and targeted events reach go", func(t *testing.T) {
		p.send(t, map[string]any{"cmd": "emit", "tag": "e1", "event": "order:placed", "data": map[string]any{"orderId": 7}})
		p.send(t, map[string]any{"cmd": "emit", "tag": "e2", "event": "order:shipped", "data": map[string]any{"orderId": 7}, "target": goService})
		placed, shipped := p.tagged(t, "e1"), p.tagged(t, "e2")
		require.Equal(t, "emitted", placed.Kind, placed.raw)
		require.Equal(t, "emitted", shipped.Kind, shipped.raw)
		evs := live.WaitFor(t, 0, func(evs []*mesh.Event) bool { return hasID(evs, placed.ID) && hasID(evs, shipped.ID) })
		for _, want := range []struct{ id, typ, target string }{{placed.ID, "order:placed", "all"}, {shipped.ID, "order:shipped", goService}} {
			ev := evs[slices.IndexFunc(evs, func(e *mesh.Event) bool { return e.ID == want.id })]
			assert.Equal(t, jsService, ev.Source)
			assert.Equal(t, want.typ, ev.Type)
			assert.Equal(t, want.target, ev.Target)
			assert.Equal(t, "application/json", ev.DataContentType)
			assert.WithinDuration(t, time.Now(), ev.Time, time.Minute)
			var order struct{ OrderID int }
			require.NoError(t, ev.Decode(&order))
			assert.Equal(t, 7, order.OrderID)
		}
		// The peer saw the stream and stored the targeted event (with its
		// duplicate key as Nats-Msg-Id), so the Go durable handler has it
		// too.
		stored := durable.WaitFor(t, 0, func(evs []*mesh.Event) bool { return hasID(evs, shipped.ID) })
		assert.NotZero(t, stored[slices.IndexFunc(stored, func(e *mesh.Event) bool { return e.ID == shipped.ID })].StreamSequence)
	})

	t.Run("js refuses bad names before sending", func(t *testing.T) {
		p.send(t, map[string]any{"cmd": "emit", "tag": "bad1", "event": "post.created", "data": 1})
		p.send(t, map[string]any{"cmd": "emit", "tag": "bad2", "event": "post:created", "data": 1, "target": "any"})
		bad := p.tagged(t, "bad1")
		assert.Equal(t, "error", bad.Kind)
		assert.Contains(t, bad.Message, `invalid event name "post.created"`)
		bad = p.tagged(t, "bad2")
		assert.Equal(t, "error", bad.Kind)
		assert.Contains(t, bad.Message, `invalid service name "any"`)
	})

	t.Run("go requests and js replies", func(t *testing.T) {
		reply, err := gw.Request(ctx(t), jsService, "profile:get", map[string]string{"userId": "ana"})
		require.NoError(t, err)
		assert.Equal(t, jsService, reply.Source)
		assert.Equal(t, "profile:get", reply.Type)
		var profile struct{ UserID, Name string }
		require.NoError(t, reply.Decode(&profile))
		assert.Equal(t, "Ana", profile.Name)

		for _, tt := range []struct {
			user, message string
			code          int
		}{{"zed", "no user zed", 404}, {"boom", "profile store unavailable", 500}} {
			_, err = gw.Request(ctx(t), jsService, "profile:get", map[string]string{"userId": tt.user})
			var re *mesh.RemoteError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tt.code, re.Code)
			assert.Equal(t, tt.message, re.Message)
			assert.ErrorIs(t, err, mesh.ErrRemote)
		}
	})

	t.Run("js requests and go replies", func(t *testing.T) {
		p.send(t, map[string]any{"cmd": "request", "tag": "r1", "service": goService, "event": "session:validate", "data": session{Token: "good"}})
		r := p.tagged(t, "r1")
		require.Equal(t, "reply", r.Kind, r.raw)
		assert.Equal(t, goService, r.Event.Source)
		assert.Equal(t, "session:validate", r.Event.Type)
		assert.JSONEq(t, `{"valid":true,"userId":"ana"}`, string(r.Event.Data))

		p.send(t, map[string]any{"cmd": "request", "tag": "r2", "service": goService, "event": "session:validate", "data": session{Token: "bad"}})
		r = p.tagged(t, "r2")
		require.Equal(t, "request-error", r.Kind, r.raw)
		assert.Equal(t, "RemoteError", r.Error.Name)
		assert.Equal(t, 401, r.Error.Code)
		assert.Equal(t, "invalid token", r.Error.Message)

		p.send(t, map[string]any{"cmd": "request", "tag": "r3", "service": "exprsn-nobody", "event": "anything:here", "timeout": 10000})
		r = p.tagged(t, "r3")
		require.Equal(t, "request-error", r.Kind, r.raw)
		assert.Equal(t, "NoRespondersError", r.Error.Name)
	})

	t.Run("js refuses what is not a CloudEvent", func(t *testing.T) {
		nc := gw.Conn()
		require.NoError(t, nc.Publish("ipc.exprsn-jspeer.notification.trigger", []byte(`{"specversion":"0.3","id":"x","source":"s","type":"t"}`)))
		l := p.wait(t, "an invalid message", func(l line) bool { return l.Kind == "invalid" })
		assert.Equal(t, "specversion", l.Class)

		msg, err := nc.RequestWithContext(ctx(t), "_rpc.ipc.exprsn-jspeer.profile.get", []byte("not json"))
		require.NoError(t, err)
		assert.Equal(t, "400", msg.Header.Get(micro.ErrorCodeHeader))
		assert.Contains(t, msg.Header.Get(micro.ErrorHeader), "not a valid CloudEvent")
	})

	// Last: a Go instance of the JavaScript service joins its queue groups.
	t.Run("go and js instances of one service share targeted events", func(t *testing.T) {
		twin := testutil.Connect(t, srv, jsService)
		got := testutil.NewRecorder()
		for _, pattern := range []string{"notification:trigger", "post:created"} {
			_, err := twin.On(ctx(t), pattern, got)
			require.NoError(t, err)
		}
		const n = 20
		for i := range n {
			require.NoError(t, gw.Emit(ctx(t), "notification:trigger", i, mesh.To(jsService), mesh.WithID(shareID(i))))
		}
		// Both receive the broadcast after every targeted event meant for
		// them: NATS keeps the order of one publisher's messages.
		require.NoError(t, gw.Emit(ctx(t), "post:created", "marker", mesh.WithID("share-marker")))
		p.received(t, "share-marker")
		got.WaitFor(t, 0, func(evs []*mesh.Event) bool { return hasID(evs, "share-marker") })

		var ids []string
		for _, l := range p.all(func(l line) bool { return l.Event != nil && strings.HasPrefix(l.Event.ID, "share-") }) {
			ids = append(ids, l.Event.ID)
		}
		jsCount := len(ids) - 1
		for _, ev := range got.Events() {
			ids = append(ids, ev.ID)
		}
		var want []string
		for i := range n {
			want = append(want, shareID(i))
		}
		want = append(want, "share-marker", "share-marker")
		assert.ElementsMatch(t, want, ids, "each targeted event once, the broadcast to both")
		t.Logf("JavaScript instance took %d of %d targeted events, Go instance %d", jsCount, n, n-jsCount)
	})

	// After the shared subtest: the JavaScript handler leaves.
	t.Run("js off removes exactly that handler", func(t *testing.T) {
		p.send(t, map[string]any{"cmd": "off", "tag": "off1", "event": "post:created"})
		require.Equal(t, "off", p.tagged(t, "off1").Kind)
		require.NoError(t, gw.Emit(ctx(t), "post:created", "after off", mesh.WithID("off-post")))
		require.NoError(t, gw.Emit(ctx(t), "notification:trigger", "still on", mesh.WithID("off-trigger")))
		// One publisher's messages arrive in order: once the trigger is
		// there, so would the post be.
		p.received(t, "off-trigger")
		assert.Empty(t, p.all(func(l line) bool { return l.Event != nil && l.Event.ID == "off-post" }))
	})
}

// TestJSReplyTarget checks what the JavaScript peer reports of a reply.
// A reply travels on the requester's inbox (_INBOX.<...>, or a private
// prefix such as subjects.InboxPrefix gives), not on a mesh subject, so
// its target cannot be read from its subject: it is the requesting
// service, as mesh.Worker.Request reports it. Issue 11, case 13: the peer
// sliced the inbox subject by the namespace's length and reported "OX".
func TestJSReplyTarget(t *testing.T) {
	node := requireNode(t, true)
	srv := testutil.StartServer(t)
	for _, tt := range []struct {
		name, namespace, inboxPrefix string
	}{
		{"default inbox", "ipc", ""},
		{"private inbox prefix", "ipc", subjects.InboxPrefix(jsService)},
		{"namespace longer than _INBOX", "exprsn-mesh", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mesh.Config{Namespace: tt.namespace}
			gw := testutil.Connect(t, srv, goService, cfg)
			_, err := gw.OnRequest(ctx(t), "session:validate", mesh.TypedResponder(func(_ context.Context, _ *mesh.Event, s session) (map[string]any, error) {
				return map[string]any{"valid": s.Token == "good"}, nil
			}))
			require.NoError(t, err)
			flags := []string{"--namespace", tt.namespace}
			inbox := "_INBOX"
			if tt.inboxPrefix != "" {
				flags = append(flags, "--inbox-prefix", tt.inboxPrefix)
				inbox = tt.inboxPrefix
			}
			p := startPeer(t, node, srv.URL(), jsService, flags...)

			p.send(t, map[string]any{"cmd": "request", "tag": "rt", "service": goService, "event": "session:validate", "data": session{Token: "good"}})
			r := p.tagged(t, "rt")
			require.Equal(t, "reply", r.Kind, r.raw)
			assert.Equal(t, goService, r.Event.Source)
			assert.JSONEq(t, `{"valid":true}`, string(r.Event.Data))
			assert.True(t, strings.HasPrefix(r.Event.NATSSubject, inbox+"."), "the reply came on %q, want an inbox under %s", r.Event.NATSSubject, inbox)
			assert.Equal(t, jsService, r.Event.Target, "a reply's target is the requester")

			// The same request from a Go instance of the service reports
			// the same target.
			twin := testutil.Connect(t, srv, jsService, cfg)
			reply, err := twin.Request(ctx(t), goService, "session:validate", session{Token: "good"})
			require.NoError(t, err)
			assert.Equal(t, reply.Target, r.Event.Target, "the Go requester's view of its reply")
		})
	}
}

// shareID is the id of the i-th targeted event the two instances share.
func shareID(i int) string { return "share-" + string(rune('a'+i)) }

// hasID reports whether evs holds the event with id.
func hasID(evs []*mesh.Event, id string) bool {
	return slices.ContainsFunc(evs, func(e *mesh.Event) bool { return e.ID == id })
}

// TestJSConformance runs the wire-protocol conformance vectors against the
// JavaScript codec, subject mapping and duplicate keys: every vector the Go
// tests run, from the same files.
func TestJSConformance(t *testing.T) {
	node := requireNode(t, false)
	envelopes, err := conformance.Envelopes()
	require.NoError(t, err)
	subjectVectors, err := conformance.Subjects()
	require.NoError(t, err)
	keys, err := conformance.DuplicateKeys()
	require.NoError(t, err)
	out, err := exec.Command(node, "conformance.mjs").CombinedOutput()
	require.NoError(t, err, "%s", out)
	want := fmt.Sprintf("conformance: %d passed, 0 failed", len(envelopes)+len(subjectVectors)+len(keys))
	assert.Contains(t, string(out), want, "the JavaScript run passes every vector of every file")
	t.Logf("%s", out)
}

// TestJSDuplicateKey checks the duplicate key (Nats-Msg-Id) that the
// JavaScript peer and Go workers set on the event stream, derived from
// source and id (issue 11, case 3): the same id emitted by a JavaScript and
// a Go service is two events, both stored and handled, while a retried
// emit of one (source, id) is dropped as a duplicate. With the v1 key, the
// id alone, the stream dropped the Go service's event.
func TestJSDuplicateKey(t *testing.T) {
	node := requireNode(t, true)
	srv := testutil.StartServer(t)
	gw := testutil.Connect(t, srv, goService, mesh.Config{Stream: mesh.StreamConfig{Manage: true}})
	durable := testutil.NewRecorder()
	_, err := gw.OnDurable(ctx(t), "order:paid", durable)
	require.NoError(t, err)
	p := startPeer(t, node, srv.URL(), jsService)

	const id = "order-42-paid"
	emit := func(tag string) line {
		p.send(t, map[string]any{"cmd": "emit", "tag": tag, "event": "order:paid", "target": goService, "id": id, "data": map[string]any{"orderId": 42}})
		l := p.tagged(t, tag)
		require.Equal(t, "emitted", l.Kind, l.raw)
		require.Equal(t, id, l.ID)
		return l
	}

	// The JavaScript service emits first, then the Go service with the
	// same id: both are stored.
	first := emit("js-1")
	assert.Equal(t, subjects.EventStream("ipc"), first.Stream)
	assert.False(t, first.Duplicate)
	goFirst, err := gw.EmitWithReceipt(ctx(t), "order:paid", map[string]any{"orderId": 42}, mesh.To(goService), mesh.WithID(id))
	require.NoError(t, err)
	assert.False(t, goFirst.Duplicate, "the Go service's event was taken for the JavaScript one's")
	assert.Greater(t, goFirst.Sequence, first.Sequence)

	// Each retries: both retries are dropped, with the sequence of the
	// event they repeat.
	retry := emit("js-2")
	assert.True(t, retry.Duplicate, "the JavaScript retry was stored again: %s", retry.raw)
	assert.Equal(t, first.Sequence, retry.Sequence)
	goRetry, err := gw.EmitWithReceipt(ctx(t), "order:paid", map[string]any{"orderId": 42}, mesh.To(goService), mesh.WithID(id))
	require.NoError(t, err)
	assert.True(t, goRetry.Duplicate, "the Go retry was stored again")
	assert.Equal(t, goFirst.Sequence, goRetry.Sequence)

	// The Go durable handler gets both events.
	got := durable.WaitFor(t, 0, func(evs []*mesh.Event) bool { return len(evs) >= 2 })
	var sources []string
	for _, ev := range got {
		assert.Equal(t, id, ev.ID)
		sources = append(sources, ev.Source)
	}
	assert.ElementsMatch(t, []string{jsService, goService}, sources)

	// The stream holds exactly the two, each under the key of its own
	// source and id, as the conformance vectors give it.
	stream, err := gw.JetStream().Stream(ctx(t), subjects.EventStream("ipc"))
	require.NoError(t, err)
	info, err := stream.Info(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, uint64(2), info.State.Msgs)
	for seq, source := range map[uint64]string{first.Sequence: jsService, goFirst.Sequence: goService} {
		msg, err := stream.GetMsg(ctx(t), seq)
		require.NoError(t, err)
		var ev struct{ ID, Source string }
		require.NoError(t, json.Unmarshal(msg.Data, &ev))
		assert.Equal(t, id, ev.ID)
		assert.Equal(t, source, ev.Source)
		assert.Equal(t, subjects.DuplicateKey(source, id), msg.Header.Get(jetstream.MsgIDHeader), "stream sequence %d", seq)
	}
	assert.Len(t, durable.Events(), 2, "a dropped retry reached the handler")
}
