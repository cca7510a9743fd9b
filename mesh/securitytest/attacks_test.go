package securitytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/signing"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
)

// attack is one thing a hostile user tries with its own credentials: a
// publish (of body, to subject, with the reply subject reply, or an inbox
// of its own) or a subscription (to subject, in queue), or connecting over
// plain TCP. A publish the permissions allow, to the JetStream API (api),
// is refused when the server answers with an error.
type attack struct {
	name, by       string
	subscribe      bool
	subject, queue string
	reply          string
	body           any
	api, plainTCP  bool
}

// The outcomes of an attack.
const (
	refused  = "refused"  // the server refused it
	detected = "detected" // it got through and the victim rejected it
	breach   = "BREACH"
)

// TestAttacks runs every attack of a hostile service on the namespace
// that package permissions and the setup allow, each with the credentials
// of a real service of the seed, and those of a browser, an edge and a key
// reader (roleAttacks), on a server where the operator applied the setup
// and the victims run, then the reply-subject reflections (reflections).
// Every one must be refused by the server or detected by its victim, and
// the victims must keep working:
// the suite ends with a summary line
// "attacks=N refused=N detected=N breaches=0".
func TestAttacks(t *testing.T) {
	m := startSecureMesh(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 4*testutil.DefaultWait)
	defer cancel()
	op := m.connect(t, permissions.OperatorName, "meshctl", mesh.Config{})
	before := m.snapshot(ctx, t, op.JetStream())

	counts := map[string]int{}
	for _, a := range attacks() {
		outcome := m.try(t, a)
		counts[outcome]++
		if outcome == breach {
			t.Errorf("BREACH: %s by %s (%s %s) was allowed", a.name, a.by, map[bool]string{true: "subscribe", false: "publish"}[a.subscribe], a.subject)
		}
	}
	outcome := m.forgedSource(ctx, t)
	counts[outcome]++

	after := m.snapshot(ctx, t, op.JetStream())
	for name := range mergeKeys(before, after) {
		if before[name] != after[name] {
			counts[breach]++
			t.Errorf("the attacks changed %s:\nbefore %s\nafter  %s", name, before[name], after[name])
		}
	}
	// The reflections write onto streams by design: after the snapshot.
	rctx, rcancel := context.WithTimeout(context.Background(), 4*testutil.DefaultWait)
	defer rcancel()
	v := m.newVictims(rctx, t)
	for _, r := range reflections() {
		outcome := m.reflect(rctx, t, v, r)
		t.Logf("%s: %s by %s", outcome, r.name, r.by)
		counts[outcome]++
		if outcome == breach {
			t.Errorf("BREACH: %s by %s onto %s", r.name, r.by, r.target)
		}
	}
	m.victimsStillWork(ctx, t)
	total := counts[refused] + counts[detected] + counts[breach]
	summary := fmt.Sprintf("attacks=%d refused=%d detected=%d breaches=%d", total, counts[refused], counts[detected], counts[breach])
	t.Log(summary)
	fmt.Println(summary)
}

