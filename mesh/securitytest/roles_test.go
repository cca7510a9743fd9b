package securitytest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/edge"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/signing"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	sse "github.com/tmaxmax/go-sse"
)

// The users of the roles beyond the seed's services: a browser straight
// on NATS that sees new posts and its user's own events, a service that
// runs an SSE edge of new posts, and a service that reads signing keys.
const (
	browser = "browser-u42"
	web     = "exprsn-web"
	audit   = "exprsn-audit"
	// feed is the subject of the edge's one feed, new posts.
	feed = "ipc.all.post.created"
)

// roles are the services of the roles; the browser is browserRole.
var (
	roles = []permissions.Service{
		{Name: web, Edge: []permissions.Feed{{Event: "post:created"}}},
		{Name: audit, SigningKeys: true},
	}
	browserRole = permissions.Browser{Name: browser, Feeds: []permissions.Feed{{Event: "post:created"}, {Event: "user:u42:>"}}}
)

// roleUsers returns users, the seed's, with the roles' users added and the
// operator's permissions those ForServices gives with them (it publishes
// the signing keys too). ForServices is given what of the seed's services
// shapes the others' permissions: the durable consumers, which the edge
// is denied, and the guards' buckets, which the operator manages.
func roleUsers(t *testing.T, users []permissions.User) []permissions.User {
	t.Helper()
	services := make([]permissions.Service, 0, len(seed.Services)+len(roles))
	for _, s := range seed.Services {
		ps := permissions.Service{Name: s.Name, IdempotencyGuard: s.IdempotencyGuard}
		for _, h := range s.Durable {
			ps.Durable = append(ps.Durable, h.Event)
		}
		services = append(services, ps)
	}
	all, err := permissions.ForServices("ipc", append(services, roles...)...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := permissions.ForBrowser("ipc", browserRole)
	if err != nil {
		t.Fatal(err)
	}
	n := len(seed.Services)
	out := append(users[:n:n], all[n:n+len(roles)]...) // the seed's services, the roles'
	return append(out, b, all[len(all)-1])             // the browser, the operator
}

// roleAttacks are the attacks of the roles' users, each with its own
// credentials: a browser that publishes, reads outside its feeds, takes a
// share of a service's events or connects without WebSocket; an edge that
// reads outside its feed by every consumer configuration, reaches the
// durable consumers or reads the streams; a key reader that writes,
// changes or watches the keys.
func roleAttacks() []attack {
	events, dlq := subjects.EventStream("ipc"), subjects.DeadLetterStream("ipc")
	bucket := signing.BucketName("ipc")
	keys := "KV_" + bucket
	create := func(name string, config map[string]any) map[string]any {
		config["name"] = name
		return map[string]any{"stream_name": events, "config": config}
	}
	return []attack{
		{name: "a browser emits an event", by: browser, subject: feed},
		{name: "a browser sends a request", by: browser, subject: "_rpc.ipc.exprsn-auth.session.validate"},
		{name: "a browser calls the JetStream API", by: browser, subject: "$JS.API.STREAM.INFO." + events},
		{name: "a browser answers on another's inbox", by: browser, subject: "_INBOX_exprsn-auth.x"},
		{name: "a browser reads another user's events", by: browser, subscribe: true, subject: "ipc.all.user.u7.>"},
		{name: "a browser reads every user's events", by: browser, subscribe: true, subject: "ipc.all.user.*.>"},
		{name: "a browser reads every broadcast", by: browser, subscribe: true, subject: "ipc.all.>"},
		{name: "a browser reads a service's events", by: browser, subscribe: true, subject: "ipc.exprsn-herald.>"},
		{name: "a browser reads the replies", by: browser, subscribe: true, subject: "_INBOX.>"},
		{name: "a browser joins a service's queue group on its feed", by: browser, subscribe: true, subject: feed, queue: "exprsn-timeline:post:created"},
		{name: "a browser connects over plain TCP", by: browser, plainTCP: true},

		{name: "an edge's consumer of another's events", by: web, subject: "$JS.API.CONSUMER.CREATE." + events + ".spy.ipc.exprsn-herald.>"},
		{name: "an edge's consumer of every broadcast", by: web, subject: "$JS.API.CONSUMER.CREATE." + events + ".spy.ipc.all.>"},
		{name: "an edge's consumer without its filter in the subject", by: web, subject: "$JS.API.CONSUMER.CREATE." + events + ".spy",
			body: create("spy", map[string]any{"filter_subjects": []string{feed, "ipc.exprsn-herald.>"}})},
		{name: "an edge's consumer whose filter is not its subject's", by: web, api: true, subject: "$JS.API.CONSUMER.CREATE." + events + ".spy." + feed,
			body: create("spy", map[string]any{"filter_subject": "ipc.exprsn-herald.>"})},
		{name: "an edge's consumer with more filters behind its feed", by: web, api: true, subject: "$JS.API.CONSUMER.CREATE." + events + ".spy." + feed,
			body: create("spy", map[string]any{"filter_subjects": []string{feed, "ipc.exprsn-herald.>"}})},
		{name: "an edge's durable consumer (legacy API)", by: web, subject: "$JS.API.CONSUMER.DURABLE.CREATE." + events + ".spy",
			body: map[string]any{"stream_name": events, "config": map[string]any{"durable_name": "spy", "filter_subject": feed}}},
		{name: "an edge's ephemeral consumer (legacy API)", by: web, subject: "$JS.API.CONSUMER.CREATE." + events,
			body: map[string]any{"stream_name": events, "config": map[string]any{"filter_subject": feed}}},
		{name: "an edge re-points another's consumer to its feed", by: web, subject: "$JS.API.CONSUMER.CREATE." + events + "." + heraldQueued + "." + feed,
			body: map[string]any{"stream_name": events, "config": map[string]any{"durable_name": heraldQueued, "filter_subject": feed}}},
		{name: "an edge pulls from another's consumer", by: web, subject: "$JS.API.CONSUMER.MSG.NEXT." + events + "." + heraldQueued, body: map[string]any{"batch": 1}},
		{name: "an edge reads another's consumer's state", by: web, subject: "$JS.API.CONSUMER.INFO." + events + "." + moderatorSubmitted},
		{name: "an edge deletes another's consumer", by: web, subject: "$JS.API.CONSUMER.DELETE." + events + "." + heraldQueued},
		{name: "an edge pauses another's consumer", by: web, subject: "$JS.API.CONSUMER.PAUSE." + events + "." + moderatorSubmitted},
		{name: "an edge lists the consumers", by: web, subject: "$JS.API.CONSUMER.NAMES." + events},
		{name: "an edge acknowledges another's delivery", by: web, subject: "$JS.ACK." + events + "." + heraldQueued + ".1.1.1.1.0"},
		{name: "an edge's consumer of the dead letters", by: web, subject: "$JS.API.CONSUMER.CREATE." + dlq + ".spy." + feed},
		{name: "an edge reads a stored event by sequence", by: web, subject: "$JS.API.DIRECT.GET." + events, body: map[string]any{"seq": 1}},
		{name: "an edge hears the consumers' advisories", by: web, subscribe: true, subject: "$JS.EVENT.ADVISORY.CONSUMER.>"},

		{name: "a key reader writes a key", by: audit, subject: "$KV." + bucket + "." + auth, body: "UFORGED"},
		{name: "a key reader deletes a key", by: audit, subject: "$JS.API.STREAM.MSG.DELETE." + keys, body: map[string]any{"seq": 1}},
		{name: "a key reader purges the keys", by: audit, subject: "$JS.API.STREAM.PURGE." + keys},
		{name: "a key reader re-creates the bucket", by: audit, subject: "$JS.API.STREAM.CREATE." + keys, body: map[string]any{"name": keys}},
		{name: "a key reader transforms the bucket", by: audit, subject: "$JS.API.STREAM.UPDATE." + keys,
			body: map[string]any{"name": keys, "subjects": []string{"$KV." + bucket + ".>"}, "subject_transform": map[string]string{"src": "$KV." + bucket + ".>", "dest": "$KV." + bucket + ".x"}}},
		{name: "a key reader deletes the bucket", by: audit, subject: "$JS.API.STREAM.DELETE." + keys},
		{name: "a key reader watches the bucket", by: audit, subject: "$JS.API.CONSUMER.CREATE." + keys + ".spy.$KV." + bucket + ".>"},
		{name: "a key reader direct-gets from the bucket", by: audit, subject: "$JS.API.DIRECT.GET." + keys, body: map[string]any{"seq": 1}},
		{name: "a key reader direct-gets a key", by: audit, subject: "$JS.API.DIRECT.GET." + keys + ".$KV." + bucket + "." + auth},
		{name: "a key reader reads a guard's records", by: audit, subject: "$JS.API.DIRECT.GET.KV_" + subjects.IdempotencyBucket("ipc", herald) + ".$KV." + subjects.IdempotencyBucket("ipc", herald) + ".x"},
		{name: "a browser subscribes to its feed's prefix", by: browser, subscribe: true, subject: "ipc.all.post.*"},
		{name: "a browser subscribes to the bare user token", by: browser, subscribe: true, subject: "ipc.all.user.u42"},
		{name: "an edge's consumer of the schedule stream", by: web, subject: "$JS.API.CONSUMER.CREATE." + subjects.ScheduleStream("ipc") + ".spy." + feed},
		{name: "an edge's consumer of the schedule firings", by: web, subject: "$JS.API.CONSUMER.CREATE." + subjects.ScheduleStream("ipc") + ".spy._sched.ipc.fire.>"},
	}
}

// answerRefused sends a JetStream API request that the permissions allow
// and reports whether the server answered it with an error.
func answerRefused(t *testing.T, nc *nats.Conn, a attack, body []byte) bool {
	t.Helper()
	inbox := nc.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.PublishRequest(a.subject, inbox, body); err != nil {
		t.Fatal(err)
	}
	reply, err := sub.NextMsg(testutil.DefaultWait)
	if err != nil {
		t.Fatalf("%s: no answer: %v (last error: %v)", a.name, err, nc.LastError())
	}
	var answer struct {
		Error *struct{ Description string } `json:"error"`
	}
	if err := json.Unmarshal(reply.Data, &answer); err != nil {
		t.Fatalf("%s: answer %q: %v", a.name, reply.Data, err)
	}
	return answer.Error != nil
}

// TestBrowserReadsItsFeeds connects the browser over WebSocket, as nats.ws
// does: it receives new posts and its user's events, and its connection
// sees no refusal.
func TestBrowserReadsItsFeeds(t *testing.T) {
	m := startSecureMesh(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	defer cancel()
	nc, err := nats.Connect(m.urlOf(browser), m.credentials(browser)...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	got := make(chan *nats.Msg, 8)
	for _, subject := range []string{feed, "ipc.all.user.u42.>"} {
		if _, err := nc.ChanSubscribe(subject, got); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil || nc.LastError() != nil {
		t.Fatalf("subscribe: %v, %v", err, nc.LastError())
	}
	tl := m.connect(t, timeline, timeline, mesh.Config{})
	for _, event := range []string{"user:u7:notification", "post:created", "user:u42:notification"} {
		if err := tl.Emit(ctx, event, map[string]string{"event": event}); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{feed, "ipc.all.user.u42.notification"} {
		select {
		case msg := <-got:
			if msg.Subject != want {
				t.Fatalf("the browser received %s, want %s", msg.Subject, want)
			}
		case <-ctx.Done():
			t.Fatalf("the browser did not receive %s", want)
		}
	}
	if err := nc.LastError(); err != nil {
		t.Fatalf("the browser's connection: %v", err)
	}
}

// TestEdgeWorksUnderItsRole serves new posts from the event stream through
// an edge.Handler whose worker has the edge's permissions: a browser that
// resumes from the start gets the stored posts (a consumer of the edge's
// own, deleted after), then a live one, and the worker sees no refusal.
func TestEdgeWorksUnderItsRole(t *testing.T) {
	m := startSecureMesh(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*testutil.DefaultWait)
	defer cancel()
	refusals := make(chan error, 16)
	onError := func(err error) {
		if errors.Is(err, nats.ErrPermissionViolation) {
			refusals <- err
		}
	}
	tl := m.connect(t, timeline, timeline, mesh.Config{})
	for i := range 3 {
		if err := tl.Emit(ctx, "post:created", i); err != nil {
			t.Fatal(err)
		}
	}
	w := m.connect(t, web, web, mesh.Config{OnError: onError})
	h, err := edge.New(ctx, w, edge.Config{Events: []string{"post:created"}, Targets: []string{subjects.Broadcast}, Authorize: edge.Public})
	if err != nil {
		t.Fatalf("edge.New with the edge's permissions: %v", err)
	}
	defer h.Close(ctx)
	srv := httptest.NewServer(h)
	defer srv.Close()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Last-Event-ID", "0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ids []string
	for ev, err := range sse.Read(resp.Body, nil) {
		if err != nil {
			t.Fatalf("after %q: %v", ids, err)
		}
		if ev.Type != "post:created" {
			continue
		}
		ids = append(ids, ev.LastEventID)
		if len(ids) == 3 { // caught up: one live post
			if err := tl.Emit(ctx, "post:created", 3); err != nil {
				t.Fatal(err)
			}
		}
		if len(ids) == 4 {
			break
		}
	}
	if strings.Join(ids, ",") != "1,2,3,4" {
		t.Fatalf("the browser got the posts %q, want 1,2,3,4", ids)
	}
	if s := h.Stats(); s.Resumed != 1 {
		t.Fatalf("stats %+v: want one resume", s)
	}
	select {
	case err := <-refusals:
		t.Fatalf("the edge's worker was refused: %v", err)
	default:
	}
}

// TestKeyReaderReadsKeys: with Service.SigningKeys, a worker reads the key
// the operator published.
func TestKeyReaderReadsKeys(t *testing.T) {
	m := startSecureMesh(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	defer cancel()
	w := m.connect(t, audit, audit, mesh.Config{})
	keys, err := signing.BucketKeys(ctx, w.JetStream(), "ipc")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := keys.Keys(ctx, auth); err != nil || len(got) != 1 || !strings.HasPrefix(got[0], "U") {
		t.Fatalf("keys of %s: %q, %v", auth, got, err)
	}
}

// TestEdgeRoleLimits shows what docs/security.md says the edge's grant
// still allows: any configuration of a consumer of its feed, a durable or
// a push consumer included, since nats-server checks the filter of the
// API subject and permissions cannot read the request. Such a consumer
// gets the feed's events and nothing else.
func TestEdgeRoleLimits(t *testing.T) {
	m := startSecureMesh(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	defer cancel()
	tl := m.connect(t, timeline, timeline, mesh.Config{})
	for _, event := range []string{"post:created", "post:deleted"} {
		if err := tl.Emit(ctx, event, nil); err != nil {
			t.Fatal(err)
		}
	}
	nc, err := nats.Connect(m.URL(), m.credentials(web)...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	events := subjects.EventStream("ipc")
	cons, err := js.CreateConsumer(ctx, events, jetstream.ConsumerConfig{Durable: "kept", FilterSubject: feed, DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		t.Fatalf("a durable consumer of the edge's feed: %v", err)
	}
	batch, err := cons.FetchNoWait(10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for msg := range batch.Messages() {
		got = append(got, msg.Subject())
		_ = msg.Ack()
	}
	if strings.Join(got, ",") != feed {
		t.Fatalf("the edge's durable consumer got %q, want its feed only", got)
	}
	push := map[string]any{"stream_name": events, "config": map[string]any{"name": "push", "filter_subject": feed, "deliver_subject": "_somewhere.else"}}
	body, _ := json.Marshal(push)
	if answerRefused(t, nc, attack{name: "push consumer", subject: "$JS.API.CONSUMER.CREATE." + events + ".push." + feed}, body) {
		t.Fatal("the server refused a push consumer of the edge's feed; docs/security.md says it allows it")
	}
	for _, name := range []string{"kept", "push"} {
		if err := js.DeleteConsumer(ctx, events, name); err != nil {
			t.Fatalf("the edge deletes its consumer %s: %v", name, err)
		}
	}
}
