package securitytest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/deadletter"
	"github.com/exprsn/ipcmesh/idempotency"
	"github.com/exprsn/ipcmesh/schedules"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type sendFunc = func(ctx context.Context, t *testing.T, v *victims, nc *nats.Conn, target string) bool

// reflections lists the reply-subject reflections onto the operator's
// state: the signing keys, a guard's records, the dead letters and the
// schedules, by every route a service or role has. docs/security.md
// says what remains of the class.
func reflections() []reflection {
	hb := subjects.IdempotencyBucket("ipc", herald)
	events := subjects.EventStream("ipc")
	keys := func(service string) func(context.Context, *testing.T, *victims, uint64) bool {
		return func(ctx context.Context, t *testing.T, v *victims, _ uint64) bool {
			return v.keysRejected(ctx, t, service)
		}
	}
	guard := func(id string) func(context.Context, *testing.T, *victims, uint64) bool {
		return func(ctx context.Context, t *testing.T, v *victims, _ uint64) bool { return v.guardHandles(ctx, t, id) }
	}
	deadLetter := subjects.DeadLetterSubject("ipc", moderator, "ipc.exprsn-moderator.content.submitted")
	pullStatus := publishWithReply("$JS.API.CONSUMER.MSG.NEXT."+events+"."+moderatorSubmitted, `{"batch":1,"no_wait":true}`)
	return []reflection{
		{name: "a stream's acknowledgement onto a signing key", by: timeline, target: keyOf(auth),
			send: publishWithReply("ipc.exprsn-timeline.zz.reflect", "{}"), rejected: keys(auth)},
		{name: "an API answer onto a signing key", by: timeline, target: keyOf(timeline),
			send: publishWithReply("$JS.API.STREAM.INFO."+events, ""), rejected: keys(timeline)},
		{name: "a pull's status answer onto a signing key", by: moderator, target: keyOf(herald), send: pullStatus, rejected: keys(herald)},
		{name: "its own guard record holding its key, by message get, onto a signing key", by: herald, target: keyOf(auth),
			send: ownRecord("$JS.API.STREAM.MSG.GET.KV_"+hb, `{"last_by_subj":"$KV.`+hb+`.zz"}`), rejected: keys(auth)},
		{name: "its own guard record holding its key, by direct get, onto a signing key", by: herald, target: keyOf(auth),
			send: ownRecord("$JS.API.DIRECT.GET.KV_"+hb+".$KV."+hb+".zz", "")},
		{name: "a roll-up record in its own guard bucket, to reflect onto the keys", by: herald, target: "$KV." + hb + ".rollup", send: rollup},
		{name: "a key reader copies its entry by message get under another's name", by: audit, target: keyOf(spark),
			send: publishWithReply("$JS.API.STREAM.MSG.GET."+keysStream, `{"last_by_subj":"`+keyOf(audit)+`"}`), rejected: keys(spark)},
		{name: "a key reader copies an entry by direct get under another's name", by: audit, target: keyOf(spark),
			send: publishWithReply("$JS.API.DIRECT.GET."+keysStream+"."+keyOf(audit), "")},
		{name: "a key reader's missing key onto a signing key", by: audit, target: keyOf(auth),
			send: publishWithReply("$JS.API.DIRECT.GET."+keysStream+"."+keyOf("nobody"), "")},
		{name: "acknowledgements flood a signing key's history", by: timeline, target: keyOf(web), send: flood, rejected: flooded(web)},
		{name: "its own message answered onto a signing key (allow_responses)", by: timeline, target: keyOf(auth),
			send: selfResponse(func(v *victims) string { return v.keys[timeline] }), rejected: keys(auth)},
		{name: "another's responder answers onto a signing key", by: timeline, target: keyOf(moderator), send: responder},
		{name: "an edge's push consumer heartbeats onto a signing key", by: web, target: keyOf(auth), send: heartbeats,
			rejected: keys(auth), cleanup: deleteConsumer("hb")},
		{name: "a stream's acknowledgement onto another's guard record", by: timeline, target: guardKey(timeline, "reflect-ack"),
			send: publishWithReply("ipc.exprsn-timeline.zz.reflect", "{}"), rejected: guard("reflect-ack")},
		{name: "a pull's status answer onto another's guard record", by: moderator, target: guardKey(timeline, "reflect-status"),
			send: pullStatus, rejected: guard("reflect-status")},
		{name: "its own message answered onto another's guard record", by: timeline, target: guardKey(timeline, "reflect-self"),
			send: selfResponse(func(*victims) string { return idempotency.Record }), rejected: guard("reflect-self")},
		{name: "a stream's acknowledgement onto another's dead letters", by: timeline, target: deadLetter,
			send: publishWithReply("ipc.exprsn-timeline.zz.reflect", "{}"), rejected: junkDeadLetter},
		{name: "its own message answered onto another's dead letters", by: timeline, target: deadLetter,
			send: selfResponse(func(*victims) string { return "{}" })},
		{name: "a stream's acknowledgement onto a schedule", by: timeline, target: subjects.ScheduleSubject("ipc", "reflected"),
			send: publishWithReply("ipc.exprsn-timeline.zz.reflect", "{}"), rejected: noSchedule("reflected")},
	}
}

