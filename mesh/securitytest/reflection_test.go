package securitytest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/idempotency"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/signing"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
)

// reflection is an attack of the reply-subject reflection class: by makes
// the server, or a victim, publish onto target, a subject of a stream
// that by may not publish to. nats-server does not check a reply subject
// against the publisher's permissions (but for JetStream's own subjects),
// and JetStream answers to any reply subject: a publish acknowledgement,
// an API answer, a pull's status. The answer is stored where it lands; its
// victim must reject it.
type reflection struct {
	name, by string
	target   string
	// send makes the attempt on by's connection nc, with target as the
	// reply subject. It returns true when it was refused outright: a
	// permissions violation, an error answer, or the victim's report that
	// it would not answer there.
	send func(ctx context.Context, t *testing.T, v *victims, nc *nats.Conn, target string) bool
	// rejected says, once something landed on target at sequence landed,
	// whether its victim rejected it (and reported it); nil for an
	// attempt that must not land at all.
	rejected func(ctx context.Context, t *testing.T, v *victims, landed uint64) bool
	// cleanup, if set, undoes what send set up.
	cleanup func(ctx context.Context, t *testing.T, nc *nats.Conn)
}

// reflectionWait is how long an attempt that was not refused outright has
// to land: JetStream answers within milliseconds.
const reflectionWait = time.Second

// victims are what the reflections aim at, running: the operator, a key
// reader, herald's guarded durable handler, auth's responder, and the
// signing keys the operator published.
type victims struct {
	op, reader jetstream.JetStream // the operator's, exprsn-audit's
	keys       map[string]string   // the published keys, by service
	timeline   *mesh.Worker        // emits the guarded events
	herald     *mesh.Worker
	guarded    *testutil.Recorder // herald's guarded handler of notification:*
	guardLog   *testutil.Buffer   // herald's log
	authErrs   *reports           // what auth reports
}

// guardedHandler is the consumer of herald's guarded handler.
var guardedHandler = subjects.ConsumerName(herald, "notification:*")

// reports collects the errors a worker reports.
type reports struct {
	mu   sync.Mutex
	errs []error
}

func (r *reports) add(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

func (r *reports) mention(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.errs, func(err error) bool { return strings.Contains(err.Error(), s) })
}

// newVictims publishes a signing key for every service and role, and
// starts herald's guarded handler and auth's responder.
func (m *secureMesh) newVictims(ctx context.Context, t *testing.T) *victims {
	t.Helper()
	op := m.connect(t, permissions.OperatorName, "meshctl", mesh.Config{})
	v := &victims{op: op.JetStream(), keys: map[string]string{auth: publicKey(t, m.authKey)},
		guarded: testutil.NewRecorder(), guardLog: &testutil.Buffer{}, authErrs: &reports{}}
	for _, s := range []string{timeline, herald, spark, moderator, audit, web} {
		v.keys[s] = publicKey(t, must(t, nkeys.CreateUser))
	}
	if err := signing.PublishKeys(ctx, v.op, "ipc", v.keys); err != nil {
		t.Fatal(err)
	}
	v.reader = m.connect(t, audit, audit, mesh.Config{}).JetStream()
	v.timeline = m.connect(t, timeline, timeline, mesh.Config{})
	v.herald = m.connect(t, herald, herald, mesh.Config{Logger: slog.New(slog.NewTextHandler(v.guardLog, nil))})
	guard, err := idempotency.Guard(ctx, v.herald, 0)
	if err != nil {
		t.Fatal(err)
	}
	opts := append(seed.Services[1].Durable[2].Options(), mesh.Use(guard)) // notification:*
	if _, err := v.herald.OnDurable(ctx, "notification:*", v.guarded, opts...); err != nil {
		t.Fatal(err)
	}
	au := m.connect(t, auth, auth, mesh.Config{OnError: v.authErrs.add})
	if _, err := au.OnRequest(ctx, "session:reflect", mesh.ResponderFunc(func(context.Context, *mesh.Event) (any, error) {
		return v.keys[timeline], nil
	})); err != nil {
		t.Fatal(err)
	}
	return v
}

// reflect runs r and says how it ended: refused when nothing landed on
// its target, detected when what landed was rejected, breach otherwise.
func (m *secureMesh) reflect(ctx context.Context, t *testing.T, v *victims, r reflection) string {
	t.Helper()
	js, stream := v.op, streamOf(r.target)
	if stream == keysStream {
		js = v.reader
	}
	read := func() uint64 { return lastOn(ctx, t, js, stream, r.target) }
	before := read()
	nc, err := nats.Connect(m.urlOf(r.by), append(m.credentials(r.by), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))...)
	if err != nil {
		t.Fatalf("%s: connect: %v", r.name, err)
	}
	defer nc.Close()
	if r.cleanup != nil {
		defer r.cleanup(ctx, t, nc)
	}
	if r.send(ctx, t, v, nc, r.target) {
		return refused
	}
	landed := waitChange(read, before)
	switch {
	case landed == 0:
		return refused
	case r.rejected != nil && r.rejected(ctx, t, v, landed):
		return detected
	}
	return breach
}

