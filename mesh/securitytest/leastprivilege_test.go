package securitytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/deadletter"
	"github.com/exprsn/ipcmesh/idempotency"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/replay"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// TestServicesWorkUnderLeastPrivilege runs the seed's services with their
// permissions, with the shared and with private reply inboxes: targeted
// events, broadcasts, requests, durable handlers with the idempotency guard
// and dead letters, and the operator's statistics all work.
func TestServicesWorkUnderLeastPrivilege(t *testing.T) {
	for _, private := range []bool{false, true} {
		t.Run(fmt.Sprintf("private inbox %t", private), func(t *testing.T) {
			m := startSecureMesh(t, private)
			ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
			defer cancel()
			deadLetters := make(chan *mesh.Event, 2)
			tl := m.connect(t, timeline, timeline, mesh.Config{})
			he := m.connect(t, herald, herald, mesh.Config{OnDeadLetter: func(ev *mesh.Event, _ string) { deadLetters <- ev }})
			sp := m.connect(t, spark, spark, mesh.Config{})
			au := m.connect(t, auth, auth, mesh.Config{})
			op := m.connect(t, permissions.OperatorName, "meshctl", mesh.Config{})

			targeted, broadcast, durable, logins := testutil.NewRecorder(), testutil.NewRecorder(), testutil.NewRecorder(), testutil.NewRecorder()
			guard, err := idempotency.Guard(ctx, he, 0)
			if err != nil {
				t.Fatal(err)
			}
			poison := mesh.HandlerFunc(func(context.Context, *mesh.Event) error { return mesh.Permanent(errors.New("poison")) })
			for _, err := range []error{
				on(he.On(ctx, "notification:trigger", targeted)),
				on(sp.On(ctx, "post:created", broadcast)),
				on(he.On(ctx, "user:login", logins, mesh.OncePerService())),
				on(he.OnDurable(ctx, "notification:queued", durable, mesh.Use(guard))),
				on(he.OnDurable(ctx, "notification:poison", poison)),
				on(au.OnRequest(ctx, "session:validate", mesh.ResponderFunc(func(context.Context, *mesh.Event) (any, error) {
					return map[string]bool{"valid": true}, nil
				}))),
			} {
				if err != nil {
					t.Fatal(err)
				}
			}

			for _, emit := range []struct {
				event string
				opts  []mesh.EmitOption
			}{
				{"notification:trigger", []mesh.EmitOption{mesh.To(herald)}},
				{"post:created", nil},
				{"notification:queued", []mesh.EmitOption{mesh.To(herald)}},
				{"notification:poison", []mesh.EmitOption{mesh.To(herald)}},
			} {
				if err := tl.Emit(ctx, emit.event, nil, emit.opts...); err != nil {
					t.Fatalf("emit %s: %v", emit.event, err)
				}
			}
			// A fast batch's answers come to the service's own inbox.
			batch := []mesh.BatchEvent{{Event: "post:created", Data: 1}, {Event: "post:created", Data: 2}}
			if _, err := tl.EmitBatch(ctx, batch); err != nil {
				t.Fatalf("emit batch: %v", err)
			}
			if err := au.Emit(ctx, "user:login", nil); err != nil {
				t.Fatal(err)
			}
			logins.WaitType(t, "user:login", 0)
			targeted.WaitType(t, "notification:trigger", 0)
			broadcast.WaitN(t, 3, 0)
			durable.WaitType(t, "notification:queued", 0)

			reply, err := tl.Request(ctx, auth, "session:validate", nil)
			if err != nil || !strings.Contains(string(reply.Data), "true") {
				t.Fatalf("request: %v, %v", reply, err)
			}

			operatorWorks(ctx, t, op, deadLetters, targeted)
		})
	}
}

// operatorWorks checks that the operator sees the dead letter that herald
// reports on deadLetters and re-drives it, sees the idempotency guard's
// record, replays the targeted event to herald (whose handler records it on
// targeted), and gathers statistics.
func operatorWorks(ctx context.Context, t *testing.T, op *mesh.Worker, deadLetters <-chan *mesh.Event, targeted *testutil.Recorder) {
	t.Helper()
	ev := nextDeadLetter(ctx, t, deadLetters)
	dlq := deadletter.New(op.JetStream(), op.Namespace())
	list, err := dlq.List(ctx, herald, 1, 0)
	if err != nil || len(list) != 1 || list[0].Event == nil || list[0].Event.ID != ev.ID {
		t.Fatalf("operator's dead letters of %s: %v, %v; want the event %s", herald, list, err, ev.ID)
	}
	if err := dlq.Redrive(ctx, list[0].Sequence); err != nil {
		t.Fatal(err)
	}
	if again := nextDeadLetter(ctx, t, deadLetters); again.ID != ev.ID {
		t.Fatalf("the re-driven event %s was not dead-lettered again; got %s", ev.ID, again.ID)
	}
	waitGuardRecord(ctx, t, op)

	q := replay.Query{Event: "notification:trigger", Target: herald}
	if p, err := replay.Replay(ctx, op.JetStream(), q, replay.Options{To: herald}); err != nil || p.Delivered != 1 {
		t.Fatalf("replay: %+v, %v", p, err)
	}
	targeted.WaitFor(t, 0, func(evs []*mesh.Event) bool { return len(evs) == 2 && evs[1].Replayed })

	gatherStats(ctx, t, op, timeline, herald, spark, auth)
}