// publishWithReply publishes body to subject with the target as its reply
// subject.
func publishWithReply(subject, body string) sendFunc {
	return func(_ context.Context, t *testing.T, _ *victims, nc *nats.Conn, target string) bool {
		if err := nc.PublishRequest(subject, target, []byte(body)); err != nil {
			t.Fatal(err)
		}
		return refusedOutright(t, nc)
	}
}

// ownRecord writes the attacker's own guard record "zz" holding a valid
// public key of its own, then reads it through get (body) with the target
// as the reply subject.
func ownRecord(get, body string) sendFunc {
	return func(ctx context.Context, t *testing.T, v *victims, nc *nats.Conn, target string) bool {
		rec := &nats.Msg{Subject: "$KV." + subjects.IdempotencyBucket("ipc", herald) + ".zz", Data: []byte(v.keys[herald])}
		if errorAnswer(t, nc, rec) {
			t.Fatal("herald may not write its own guard record")
		}
		return publishWithReply(get, body)(ctx, t, v, nc, target)
	}
}

// rollup writes a roll-up of every message into the attacker's own guard
// bucket: a record that, copied onto the keys bucket, would empty it.
func rollup(_ context.Context, t *testing.T, _ *victims, nc *nats.Conn, target string) bool {
	msg := &nats.Msg{Subject: target, Header: nats.Header{"Nats-Rollup": []string{"all"}}, Data: []byte("x")}
	return errorAnswer(t, nc, msg)
}

// flood makes the event stream acknowledge six events onto the target, one
// more than the keys bucket keeps of a key's history.
func flood(ctx context.Context, t *testing.T, v *victims, nc *nats.Conn, target string) bool {
	for range 6 {
		if publishWithReply("ipc.exprsn-timeline.zz.reflect", "{}")(ctx, t, v, nc, target) {
			return true
		}
	}
	return false
}

// flooded waits until the keys bucket keeps nothing of the operator's for
// service, and checks that a verifier then refuses to tell.
func flooded(service string) func(context.Context, *testing.T, *victims, uint64) bool {
	return func(ctx context.Context, t *testing.T, v *victims, _ uint64) bool {
		s, err := v.reader.Stream(ctx, keysStream)
		if err != nil {
			t.Fatal(err)
		}
		gone := func() bool {
			first, err := s.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(keyOf(service)))
			return err == nil && string(first.Data) != v.keys[service]
		}
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for deadline := time.Now().Add(reflectionWait); !gone() && time.Now().Before(deadline); {
			<-tick.C
		}
		return v.keysRejected(ctx, t, service)
	}
}