// waitChange waits up to reflectionWait for read to return other than
// before, and returns it, or 0.
func waitChange(read func() uint64, before uint64) uint64 {
	deadline := time.Now().Add(reflectionWait)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if seq := read(); seq != before {
			return seq
		}
		<-tick.C
	}
	return 0
}

// keysStream is the stream of the signing keys' bucket.
var keysStream = "KV_" + signing.BucketName("ipc")

// streamOf is the stream that stores target.
func streamOf(target string) string {
	switch {
	case strings.HasPrefix(target, "$KV."):
		bucket, _, _ := strings.Cut(strings.TrimPrefix(target, "$KV."), ".")
		return "KV_" + bucket
	case strings.HasPrefix(target, subjects.SchedulePrefix+"."):
		return subjects.ScheduleStream("ipc")
	}
	return subjects.DeadLetterStream("ipc")
}

// lastOn is the sequence of the last message on subject in stream, 0 if
// none.
func lastOn(ctx context.Context, t *testing.T, js jetstream.JetStream, stream, subject string) uint64 {
	t.Helper()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	msg, err := s.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0
	}
	if err != nil {
		t.Fatalf("read %s in %s: %v", subject, stream, err)
	}
	return msg.Sequence
}

// keyOf is the subject of service's entry in the signing keys' bucket.
func keyOf(service string) string { return "$KV." + signing.BucketName("ipc") + "." + service }

// keysRejected reads service's keys as a verifier does, uncached: they
// must be the operator's, or refused with ErrRejectedEntry when none of
// the operator's is left, and the rejected entry reported.
func (v *victims) keysRejected(ctx context.Context, t *testing.T, service string) bool {
	t.Helper()
	var logged testutil.Buffer
	b, err := signing.BucketKeys(ctx, v.reader, "ipc", signing.CacheTTL(time.Nanosecond), signing.Logger(slog.New(slog.NewTextHandler(&logged, nil))))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := b.Keys(ctx, service)
	ok := err == nil && slices.Equal(keys, []string{v.keys[service]}) || errors.Is(err, signing.ErrRejectedEntry)
	if !ok {
		t.Errorf("the keys of %s as a verifier reads them: %q, %v; want the operator's %s", service, keys, err, v.keys[service])
	}
	return ok && strings.Contains(logged.String(), "level=WARN")
}

// guardKey is the subject of herald's guard record of the event with id
// from source, for its guarded handler (see idempotency.Guard).
func guardKey(source, id string) string {
	return "$KV." + subjects.IdempotencyBucket("ipc", herald) + "." + herald + "." +
		base64.RawURLEncoding.EncodeToString([]byte(guardedHandler)) + "." + subjects.DuplicateKey(source, id)
}

// guardHandles emits the event id to herald, whose guard found a foreign
// record on its key: the handler must get it, and the guard report the
// record.
func (v *victims) guardHandles(ctx context.Context, t *testing.T, id string) bool {
	t.Helper()
	if err := v.timeline.Emit(ctx, "notification:reflected", nil, mesh.To(herald), mesh.WithID(id)); err != nil {
		t.Fatal(err)
	}
	skipped := v.herald.Stats().Durable[guardedHandler].Skipped
	handled := func(evs []*mesh.Event) bool {
		return slices.ContainsFunc(evs, func(ev *mesh.Event) bool { return ev.ID == id })
	}
	deadline := time.Now().Add(testutil.DefaultWait)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		switch {
		case handled(v.guarded.Events()):
			return strings.Contains(v.guardLog.String(), "ignored a record the guard did not write")
		case v.herald.Stats().Durable[guardedHandler].Skipped > skipped:
			t.Errorf("herald's guard skipped the event %s for a record it did not write", id)
			return false
		}
		<-tick.C
	}
	t.Errorf("herald's guarded handler never got the event %s", id)
	return false
}

// refusedOutright flushes nc and reports whether the server refused what
// it sent.
func refusedOutright(t *testing.T, nc *nats.Conn) bool {
	t.Helper()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return errors.Is(nc.LastError(), nats.ErrPermissionViolation)
}

// errorAnswer sends msg as a request and reports whether JetStream
// answered with an error.
func errorAnswer(t *testing.T, nc *nats.Conn, msg *nats.Msg) bool {
	t.Helper()
	reply, err := nc.RequestMsg(msg, testutil.DefaultWait)
	if err != nil {
		t.Fatalf("%s: %v", msg.Subject, err)
	}
	var answer struct {
		Error *struct{ Description string } `json:"error"`
	}
	return json.Unmarshal(reply.Data, &answer) == nil && answer.Error != nil
}