// gatherStats sends the operator's statistics request and waits for the
// answers of services.
func gatherStats(ctx context.Context, t *testing.T, op *mesh.Worker, services ...string) {
	t.Helper()
	nc := op.Conn()
	inbox := nc.NewInbox() + ".stats" // three tokens, as the operator's gatherer asks
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.PublishRequest(subjects.StatsSubject("ipc"), inbox, nil); err != nil {
		t.Fatal(err)
	}
	missing := make(map[string]bool)
	for _, s := range services {
		missing[s] = true
	}
	for len(missing) > 0 {
		msg, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			t.Fatalf("statistics: no answer from %v: %v", missing, err)
		}
		var stats mesh.InstanceStats
		if err := json.Unmarshal(msg.Data, &stats); err != nil {
			t.Fatal(err)
		}
		delete(missing, stats.Service)
	}
}

// nextDeadLetter waits for the next event that herald dead-letters.
func nextDeadLetter(ctx context.Context, t *testing.T, deadLetters <-chan *mesh.Event) *mesh.Event {
	t.Helper()
	select {
	case ev := <-deadLetters:
		return ev
	case <-ctx.Done():
		t.Fatal("no dead letter")
		return nil
	}
}

// on keeps the error of a registration.
func on(_ *mesh.Subscription, err error) error { return err }

// waitGuardRecord waits until the operator sees herald's idempotency guard
// record an event in the namespace's bucket.
func waitGuardRecord(ctx context.Context, t *testing.T, op *mesh.Worker) {
	t.Helper()
	kv, err := op.JetStream().KeyValue(ctx, subjects.IdempotencyBucket("ipc", herald))
	if err != nil {
		t.Fatal(err)
	}
	watch, err := kv.Watch(ctx, herald+".>")
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Stop()
	for {
		select {
		case entry := <-watch.Updates():
			if entry != nil {
				return
			}
		case <-ctx.Done():
			t.Fatal("the idempotency guard recorded nothing")
		}
	}
}

// TestImpostorReceivesNothing connects a worker as exprsn-herald with
// exprsn-timeline's credentials. Its handler's subscription to herald's
// targeted events is refused by the server: On returns the permissions
// violation, which the worker also reports through Config.OnError. Every event sent to herald reaches the real one;
// had the impostor's subscription been accepted, it would have taken a share
// of them in herald's queue group. Yet what the impostor emits reaches
// herald with the source it claims.
func TestImpostorReceivesNothing(t *testing.T) {
	m := startSecureMesh(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	defer cancel()
	errs := make(chan error, 16)
	impostor := m.connect(t, timeline, herald, mesh.Config{OnError: func(err error) { errs <- err }})
	stolen := testutil.NewRecorder()
	if _, err := impostor.On(ctx, "notification:trigger", stolen); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Fatalf("On returned %v; want a permissions violation", err)
	}
	want := `"ipc.exprsn-herald.notification.trigger"`
	select {
	case err := <-errs:
		if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), want) {
			t.Fatalf("OnError got %v; want a permissions violation for %s", err, want)
		}
	case <-ctx.Done():
		t.Fatal("no permissions violation reported")
	}

	genuine := testutil.NewRecorder()
	if _, err := m.connect(t, herald, herald, mesh.Config{}).On(ctx, "notification:trigger", genuine); err != nil {
		t.Fatal(err)
	}
	tl := m.connect(t, timeline, timeline, mesh.Config{})
	const n = 20
	for i := range n {
		if err := tl.Emit(ctx, "notification:trigger", i, mesh.To(herald)); err != nil {
			t.Fatal(err)
		}
	}
	// What it may publish, it may publish under any source.
	if err := impostor.Emit(ctx, "notification:trigger", "forged", mesh.To(herald)); err != nil {
		t.Fatal(err)
	}
	genuine.WaitFor(t, 0, func(evs []*mesh.Event) bool {
		return len(evs) == n+1 && slices.ContainsFunc(evs, func(ev *mesh.Event) bool { return ev.Source == herald })
	})
	if got := stolen.Len(); got != 0 {
		t.Fatalf("the impostor received %d events", got)
	}
}

