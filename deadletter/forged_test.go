package deadletter_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/deadletter"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
)

// maxMessage bounds what the package's errors and DeadLetter.Invalid may
// be, whatever a dead letter's writer put in its headers (each value is
// quoted cut to 256 bytes).
const maxMessage = 2048

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testutil.DefaultWait)
	t.Cleanup(cancel)
	return ctx
}

// forge stores a dead letter on subject as any publisher allowed on it
// could (a service may publish on _dlq.<ns>.<itself>.>), and returns its
// sequence in the dead-letter stream.
func forge(t *testing.T, w *mesh.Worker, subject string, h nats.Header, body string) uint64 {
	t.Helper()
	ack, err := w.JetStream().PublishMsg(ctxFor(t), &nats.Msg{Subject: subject, Header: h, Data: []byte(body)})
	if err != nil {
		t.Fatalf("forge a dead letter on %s: %v", subject, err)
	}
	return ack.Sequence
}

func structured(id string) string {
	return `{"specversion":"1.0","id":"` + id + `","source":"exprsn-evil","type":"order:placed","datacontenttype":"application/json","data":{"x":1}}`
}

// eventCount returns how many events the namespace's event stream holds.
func eventCount(t *testing.T, w *mesh.Worker) uint64 {
	t.Helper()
	s, err := w.JetStream().Stream(ctxFor(t), subjects.EventStream(w.Namespace()))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// checkRefused checks that the dead letter at seq reads as inconsistent,
// saying why in wantWhy, with bounded messages, that Redrive refuses it
// and leaves it, and that nothing reached the event stream.
func checkRefused(t *testing.T, w *mesh.Worker, q *deadletter.Queue, seq uint64, wantWhy string) {
	t.Helper()
	ctx := ctxFor(t)
	before := eventCount(t, w)
	dl, err := q.Get(ctx, seq)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !strings.Contains(dl.Invalid, wantWhy) || len(dl.Invalid) > maxMessage {
		t.Errorf("Invalid (%d bytes) = %.300q, want it to say %q", len(dl.Invalid), dl.Invalid, wantWhy)
	}
	if dl.Service != "" && strings.Contains(dl.Invalid, subjects.HeaderDeadLetterService) {
		t.Errorf("Service = %q for a dead letter whose service header disagrees with its subject", dl.Service)
	}
	err = q.Redrive(ctx, seq)
	if !errors.Is(err, deadletter.ErrInconsistent) || len(err.Error()) > maxMessage {
		t.Fatalf("Redrive: %.300v (%d bytes), want a bounded ErrInconsistent", err, len(errText(err)))
	}
	if _, err := q.Get(ctx, seq); err != nil {
		t.Errorf("the refused dead letter was removed: %v", err)
	}
	if after := eventCount(t, w); after != before {
		t.Errorf("the event stream holds %d events after a refused re-drive, want %d", after, before)
	}
	if err := w.Healthy(); err != nil {
		t.Fatalf("worker unhealthy: %v", err)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// A dead letter belongs to the service of its subject: one stored on
// exprsn-evil's dead-letter subject that names exprsn-victim in its
// Mesh-Dlq-Service header is listed under exprsn-evil as inconsistent, of
// no service, and is never re-driven to exprsn-victim.
func TestADeadLetterBelongsToTheServiceOfItsSubject(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, srv, "exprsn-evil")
	ns := w.Namespace()
	q := deadletter.New(w.JetStream(), ns)
	seq := forge(t, w, "_dlq."+ns+".exprsn-evil.order.placed", nats.Header{
		subjects.HeaderDeadLetterService: {"exprsn-victim"},
		subjects.HeaderDeadLetterSubject: {ns + ".exprsn-evil.order.placed"},
	}, structured("forged-1"))
	list, err := q.List(ctxFor(t), "exprsn-evil", seq, 1)
	if err != nil || len(list) != 1 {
		t.Fatalf("List(exprsn-evil): %d letters, %v", len(list), err)
	}
	if list[0].Service != "" || !strings.Contains(list[0].Invalid, `says "exprsn-victim"`) {
		t.Fatalf("listed as a dead letter of %q, Invalid %q; want of no service, inconsistent", list[0].Service, list[0].Invalid)
	}
	if victims, err := q.List(ctxFor(t), "exprsn-victim", 1, 0); err != nil || len(victims) != 0 {
		t.Fatalf("List(exprsn-victim): %d letters, %v; want none", len(victims), err)
	}
	checkRefused(t, w, q, seq, "stored as a dead letter of exprsn-evil")
}

// Dead letters with forged or oversized headers read as inconsistent,
// saying why in bounded messages, and are not re-driven; a consistent one
// of the service's own with odd numbers is re-driven, to its service only.
func TestForgedDeadLettersAreRefusedWithBoundedMessages(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, srv, "exprsn-evil")
	ns := w.Namespace()
	q := deadletter.New(w.JetStream(), ns)
	huge := strings.Repeat("h", 60_000)
	own := func(h nats.Header) nats.Header {
		h[subjects.HeaderDeadLetterService] = []string{"exprsn-evil"}
		return h
	}
	tests := []struct {
		name    string
		h       nats.Header
		wantWhy string
	}{
		{"huge service header", nats.Header{subjects.HeaderDeadLetterService: {huge}}, "header says \"hhh"},
		{"wildcard service header", nats.Header{subjects.HeaderDeadLetterService: {"a.*.>"}}, `says "a.*.>"`},
		{"no service header", nats.Header{}, "says nothing"},
		{"two service headers", nats.Header{subjects.HeaderDeadLetterService: {"exprsn-evil", "exprsn-victim"}}, "2 values"},
		{"huge subject header", own(nats.Header{subjects.HeaderDeadLetterSubject: {huge}}), "is not an event subject"},
		{"JetStream API subject header", own(nats.Header{subjects.HeaderDeadLetterSubject: {"$JS.API.STREAM.PURGE.MESH_" + ns}}), "is not an event subject"},
		{"another service's subject", own(nats.Header{subjects.HeaderDeadLetterSubject: {ns + ".exprsn-victim.order.placed"}}), "for another service than exprsn-evil"},
		{"another namespace's subject", own(nats.Header{subjects.HeaderDeadLetterSubject: {"other.exprsn-evil.order.placed"}}), "not a subject of namespace"},
		{"no subject header", own(nats.Header{}), "no Mesh-Dlq-Subject header"},
		{"omitted, garbage sequence", own(nats.Header{subjects.HeaderDeadLetterOmitted: {"data"}, subjects.HeaderDeadLetterSequence: {"abc" + huge[:1000]}}), "is not a stream sequence"},
		{"omitted, huge", own(nats.Header{subjects.HeaderDeadLetterOmitted: {huge}, subjects.HeaderDeadLetterSequence: {"999999"}}), "never leaves out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq := forge(t, w, "_dlq."+ns+".exprsn-evil.order.placed", tt.h, structured("f-"+tt.name))
			if _, err := q.List(ctxFor(t), "", seq, 1); err != nil {
				t.Fatalf("List: %v", err)
			}
			checkRefused(t, w, q, seq, tt.wantWhy)
		})
	}
	t.Run("odd numbers in a consistent letter", func(t *testing.T) {
		rec := testutil.NewRecorder()
		if _, err := w.On(context.Background(), "order:placed", rec); err != nil {
			t.Fatal(err)
		}
		seq := forge(t, w, "_dlq."+ns+".exprsn-evil.order.placed", own(nats.Header{
			subjects.HeaderDeadLetterSubject:    {ns + ".all.order.placed"},
			subjects.HeaderDeadLetterDeliveries: {"-1e99"},
			subjects.HeaderDeadLetterSequence:   {"18446744073709551616"},
		}), structured("odd-1"))
		dl, err := q.Get(ctxFor(t), seq)
		if err != nil || dl.Invalid != "" || dl.Service != "exprsn-evil" || dl.Deliveries != 0 || dl.StreamSequence != 0 {
			t.Fatalf("Get: %v; service %q, invalid %q, deliveries %d, stream sequence %d; want a consistent letter of exprsn-evil, its numbers 0",
				err, dl.Service, dl.Invalid, dl.Deliveries, dl.StreamSequence)
		}
		if err := q.Redrive(ctxFor(t), seq); err != nil {
			t.Fatal(err)
		}
		if ev := rec.WaitN(t, 1, 0)[0]; ev.ID != "odd-1" || ev.NATSSubject != ns+".exprsn-evil.order.placed" {
			t.Fatalf("re-driven as %s on %s, want odd-1 on exprsn-evil's subject", ev.ID, ev.NATSSubject)
		}
	})
	t.Run("huge service to list", func(t *testing.T) {
		if _, err := q.List(ctxFor(t), huge, 1, 0); err == nil || len(err.Error()) > maxMessage {
			t.Fatalf("List of a 60 KB service name: %d bytes of error (%.200v)", len(errText(err)), err)
		}
	})
}

