package securitytest

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/deadletter"
	"github.com/exprsn/ipcmesh/internal/operator/stats"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/signing"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// TestReflectedKeyForgesNothing is the forgery the reflections aimed at:
// exprsn-herald writes a guard record holding a key of its own and has it
// answered onto exprsn-auth's signing key, then sends an event claiming
// exprsn-auth, signed with that key, to a handler that verifies sources.
// The guard's bucket allows no direct get; the message get's answer lands
// as JSON, which the verifier's Bucket rejects and reports: the forged
// event is refused as forged, and auth's own still passes.
func TestReflectedKeyForgesNothing(t *testing.T) {
	m := startSecureMesh(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*testutil.DefaultWait)
	defer cancel()
	evil := must(t, nkeys.CreateUser)
	nc, err := nats.Connect(m.URL(), m.credentials(herald)...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	hb := subjects.IdempotencyBucket("ipc", herald)
	if errorAnswer(t, nc, &nats.Msg{Subject: "$KV." + hb + ".zz", Data: []byte(publicKey(t, evil))}) {
		t.Fatal("herald may not write its own guard record")
	}
	for _, get := range []*nats.Msg{
		{Subject: "$JS.API.DIRECT.GET.KV_" + hb + ".$KV." + hb + ".zz"},
		{Subject: "$JS.API.STREAM.MSG.GET.KV_" + hb, Data: []byte(`{"last_by_subj":"$KV.` + hb + `.zz"}`)},
	} {
		get.Reply = keyOf(auth)
		if err := nc.PublishMsg(get); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, 8)
	ver := m.connect(t, audit, audit, mesh.Config{OnError: func(err error) { errs <- err }})
	var logged testutil.Buffer
	keys, err := signing.BucketKeys(ctx, ver.JetStream(), "ipc", signing.CacheTTL(time.Nanosecond), signing.Logger(slog.New(slog.NewTextHandler(&logged, nil))))
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitUntil(t, "the message get's answer on auth's key", func() bool {
		_, _ = keys.Keys(ctx, auth)
		return strings.Contains(logged.String(), "rejected an entry")
	})
	got := testutil.NewRecorder()
	if _, err := ver.On(ctx, "user:logout", got, mesh.Use(signing.Verify(keys))); err != nil {
		t.Fatal(err)
	}
	forged, genuine := newSigner(t, evil), newSigner(t, m.authKey)
	impostor := m.connect(t, herald, auth, mesh.Config{OnSend: forged})
	if err := impostor.Emit(ctx, "user:logout", "forged", mesh.To(audit)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if !errors.Is(err, signing.ErrForged) {
			t.Fatalf("the verifier reported %v, want ErrForged", err)
		}
	case <-ctx.Done():
		t.Fatal("the forged event was not reported")
	}
	if err := m.connect(t, auth, auth, mesh.Config{OnSend: genuine}).Emit(ctx, "user:logout", "genuine", mesh.To(audit)); err != nil {
		t.Fatal(err)
	}
	if ev := got.WaitType(t, "user:logout", 0); !strings.Contains(string(ev.Data), "genuine") {
		t.Fatalf("the verifying handler got %s", ev.Data)
	}
}

// TestDeliveryReflectionIsNoDeadLetter shows a residual of the
// reflections (docs/security.md): a durable service pulls from its own
// consumer with another's dead-letter subject as the reply. The delivery
// is stored in the dead-letter stream, under the event's own subject: it
// uses space, and is no dead letter of anyone's.
func TestDeliveryReflectionIsNoDeadLetter(t *testing.T) {
	m := startSecureMesh(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	defer cancel()
	op := m.connect(t, permissions.OperatorName, "meshctl", mesh.Config{})
	if err := m.connect(t, timeline, timeline, mesh.Config{}).Emit(ctx, "content:submitted", "x", mesh.To(moderator)); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(m.URL(), m.credentials(moderator)...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	dlq := subjects.DeadLetterStream("ipc")
	s, err := op.JetStream().Stream(ctx, dlq)
	if err != nil {
		t.Fatal(err)
	}
	next := "$JS.API.CONSUMER.MSG.NEXT." + subjects.EventStream("ipc") + "." + moderatorSubmitted
	if err := nc.PublishRequest(next, subjects.DeadLetterSubject("ipc", herald, "ipc.exprsn-herald.notification.queued"), []byte(`{"batch":1}`)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitUntil(t, "the delivery in the dead-letter stream", func() bool {
		info, err := s.Info(ctx)
		return err == nil && info.State.Msgs == 1
	})
	msg, err := s.GetMsg(ctx, 1)
	if err != nil || msg.Subject != "ipc.exprsn-moderator.content.submitted" {
		t.Fatalf("the stored delivery: %+v, %v; want it under the event's subject", msg, err)
	}
	if list, err := deadletter.New(op.JetStream(), "ipc").List(ctx, "", 1, 0); err != nil || len(list) != 0 {
		t.Fatalf("dead letters: %+v, %v; want none", list, err)
	}
}

// TestStatsAnswersAreClaims shows a residual (docs/security.md): every
// service hears the operator's stats request and may answer it, so an
// answer's service name is a claim. exprsn-timeline answers as an
// instance of exprsn-herald, and the operator's report shows it.
func TestStatsAnswersAreClaims(t *testing.T) {
	m := startSecureMesh(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	defer cancel()
	op := m.connect(t, permissions.OperatorName, "meshctl", mesh.Config{})
	nc, err := nats.Connect(m.URL(), m.credentials(timeline)...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Subscribe(subjects.StatsSubject("ipc"), func(msg *nats.Msg) {
		forged, _ := json.Marshal(mesh.InstanceStats{Instance: "forged", Stats: mesh.Stats{Service: herald, Namespace: "ipc"}})
		_ = msg.Respond(forged)
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil || nc.LastError() != nil {
		t.Fatalf("subscribe: %v, %v", err, nc.LastError())
	}
	g := stats.NewGatherer(op.Conn(), op.JetStream(), "ipc", func(context.Context) (*stats.ServerStats, error) { return nil, nil })
	r, err := g.Gather(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := r.Services[herald]
	if s == nil || !slices.ContainsFunc(s.Instances, func(in mesh.InstanceStats) bool { return in.Instance == "forged" }) {
		t.Fatalf("the report's %s: %+v; docs/security.md says a forged answer shows", herald, s)
	}
}

// newSigner returns kp's signing.Signer.
func newSigner(t *testing.T, kp nkeys.KeyPair) func(context.Context, mesh.Send) func(error) {
	t.Helper()
	sign, err := signing.Signer(kp)
	if err != nil {
		t.Fatal(err)
	}
	return sign
}