// selfResponse sends the attacker a request of its own, with the target
// as its reply subject, and answers it with body: what allow_responses
// would let through.
func selfResponse(body func(*victims) string) sendFunc {
	return func(ctx context.Context, t *testing.T, v *victims, nc *nats.Conn, target string) bool {
		return answerOwn(ctx, t, nc, target, body(v))
	}
}

// answerOwn sends the attacker (timeline) a request on nc with reply
// subject target, and answers it with body.
func answerOwn(ctx context.Context, t *testing.T, nc *nats.Conn, target, body string) bool {
	subject := subjects.RequestPrefix + ".ipc." + timeline + ".reflect"
	answered := make(chan struct{})
	sub, err := nc.Subscribe(subject, func(msg *nats.Msg) {
		defer close(answered)
		_ = msg.Respond([]byte(body))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.PublishRequest(subject, target, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-answered:
	case <-ctx.Done():
		t.Fatal("the attacker did not receive its own request")
	}
	return refusedOutright(t, nc)
}

// responder sends exprsn-auth's responder a well-formed request, which
// the attacker made with a worker of its own, with the target as its reply
// subject. It is refused outright when auth reports its answer refused.
func responder(ctx context.Context, t *testing.T, v *victims, nc *nats.Conn, target string) bool {
	sub, err := nc.SubscribeSync(subjects.RequestPrefix + ".ipc." + timeline + ".session.reflect")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	go func() { _, _ = v.timeline.Request(rctx, timeline, "session:reflect", nil) }()
	req, err := sub.NextMsgWithContext(ctx)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	msg := &nats.Msg{Subject: subjects.RequestPrefix + ".ipc." + auth + ".session.reflect", Reply: target, Header: req.Header, Data: req.Data}
	if err := nc.PublishMsg(msg); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(reflectionWait); !v.authErrs.mention(target) && time.Now().Before(deadline); {
		<-tick.C
	}
	return v.authErrs.mention(target)
}

// heartbeats creates a push consumer of the edge's feed, which it may,
// delivering to the target with idle heartbeats (status messages).
func heartbeats(_ context.Context, t *testing.T, _ *victims, nc *nats.Conn, target string) bool {
	events := subjects.EventStream("ipc")
	push := map[string]any{"stream_name": events, "config": map[string]any{"name": "hb", "filter_subject": feed,
		"deliver_subject": target, "idle_heartbeat": int64(100 * time.Millisecond), "flow_control": true}}
	body, _ := json.Marshal(push)
	return errorAnswer(t, nc, &nats.Msg{Subject: "$JS.API.CONSUMER.CREATE." + events + ".hb." + feed, Data: body})
}

func deleteConsumer(name string) func(context.Context, *testing.T, *nats.Conn) {
	return func(_ context.Context, t *testing.T, nc *nats.Conn) {
		_ = errorAnswer(t, nc, &nats.Msg{Subject: "$JS.API.CONSUMER.DELETE." + subjects.EventStream("ipc") + "." + name})
	}
}

// junkDeadLetter: the operator's dead-letter queue shows what landed as a
// dead letter of no service and no event, which it cannot re-drive.
func junkDeadLetter(ctx context.Context, t *testing.T, v *victims, landed uint64) bool {
	q := deadletter.New(v.op, "ipc")
	dl, err := q.Get(ctx, landed)
	if err != nil {
		t.Fatal(err)
	}
	if dl.Event != nil || dl.Service != "" {
		t.Errorf("the reflected dead letter reads as one of %q: %+v", dl.Service, dl.Event)
		return false
	}
	return q.Redrive(ctx, landed) != nil
}

// noSchedule: the schedules listed hold no schedule key.
func noSchedule(key string) func(context.Context, *testing.T, *victims, uint64) bool {
	return func(ctx context.Context, t *testing.T, v *victims, _ uint64) bool {
		list, err := schedules.List(ctx, v.op, "ipc")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			if s.Key == key {
				t.Errorf("the reflected message is a schedule: %+v", s)
				return false
			}
		}
		return true
	}
}
