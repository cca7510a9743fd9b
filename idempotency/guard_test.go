package idempotency

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const herald = "exprsn-herald"

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	t.Cleanup(cancel)
	return ctx
}

// guarded connects herald with a logger into logged and returns its
// guard.
func guarded(t *testing.T, srv *testutil.Server, logged *testutil.Buffer) (*mesh.Worker, mesh.Middleware) {
	t.Helper()
	w := testutil.Connect(t, srv, herald, mesh.Config{Stream: mesh.StreamConfig{Manage: true},
		Logger: slog.New(slog.NewTextHandler(logged, nil))})
	guard, err := Guard(ctxT(t), w, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return w, guard
}

// TestGuardSkipsWhatItRecorded: an event redelivered after its handler
// succeeded (its acknowledgement lost) is skipped, and the record is the
// guard's.
func TestGuardSkipsWhatItRecorded(t *testing.T) {
	srv := testutil.StartServer(t)
	var logged testutil.Buffer
	w, guard := guarded(t, srv, &logged)
	var deliveries atomic.Int32
	loseFirstAck := func(next mesh.Handler) mesh.Handler {
		return mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
			err := next.HandleEvent(ctx, ev)
			if deliveries.Add(1) == 1 {
				return errors.New("ack lost")
			}
			return err
		})
	}
	sends := testutil.NewRecorder()
	if _, err := w.OnDurable(ctxT(t), "notification:send", sends, mesh.Use(loseFirstAck, guard), mesh.Backoff(50*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := w.Emit(ctxT(t), "notification:send", "email", mesh.ToSelf(), mesh.WithID("e1")); err != nil {
		t.Fatal(err)
	}
	name := subjects.ConsumerName(herald, "notification:send")
	testutil.WaitUntil(t, "the redelivery skipped", func() bool { return w.Stats().Durable[name].Skipped == 1 })
	if n := sends.Len(); n != 1 {
		t.Fatalf("the guarded handler ran %d times, want once", n)
	}
	rec := lastRecord(t, w, &mesh.Event{Event: codec.Event{Source: herald, ID: "e1"}, Handler: name})
	if classify(rec) != own {
		t.Fatalf("the guard's record %+v is not its own", rec)
	}
	if strings.Contains(logged.String(), "level=WARN") {
		t.Fatalf("warnings: %s", logged.String())
	}
}

// TestGuardIgnoresAForeignRecord: another client makes the server write
// the event stream's acknowledgement onto the key of an event the guard
// has not seen, before it comes. The guard handles the event, reports the
// record and overwrites it with its own.
func TestGuardIgnoresAForeignRecord(t *testing.T) {
	srv := testutil.StartServer(t)
	var logged testutil.Buffer
	w, guard := guarded(t, srv, &logged)
	name := subjects.ConsumerName(herald, "notification:send")
	ev := &mesh.Event{Event: codec.Event{Source: herald, ID: "e2"}, Handler: name}
	target := "$KV." + subjects.IdempotencyBucket("ipc", herald) + "." + key(herald, ev)
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := nc.PublishRequest("ipc.exprsn-herald.other.event", target, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	var junk *jetstream.RawStreamMsg
	testutil.WaitUntil(t, "the acknowledgement on the guard's key", func() bool {
		junk = lastRecord(t, w, ev)
		return junk != nil
	})
	if classify(junk) != foreign {
		t.Fatalf("the acknowledgement %q counts as the guard's record", junk.Data)
	}
	sends := testutil.NewRecorder()
	if _, err := w.OnDurable(ctxT(t), "notification:send", sends, mesh.Use(guard)); err != nil {
		t.Fatal(err)
	}
	if err := w.Emit(ctxT(t), "notification:send", "email", mesh.ToSelf(), mesh.WithID("e2")); err != nil {
		t.Fatal(err)
	}
	sends.WaitType(t, "notification:send", 0)
	testutil.WaitUntil(t, "the guard's own record", func() bool {
		rec := lastRecord(t, w, ev)
		return rec != nil && classify(rec) == own
	})
	if s := w.Stats().Durable[name]; s.Skipped != 0 {
		t.Fatalf("stats %+v: the event was skipped", s)
	}
	if out := logged.String(); !strings.Contains(out, "ignored a record the guard did not write") || !strings.Contains(out, `{\"stream\":\"MESH_ipc\"`) {
		t.Fatalf("the foreign record was not reported with what it held: %s", out)
	}
}

// TestBucketAllowsNoDirectGet: the bucket's stream allows neither direct
// gets nor roll-ups, and a provisioned guard refuses a bucket that allows
// direct gets.
func TestBucketAllowsNoDirectGet(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams("ipc"))
	cfg := BucketConfig("ipc", herald, 0, jetstream.StreamConfig{Replicas: 1})
	if cfg.Name != "KV_MESH_ipc_handled_exprsn-herald" || cfg.AllowDirect || cfg.AllowRollup || cfg.MaxAge != DefaultTTL {
		t.Fatalf("BucketConfig = %+v", cfg)
	}
	w := testutil.Connect(t, srv, herald, mesh.Config{Stream: mesh.StreamConfig{Provisioned: true}})
	if _, err := w.JetStream().CreateKeyValue(ctxT(t), jetstream.KeyValueConfig{Bucket: subjects.IdempotencyBucket("ipc", herald)}); err != nil {
		t.Fatal(err)
	}
	if _, err := Guard(ctxT(t), w, 0); err == nil || !strings.Contains(err.Error(), "direct gets") {
		t.Fatalf("Guard on a bucket with direct gets: %v, want a refusal", err)
	}
	if _, err := w.JetStream().UpdateStream(ctxT(t), cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := Guard(ctxT(t), w, 0); err != nil {
		t.Fatalf("Guard on the bucket as BucketConfig makes it: %v", err)
	}
}

// lastRecord returns the last message on ev's key in w's bucket, or nil.
func lastRecord(t *testing.T, w *mesh.Worker, ev *mesh.Event) *jetstream.RawStreamMsg {
	t.Helper()
	bucket := subjects.IdempotencyBucket("ipc", herald)
	s, err := w.JetStream().Stream(ctxT(t), "KV_"+bucket)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetLastMsgForSubject(ctxT(t), "$KV."+bucket+"."+key(herald, ev))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return msg
}