// TestUnauthenticatedClientIsRefused connects without credentials to a
// server that has users.
func TestUnauthenticatedClientIsRefused(t *testing.T) {
	m := startSecureMesh(t, false)
	_, err := dial(t, m.URL(), mesh.Config{Service: timeline})
	if !errors.Is(err, nats.ErrAuthorization) || !strings.Contains(err.Error(), credentialsHint) {
		t.Fatalf("Connect without credentials: %v; want an authorization error with the hint %q", err, credentialsHint)
	}
}

// TestSubjectPermissions checks, subject by subject, what a service may
// publish and subscribe to, over a plain NATS connection with its
// credentials and private inboxes.
func TestSubjectPermissions(t *testing.T) {
	m := startSecureMesh(t, true)
	for _, tc := range subjectPermissionCases() {
		t.Run(strings.TrimSpace(tc.user+" "+tc.op+" "+tc.subject+" "+tc.queue), func(t *testing.T) {
			nc, err := nats.Connect(m.URL(), m.credentials(tc.user)...)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if tc.op == sub {
				_, err = nc.QueueSubscribeSync(tc.subject, tc.queue)
			} else {
				err = nc.Publish(tc.subject, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			// The server's refusal comes before its answer to the flush.
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
			refused := errors.Is(nc.LastError(), nats.ErrPermissionViolation)
			if refused == tc.allowed {
				t.Fatalf("allowed = %t, want %t (last error: %v)", !refused, tc.allowed, nc.LastError())
			}
		})
	}
}

// subjectPermissionCase is a subject a user may, or may not, publish to
// or subscribe to (in queue).
type subjectPermissionCase struct {
	user, op, subject, queue string
	allowed                  bool
}

// The operations of a subjectPermissionCase.
const (
	pub = "publish"
	sub = "subscribe"
)

// subjectPermissionCases are TestSubjectPermissions' cases.
func subjectPermissionCases() []subjectPermissionCase {
	return []subjectPermissionCase{
		{timeline, sub, "ipc.exprsn-timeline.>", "", true},
		{timeline, sub, "ipc.all.post.created", "", true},
		{timeline, sub, "_rpc.ipc.exprsn-timeline.>", "", true},
		{timeline, sub, "_mesh.ipc.stats", "", true},
		{timeline, sub, "_INBOX_exprsn-timeline.>", "", true},
		{timeline, sub, "ipc.exprsn-timeline.post.created", "exprsn-timeline:post:created", true},
		{timeline, sub, "ipc.all.user.login", "exprsn-herald:user:login", false},
		{timeline, sub, "ipc.all.post.created", "exprsn-timeline:post:created", false},
		{herald, sub, "ipc.all.user.login", "exprsn-herald:user:login", true},
		{timeline, sub, "ipc.exprsn-herald.>", "", false},
		{timeline, sub, "ipc.*.notification.trigger", "", false},
		{timeline, sub, "ipc.>", "", false},
		{timeline, sub, "_rpc.ipc.exprsn-auth.session.validate", "", false},
		{timeline, sub, "_INBOX.>", "", false},
		{timeline, sub, "_INBOX_exprsn-herald.>", "", false},
		{timeline, sub, "_dlq.ipc.>", "", false},
		{timeline, sub, "$JS.API.>", "", false},
		{timeline, sub, ">", "", false},
		{timeline, pub, "ipc.exprsn-herald.notification.trigger", "", true},
		{timeline, pub, "ipc.all.post.created", "", true},
		{timeline, pub, "_rpc.ipc.exprsn-auth.session.validate", "", true},
		{timeline, pub, "_mesh.ipc.stats", "", false},
		// Answers go to every service's inbox, three tokens deep, as
		// nats.go's request replies are: no allow_responses, and nothing
		// on the two-token inboxes of pull consumers or the deeper ones of
		// batch publishes.
		{timeline, pub, "_INBOX_exprsn-herald.x.y", "", true},
		{timeline, pub, "_INBOX.x.y", "", true},
		{timeline, pub, "_INBOX_exprsn-herald.x", "", false},
		{timeline, pub, "_INBOX.x", "", false},
		{timeline, pub, "_INBOX_exprsn-herald.x.y.z", "", false},
		{timeline, pub, "_INBOX_exprsn-web.x.y", "", false},
		{timeline, pub, "_dlq.ipc.exprsn-timeline.post.created", "", false},
		{timeline, pub, "$JS.API.CONSUMER.CREATE.MESH_ipc.x", "", false},
		{timeline, pub, "$JS.API.STREAM.DELETE.MESH_ipc", "", false},
		{timeline, pub, "$KV.MESH_ipc_handled_exprsn-timeline.x", "", false},
		{herald, pub, "_dlq.ipc.exprsn-herald.notification.trigger", "", true},
		{herald, pub, "_dlq.ipc.exprsn-moderator.content.submitted", "", false},
		{herald, pub, "$JS.API.CONSUMER.INFO.MESH_ipc." + heraldQueued, "", true},
		{herald, pub, "$JS.API.CONSUMER.MSG.NEXT.MESH_ipc." + heraldQueued, "", true},
		{herald, pub, "$JS.ACK.MESH_ipc." + heraldQueued + ".1.2.3.4.5", "", true},
		{herald, pub, "$JS.API.CONSUMER.CREATE.MESH_ipc." + heraldQueued, "", false},
		{herald, pub, "$JS.API.CONSUMER.CREATE.MESH_ipc." + heraldQueued + ".ipc.exprsn-herald.notification.queued", "", false},
		{herald, pub, "$JS.API.CONSUMER.DELETE.MESH_ipc." + heraldQueued, "", false},
		{herald, pub, "$JS.API.CONSUMER.MSG.NEXT.MESH_ipc." + moderatorSubmitted, "", false},
		{herald, pub, "$JS.ACK.MESH_ipc." + moderatorSubmitted + ".1.2.3.4.5", "", false},
		{herald, pub, "$KV.MESH_ipc_handled_exprsn-herald.x", "", true},
		{herald, pub, "$KV.MESH_ipc_handled_exprsn-moderator.x", "", false},
		{herald, pub, "$JS.API.DIRECT.GET.KV_MESH_ipc_handled_exprsn-moderator.$KV.MESH_ipc_handled_exprsn-moderator.x", "", false},
		{herald, pub, "$JS.API.STREAM.MSG.GET.KV_MESH_ipc_handled_exprsn-herald", "", true},
		{herald, pub, "$JS.API.DIRECT.GET.KV_MESH_ipc_handled_exprsn-herald.$KV.MESH_ipc_handled_exprsn-herald.x", "", false},
		{herald, pub, "$JS.API.STREAM.UPDATE.KV_MESH_ipc_handled_exprsn-herald", "", false},
		{herald, pub, "$JS.API.STREAM.DELETE.KV_MESH_ipc_handled_exprsn-herald", "", false},
		{permissions.OperatorName, sub, "ipc.*.>", "", true},
		{permissions.OperatorName, sub, "_rpc.ipc.*.>", "", false},
		{permissions.OperatorName, pub, "_mesh.ipc.stats", "", true},
		{permissions.OperatorName, pub, "$JS.API.STREAM.INFO.MESH_ipc_DLQ", "", true},
		{permissions.OperatorName, pub, "$JS.API.STREAM.INFO.OTHER", "", false},
	}
}

// TestLongDurableHandlerIsAcknowledged runs a durable handler for longer
// than its AckWait, in both of nats-server's acknowledgement formats: the
// worker reports the event in progress, then acknowledges it, several
// acknowledgements of one delivery that allow_responses alone (one reply
// per message) would refuse. The event is handled once.
func TestLongDurableHandlerIsAcknowledged(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("ack format v2 %t", v2), func(t *testing.T) {
			m := startSecureMesh(t, false, testutil.WithServerOptions(func(o *server.Options) {
				o.FeatureFlags = map[string]bool{server.FeatureFlagJsAckFormatV2: v2}
			}))
			ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
			defer cancel()
			he := m.connect(t, herald, herald, mesh.Config{})
			var slowCalls atomic.Int32
			handled := testutil.NewRecorder()
			h := mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
				if ev.Type == "notification:slow" {
					slowCalls.Add(1)
					work := time.NewTimer(5 * time.Second) // 2.5 x AckWait
					defer work.Stop()
					select {
					case <-work.C:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				return handled.HandleEvent(ctx, ev)
			})
			// AckWait 2 s: the worker reports the event in progress every
			// 667 ms, which leaves a loaded machine running the race
			// detector 1.3 s of slack (with 1 s it once was late).
			if _, err := he.OnDurable(ctx, "notification:*", h, mesh.AckWait(2*time.Second)); err != nil {
				t.Fatal(err)
			}
			tl := m.connect(t, timeline, timeline, mesh.Config{})
			if err := tl.Emit(ctx, "notification:slow", nil, mesh.To(herald)); err != nil {
				t.Fatal(err)
			}
			handled.WaitType(t, "notification:slow", 0)
			// A redelivery of the slow event, had its acknowledgement been
			// refused, would come before this one: one instance handles
			// its events one at a time in delivery order.
			if err := tl.Emit(ctx, "notification:marker", nil, mesh.To(herald)); err != nil {
				t.Fatal(err)
			}
			handled.WaitType(t, "notification:marker", 0)
			if n := slowCalls.Load(); n != 1 {
				t.Fatalf("the slow event was handled %d times, want once", n)
			}
		})
	}
}