// attacks lists the attacks: the request-hijack and inbox tricks through a
// stream's subject transforms, consumers of another's events, another's
// consumer pulled, changed, deleted or acknowledged, any stream, bucket or
// consumer configuration changed, and another's replies, requests,
// targeted events, queue groups and dead letters read by every route.
func attacks() []attack {
	events, dlq := subjects.EventStream("ipc"), subjects.DeadLetterStream("ipc")
	heraldBucket := "KV_" + subjects.IdempotencyBucket("ipc", herald)
	var list []attack
	// The transform trick, and every other change, on every stream a
	// service can name: the event and dead-letter streams, the guard's
	// bucket (its owner tries it too) and a stream of its own.
	for _, stream := range []string{events, dlq, subjects.ScheduleStream("ipc"), heraldBucket} {
		for _, by := range []string{timeline, herald} {
			transform := map[string]any{"name": stream, "subjects": []string{"ipc.>", "_rpc.ipc.exprsn-auth.>", "_INBOX_exprsn-auth.>"},
				"subject_transform": map[string]string{"src": "_rpc.ipc.exprsn-auth.>", "dest": "$KV.stolen.>"}}
			list = append(list,
				attack{name: "subject transform on " + stream, by: by, subject: "$JS.API.STREAM.UPDATE." + stream, body: transform},
				attack{name: "shorten the max age of " + stream, by: by, subject: "$JS.API.STREAM.UPDATE." + stream, body: map[string]any{"name": stream, "max_age": 1}},
				attack{name: "purge " + stream, by: by, subject: "$JS.API.STREAM.PURGE." + stream},
				attack{name: "delete " + stream, by: by, subject: "$JS.API.STREAM.DELETE." + stream},
				attack{name: "direct get from " + stream, by: by, subject: "$JS.API.DIRECT.GET." + stream, body: map[string]any{"seq": 1}},
				attack{name: "delete a message of " + stream, by: by, subject: "$JS.API.STREAM.MSG.DELETE." + stream, body: map[string]any{"seq": 1}},
			)
			// The guard reads its own bucket with the message get.
			if stream != heraldBucket || by != herald {
				list = append(list, attack{name: "read a message of " + stream, by: by, subject: "$JS.API.STREAM.MSG.GET." + stream, body: map[string]any{"seq": 1}})
			}
		}
	}
	list = append(list,
		attack{name: "a stream of its own over another's inbox", by: timeline, subject: "$JS.API.STREAM.CREATE.STOLEN",
			body: map[string]any{"name": "STOLEN", "subjects": []string{"_INBOX_exprsn-auth.>"}}},
		attack{name: "a stream of its own over another's requests", by: herald, subject: "$JS.API.STREAM.CREATE.STOLEN",
			body: map[string]any{"name": "STOLEN", "subjects": []string{"_rpc.ipc.exprsn-auth.>"}}},
		attack{name: "a consumer of another's events", by: timeline, subject: "$JS.API.CONSUMER.CREATE." + events + ".spy",
			body: map[string]any{"stream_name": events, "config": map[string]any{"name": "spy", "filter_subject": "ipc.exprsn-herald.>"}}},
		attack{name: "a consumer of another's events, its filter in the subject", by: timeline,
			subject: "$JS.API.CONSUMER.CREATE." + events + ".spy.ipc.exprsn-herald.>"},
		attack{name: "a durable consumer of every event", by: herald, subject: "$JS.API.CONSUMER.DURABLE.CREATE." + events + ".spy"},
		attack{name: "a consumer of its own events", by: herald, subject: "$JS.API.CONSUMER.CREATE." + events + "." + heraldQueued + ".ipc.exprsn-herald.notification.queued"},
		attack{name: "re-point another's consumer", by: herald, subject: "$JS.API.CONSUMER.CREATE." + events + "." + moderatorSubmitted,
			body: map[string]any{"stream_name": events, "config": map[string]any{"durable_name": moderatorSubmitted, "filter_subject": "ipc.nobody.>"}}},
		attack{name: "change its own consumer", by: herald, subject: "$JS.API.CONSUMER.CREATE." + events + "." + heraldQueued,
			body: map[string]any{"stream_name": events, "config": map[string]any{"durable_name": heraldQueued, "deliver_subject": "_INBOX_exprsn-auth.x"}}},
		attack{name: "pull from another's consumer", by: herald, subject: "$JS.API.CONSUMER.MSG.NEXT." + events + "." + moderatorSubmitted, body: map[string]any{"batch": 1}},
		attack{name: "delete another's consumer", by: herald, subject: "$JS.API.CONSUMER.DELETE." + events + "." + moderatorSubmitted},
		attack{name: "pause another's consumer", by: herald, subject: "$JS.API.CONSUMER.PAUSE." + events + "." + moderatorSubmitted},
		attack{name: "unpin another's consumer", by: herald, subject: "$JS.API.CONSUMER.UNPIN." + events + "." + moderatorSubmitted},
		attack{name: "acknowledge another's delivery", by: herald, subject: "$JS.ACK." + events + "." + moderatorSubmitted + ".1.1.1.1.0"},
		attack{name: "acknowledge another's delivery (v2 format)", by: herald, subject: "$JS.ACK.hub.ACCHASH." + events + "." + moderatorSubmitted + ".1.1.1.1.0.x"},
		attack{name: "write another's guard record", by: herald, subject: "$KV." + subjects.IdempotencyBucket("ipc", moderator) + ".x"},
		attack{name: "read another's guard record", by: herald, subject: "$JS.API.DIRECT.GET.KV_" + subjects.IdempotencyBucket("ipc", moderator) + ".$KV." + subjects.IdempotencyBucket("ipc", moderator) + ".x"},
		attack{name: "read another's guard record by message get", by: herald, subject: "$JS.API.STREAM.MSG.GET.KV_" + subjects.IdempotencyBucket("ipc", moderator), body: map[string]any{"seq": 1}},
		attack{name: "direct get of its own guard record", by: herald, subject: "$JS.API.DIRECT.GET." + heraldBucket + ".$KV." + subjects.IdempotencyBucket("ipc", herald) + ".x"},
		attack{name: "another's guard record by direct get, wildcard", by: herald, subject: "$JS.API.DIRECT.GET.KV_" + subjects.IdempotencyBucket("ipc", moderator) + ".>"},
		attack{name: "forge another's dead letter", by: herald, subject: subjects.DeadLetterSubject("ipc", moderator, "ipc.exprsn-moderator.content.submitted")},
		attack{name: "roll up every pending schedule", by: timeline, subject: subjects.ScheduleSubject("ipc", "x")},
		attack{name: "ask every worker's statistics", by: timeline, subject: subjects.StatsSubject("ipc")},
		attack{name: "a JetStream API subject as the reply subject", by: timeline, subject: "ipc.exprsn-timeline.zz.reflect", reply: "$JS.API.STREAM.PURGE." + events},
		attack{name: "an acknowledgement subject as the reply subject", by: timeline, subject: "ipc.exprsn-timeline.zz.reflect", reply: "$JS.ACK." + events + "." + moderatorSubmitted + ".1.1.1.1.0"},
		attack{name: "read another's replies", by: timeline, subscribe: true, subject: "_INBOX_exprsn-auth.>"},
		attack{name: "read the shared replies", by: timeline, subscribe: true, subject: "_INBOX.>"},
		attack{name: "read another's requests", by: timeline, subscribe: true, subject: "_rpc.ipc.exprsn-auth.>"},
		attack{name: "answer another's requests", by: timeline, subscribe: true, subject: "_rpc.ipc.exprsn-auth.session.validate", queue: "exprsn-auth"},
		attack{name: "read another's targeted events", by: timeline, subscribe: true, subject: "ipc.exprsn-herald.>"},
		attack{name: "read every service's targeted events", by: timeline, subscribe: true, subject: "ipc.*.>"},
		attack{name: "join another's queue group on broadcasts", by: timeline, subscribe: true, subject: "ipc.all.user.login", queue: "exprsn-herald:user:login"},
		attack{name: "join another's queue group on its events", by: timeline, subscribe: true, subject: "ipc.exprsn-herald.notification.queued", queue: "exprsn-herald:notification:queued"},
		attack{name: "read the dead letters", by: herald, subscribe: true, subject: "_dlq.ipc.>"},
		attack{name: "read another's delivery advisories", by: herald, subscribe: true, subject: "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + events + "." + moderatorSubmitted},
		attack{name: "read the JetStream API's traffic", by: herald, subscribe: true, subject: "$JS.API.>"},
		attack{name: "read acknowledgements", by: herald, subscribe: true, subject: "$JS.ACK.>"},
		attack{name: "read everything", by: timeline, subscribe: true, subject: ">"},
	)
	list = append(list, jetStreamAttacks()...)
	return append(list, roleAttacks()...)
}

// jetStreamAttacks are calls of JetStream's and the system's that no
// service makes: flow control, account and server information, another's
// consumer reset or read, a leader step-down, stored events by subject,
// and the schedule stream's consumers and firings.
func jetStreamAttacks() []attack {
	events := subjects.EventStream("ipc")
	return []attack{
		{name: "a flow-control answer", by: herald, subject: "$JS.FC." + events + ".x.y"},
		{name: "hear flow control", by: herald, subscribe: true, subject: "$JS.FC.>"},
		{name: "the account's information", by: timeline, subject: "$JS.API.INFO"},
		{name: "reset another's consumer", by: herald, subject: "$JS.API.CONSUMER.RESET." + events + "." + moderatorSubmitted},
		{name: "direct get another's event by subject", by: timeline, subject: "$JS.API.DIRECT.GET." + events + ".ipc.exprsn-herald.notification.queued"},
		{name: "the state of another's consumer", by: herald, subject: "$JS.API.CONSUMER.INFO." + events + "." + moderatorSubmitted},
		{name: "a leader step-down", by: herald, subject: "$JS.API.STREAM.LEADER.STEPDOWN." + events},
		{name: "system requests", by: timeline, subject: "$SYS.REQ.SERVER.PING"},
		{name: "hear system events", by: timeline, subscribe: true, subject: "$SYS.>"},
		{name: "hear JetStream events", by: timeline, subscribe: true, subject: "$JS.EVENT.>"},
		{name: "another's advisories in another form", by: herald, subscribe: true, subject: "$JS.EVENT.ADVISORY.CONSUMER.*." + events + "." + moderatorSubmitted},
		{name: "publish a schedule's firing", by: timeline, subject: "_sched.ipc.fire.exprsn-herald.notification.queued"},
		{name: "a queue group on another's requests", by: timeline, subscribe: true, subject: "_rpc.ipc.exprsn-auth.>", queue: "q"},
	}
}

// try runs a on a plain connection with its attacker's credentials and
// says whether the server refused it.
func (m *secureMesh) try(t *testing.T, a attack) string {
	t.Helper()
	url := m.urlOf(a.by)
	if a.plainTCP {
		url = m.URL()
	}
	nc, err := nats.Connect(url, m.credentials(a.by)...)
	if a.plainTCP && errors.Is(err, nats.ErrAuthorization) {
		return refused
	}
	if err != nil || a.plainTCP {
		t.Fatalf("%s: connect: %v", a.name, err)
	}
	defer nc.Close()
	var body []byte
	if a.body != nil {
		body, _ = json.Marshal(a.body)
	}
	switch {
	case a.api:
		if answerRefused(t, nc, a, body) {
			return refused
		}
		return breach
	case a.subscribe:
		_, err = nc.QueueSubscribeSync(a.subject, a.queue)
	default:
		reply := a.reply
		if reply == "" {
			reply = nc.NewRespInbox()
		}
		err = nc.PublishRequest(a.subject, reply, body)
	}
	if err != nil {
		t.Fatalf("%s: %v", a.name, err)
	}
	// The server's refusal comes before its answer to the flush.
	if err := nc.Flush(); err != nil {
		t.Fatalf("%s: %v", a.name, err)
	}
	if errors.Is(nc.LastError(), nats.ErrPermissionViolation) {
		return refused
	}
	return breach
}

// snapshot is what the operator sees of the namespace's JetStream
// resources: the configuration of every stream the setup made and of its
// consumers, and how many streams the account has.
func (m *secureMesh) snapshot(ctx context.Context, t *testing.T, js jetstream.JetStream) map[string]string {
	t.Helper()
	// The account's consumer count is left out: the event stream's source
	// of the schedule stream adds an internal consumer of its own, at its
	// own pace.
	out := map[string]string{"streams": fmt.Sprint(m.NATS.GlobalAccount().JetStreamUsage().Streams)}
	// The signing keys' bucket: its configuration, and its messages and
	// consumers, which no attack may change.
	keys, err := js.Stream(ctx, "KV_"+signing.BucketName("ipc"))
	if err != nil {
		t.Fatal(err)
	}
	state := keys.CachedInfo().State
	b, _ := json.Marshal(keys.CachedInfo().Config)
	out["keys"] = fmt.Sprintf("%s messages=%d last=%d consumers=%d", b, state.Msgs, state.LastSeq, state.Consumers)
	for _, name := range []string{subjects.EventStream("ipc"), subjects.DeadLetterStream("ipc"), "KV_" + subjects.IdempotencyBucket("ipc", herald)} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(s.CachedInfo().Config)
		out["stream "+name] = string(b)
		consumers := s.ListConsumers(ctx)
		for c := range consumers.Info() {
			b, _ := json.Marshal(c.Config)
			out["consumer "+name+"/"+c.Name] = string(b)
		}
		if err := consumers.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// mergeKeys returns the keys of a and b.
func mergeKeys(a, b map[string]string) map[string]bool {
	keys := make(map[string]bool, len(a)+len(b))
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// victimsStillWork checks that after the attacks herald receives its
// durable events and auth answers its requests.
func (m *secureMesh) victimsStillWork(ctx context.Context, t *testing.T) {
	t.Helper()
	he := m.connect(t, herald, herald, mesh.Config{})
	au := m.connect(t, auth, auth, mesh.Config{})
	tl := m.connect(t, timeline, timeline, mesh.Config{})
	queued := testutil.NewRecorder()
	if _, err := he.OnDurable(ctx, "notification:queued", queued); err != nil {
		t.Fatal(err)
	}
	if _, err := au.OnRequest(ctx, "session:validate", mesh.ResponderFunc(func(context.Context, *mesh.Event) (any, error) {
		return map[string]string{"token": "reply-secret-42"}, nil
	})); err != nil {
		t.Fatal(err)
	}
	if err := tl.Emit(ctx, "notification:queued", nil, mesh.To(herald)); err != nil {
		t.Fatal(err)
	}
	queued.WaitType(t, "notification:queued", 0)
	reply, err := tl.Request(ctx, auth, "session:validate", nil)
	if err != nil || !strings.Contains(string(reply.Data), "reply-secret-42") {
		t.Fatalf("after the attacks, request: %v, %v", reply, err)
	}
}

// forgedSource is the attack that permissions cannot refuse: a service
// emits with another's source (a worker calling itself exprsn-auth with
// exprsn-timeline's credentials), unsigned and signed with its own key, to
// a handler that verifies sources. The handler must never see either,
// and must report both as forged or unsigned.
func (m *secureMesh) forgedSource(ctx context.Context, t *testing.T) string {
	t.Helper()
	authKey, timelineKey := must(t, nkeys.CreateUser), must(t, nkeys.CreateUser)
	keys, err := signing.StaticKeys(map[string]string{auth: publicKey(t, authKey), timeline: publicKey(t, timelineKey)})
	if err != nil {
		t.Fatal(err)
	}
	rejected := make(chan error, 4)
	he := m.connect(t, herald, herald, mesh.Config{OnError: func(err error) { rejected <- err }})
	logins := testutil.NewRecorder()
	if _, err := he.On(ctx, "user:logout", logins, mesh.Use(signing.Verify(keys))); err != nil {
		t.Fatal(err)
	}
	impostorSign, err := signing.Signer(timelineKey)
	if err != nil {
		t.Fatal(err)
	}
	unsigned := m.connect(t, timeline, auth, mesh.Config{})
	signed := m.connect(t, timeline, auth, mesh.Config{OnSend: impostorSign})
	for _, w := range []*mesh.Worker{unsigned, signed} {
		if err := w.Emit(ctx, "user:logout", map[string]string{"user": "u1"}, mesh.To(herald)); err != nil {
			t.Fatal(err)
		}
	}
	// The two come from two connections and run concurrently: in any
	// order, one of each.
	want := []error{signing.ErrUnsigned, signing.ErrForged}
	for len(want) > 0 {
		select {
		case err := <-rejected:
			i := slices.IndexFunc(want, func(w error) bool { return errors.Is(err, w) })
			if i < 0 {
				t.Errorf("the verifying handler reported %v, want one of %v", err, want)
				return breach
			}
			want = slices.Delete(want, i, i+1)
		case <-ctx.Done():
			t.Errorf("the verifying handler did not report the forged events (%v)", want)
			return breach
		}
	}
	// An event signed by auth's key passes, after the forged ones: had
	// one of them reached the handler, it would be first.
	genuineSign, err := signing.Signer(authKey)
	if err != nil {
		t.Fatal(err)
	}
	genuine := m.connect(t, auth, auth, mesh.Config{OnSend: genuineSign})
	if err := genuine.Emit(ctx, "user:logout", map[string]string{"user": "u2"}, mesh.To(herald)); err != nil {
		t.Fatal(err)
	}
	if ev := logins.WaitType(t, "user:logout", 0); !strings.Contains(string(ev.Data), "u2") {
		t.Errorf("a forged event reached the verifying handler: %s", ev.Data)
		return breach
	}
	return detected
}