// A dead letter that omits the event and points at an event in the event
// stream that is not its own (another service's, on another subject, with
// another id) shows no event and is not re-driven; one that points at its
// service's own event, or at a broadcast, is.
func TestAnOmittedLetterMustPointAtItsOwnEvent(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	w := testutil.Connect(t, srv, "exprsn-evil")
	bank := testutil.Connect(t, srv, "exprsn-bank")
	ns := w.Namespace()
	ctx := ctxFor(t)
	secret, err := bank.EmitWithReceipt(ctx, "secret:rotated", map[string]string{"key": "s3cr3t"}, mesh.To("exprsn-bank"), mesh.WithID("secret-1"))
	if err != nil {
		t.Fatal(err)
	}
	mine, err := w.EmitWithReceipt(ctx, "secret:rotated", 1, mesh.ToSelf(), mesh.WithID("mine-1"))
	if err != nil {
		t.Fatal(err)
	}
	all, err := bank.EmitWithReceipt(ctx, "secret:rotated", 2, mesh.WithID("all-1"))
	if err != nil {
		t.Fatal(err)
	}
	q := deadletter.New(w.JetStream(), ns)
	omitted := func(seq uint64, h nats.Header) uint64 {
		h[subjects.HeaderDeadLetterService] = []string{"exprsn-evil"}
		h[subjects.HeaderDeadLetterSequence] = []string{strconv.FormatUint(seq, 10)}
		if h[subjects.HeaderDeadLetterOmitted] == nil {
			h[subjects.HeaderDeadLetterOmitted] = []string{"data,headers"}
		}
		return forge(t, w, "_dlq."+ns+".exprsn-evil.secret.rotated", h, "")
	}
	refused := []struct {
		name    string
		seq     uint64
		h       nats.Header
		wantWhy string
	}{
		{"another service's event", secret.Sequence, nats.Header{}, "for another service than exprsn-evil"},
		{"another service's event, data omitted", secret.Sequence, nats.Header{subjects.HeaderDeadLetterOmitted: {"data"}}, "for another service"},
		{"another subject than its own", secret.Sequence, nats.Header{subjects.HeaderDeadLetterSubject: {ns + ".exprsn-evil.secret.rotated"}}, "not on its Mesh-Dlq-Subject"},
		{"another id than its own", mine.Sequence, nats.Header{subjects.HeaderDeadLetterOmitted: {"data"}, "ce-id": {"other-1"}}, `has id "mine-1", not "other-1"`},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			seq := omitted(tt.seq, tt.h)
			if dl, err := q.Get(ctx, seq); err != nil || dl.Event != nil {
				t.Fatalf("Get: %v; shows the event %+v, want none", err, dl.Event)
			}
			checkRefused(t, w, q, seq, tt.wantWhy)
		})
	}
	rec := testutil.NewRecorder()
	if _, err := w.On(context.Background(), "secret:rotated", rec); err != nil {
		t.Fatal(err)
	}
	for i, tt := range []struct {
		name, wantID string
		seq          uint64
	}{{"its own event", "mine-1", mine.Sequence}, {"a broadcast", "all-1", all.Sequence}} {
		seq := omitted(tt.seq, nats.Header{})
		if dl, err := q.Get(ctx, seq); err != nil || dl.Invalid != "" || dl.Event == nil || dl.Event.ID != tt.wantID {
			t.Fatalf("%s: Get: %+v, %v", tt.name, dl, err)
		}
		if err := q.Redrive(ctx, seq); err != nil {
			t.Fatalf("%s: Redrive: %v", tt.name, err)
		}
		if ev := rec.WaitN(t, i+1, 0)[i]; ev.ID != tt.wantID || ev.NATSSubject != ns+".exprsn-evil.secret.rotated" {
			t.Fatalf("%s: re-driven %s on %s", tt.name, ev.ID, ev.NATSSubject)
		}
	}
}
