package signing_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/exprsn/ipcmesh/deadletter"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/signing"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nkeys"
)

const receiver = "exprsn-moderator"

// meshKeys are the key pairs of the tests' services and the key set that
// publishes them.
type meshKeys struct {
	timeline, herald, auth, stranger nkeys.KeyPair
	published                        map[string]string
}

func newMeshKeys(t testing.TB) meshKeys {
	var k meshKeys
	var tl, he, au string
	k.timeline, tl = newUser(t)
	k.herald, he = newUser(t)
	k.auth, au = newUser(t)
	k.stranger, _ = newUser(t)
	k.published = map[string]string{timeline: tl, herald: he, auth: au}
	return k
}

// tamper returns an OnSend hook that changes what a signer signed.
func tamper(change func(s mesh.Send)) signing.SendHook {
	return func(_ context.Context, s mesh.Send) func(error) { change(s); return nil }
}

// verifyingReceiver connects the receiver with Verify(keys) on every
// handler, a live and a durable handler of "probe:>", and an error log.
func verifyingReceiver(t *testing.T, srv *testutil.Server, keys signing.KeySet) (w *mesh.Worker, live, durable *testutil.Recorder, log *errorLog) {
	log = &errorLog{}
	w = testutil.Connect(t, srv, receiver, mesh.Config{Middleware: []mesh.Middleware{signing.Verify(keys)}, OnError: log.add})
	live, durable = testutil.NewRecorder(), testutil.NewRecorder()
	if _, err := w.On(ctxT(t), "probe:>", live); err != nil {
		t.Fatal(err)
	}
	if _, err := w.OnDurable(ctxT(t), "probe:>", durable); err != nil {
		t.Fatal(err)
	}
	return w, live, durable, log
}

// keySources make the key set of the tests' published keys on a server.
var keySources = []struct {
	name string
	make func(t *testing.T, srv *testutil.Server, published map[string]string) signing.KeySet
}{
	{"static", func(t *testing.T, _ *testutil.Server, published map[string]string) signing.KeySet {
		return staticKeys(t, published)
	}},
	{"bucket", func(t *testing.T, srv *testutil.Server, published map[string]string) signing.KeySet {
		js := jetStreamOf(t, srv)
		if err := signing.PublishKeys(ctxT(t), js, "ipc", published); err != nil {
			t.Fatal(err)
		}
		keys, err := signing.BucketKeys(ctxT(t), js, "ipc")
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}},
}

func TestVerifyLiveAndDurable(t *testing.T) {
	for _, ks := range keySources {
		t.Run(ks.name, func(t *testing.T) {
			srv := testutil.StartServer(t, testutil.WithStreams())
			k := newMeshKeys(t)
			testVerifyLiveAndDurable(t, srv, k, ks.make(t, srv, k.published))
		})
	}
}

func testVerifyLiveAndDurable(t *testing.T, srv *testutil.Server, k meshKeys, keys signing.KeySet) {
	w, live, durable, log := verifyingReceiver(t, srv, keys)
	sign := newSigner(t, k.timeline)
	tests := []struct {
		name    string
		service string
		onSend  signing.SendHook
		wantErr error // nil: delivered
	}{
		{"signed", timeline, sign, nil},
		{"unsigned", timeline, nil, signing.ErrUnsigned},
		{"herald claiming auth", auth, newSigner(t, k.herald), signing.ErrForged},
		{"tampered data", timeline, signing.Chain(sign, tamper(func(s mesh.Send) { s.Event.Data = []byte(`{"n":2}`) })), signing.ErrForged},
		{"unknown key", timeline, newSigner(t, k.stranger), signing.ErrForged},
		{"unknown source", "exprsn-ghost", newSigner(t, k.stranger), signing.ErrUnknownSigner},
		{"oversized signature", timeline, signing.Chain(sign, tamper(func(s mesh.Send) {
			s.Event.SetExtension(signing.ExtSignature, strings.Repeat("A", 64<<10))
		})), signing.ErrForged},
		{"garbage key", timeline, signing.Chain(sign, tamper(func(s mesh.Send) {
			s.Event.SetExtension(signing.ExtKey, strings.Repeat("\u00e9", 28))
		})), signing.ErrForged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emitter := testutil.Connect(t, srv, tt.service, mesh.Config{OnSend: tt.onSend})
			id := "probe-" + strings.ReplaceAll(tt.name, " ", "-")
			if err := emitter.Emit(ctxT(t), "probe:case", map[string]int{"n": 1}, mesh.WithID(id)); err != nil {
				t.Fatal(err)
			}
			if tt.wantErr == nil {
				live.WaitFor(t, 0, func(evs []*mesh.Event) bool { return has(evs, id) })
				durable.WaitFor(t, 0, func(evs []*mesh.Event) bool { return has(evs, id) })
				return
			}
			testutil.WaitUntil(t, "the live handler's error", func() bool { return log.handlerError(id) != nil })
			if err := log.handlerError(id).Err; !errors.Is(err, tt.wantErr) || !mesh.IsPermanent(err) {
				t.Fatalf("live handler error %v, want a permanent %v", err, tt.wantErr)
			}
			dl := deadLetter(t, w, receiver, id)
			if dl.Deliveries != 1 || !strings.Contains(dl.Reason, tt.wantErr.Error()) {
				t.Fatalf("dead letter after %d deliveries with reason %q, want 1 and %q", dl.Deliveries, dl.Reason, tt.wantErr)
			}
			if has(live.Events(), id) || has(durable.Events(), id) {
				t.Fatalf("a refused event reached a handler")
			}
		})
	}
}

func TestVerifyAllowUnsigned(t *testing.T) {
	srv := testutil.StartServer(t)
	k := newMeshKeys(t)
	log := &errorLog{}
	w := testutil.Connect(t, srv, receiver, mesh.Config{OnError: log.add})
	rec := testutil.NewRecorder()
	if _, err := w.On(ctxT(t), "probe:>", rec, mesh.Use(signing.Verify(staticKeys(t, k.published), signing.AllowUnsigned()))); err != nil {
		t.Fatal(err)
	}
	unsigned := testutil.Connect(t, srv, timeline)
	forger := testutil.Connect(t, srv, auth, mesh.Config{OnSend: newSigner(t, k.herald)})
	if err := forger.Emit(ctxT(t), "probe:forged", nil, mesh.WithID("forged")); err != nil {
		t.Fatal(err)
	}
	if err := unsigned.Emit(ctxT(t), "probe:unsigned", nil, mesh.WithID("unsigned")); err != nil {
		t.Fatal(err)
	}
	rec.WaitType(t, "probe:unsigned", 0)
	testutil.WaitUntil(t, "the forged event's error", func() bool { return log.handlerError("forged") != nil })
	if has(rec.Events(), "forged") {
		t.Fatal("a forged event reached the handler")
	}
}

func TestVerifyRequestsAndReplies(t *testing.T) {
	srv := testutil.StartServer(t)
	k := newMeshKeys(t)
	keys := staticKeys(t, k.published)
	responder := testutil.Connect(t, srv, auth, mesh.Config{OnSend: newSigner(t, k.auth), Middleware: []mesh.Middleware{signing.Verify(keys)}})
	_, err := responder.OnRequest(ctxT(t), "session:validate", mesh.ResponderFunc(func(context.Context, *mesh.Event) (any, error) {
		return map[string]bool{"valid": true}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	signed := testutil.Connect(t, srv, timeline, mesh.Config{OnSend: newSigner(t, k.timeline)})
	reply, err := signed.Request(ctxT(t), auth, "session:validate", map[string]string{"token": "t"})
	if err != nil {
		t.Fatalf("signed request: %v", err)
	}
	if err := signing.CheckReply(ctxT(t), keys, auth, reply); err != nil {
		t.Fatalf("CheckReply: %v", err)
	}
	if err := signing.CheckReply(ctxT(t), keys, herald, reply); !errors.Is(err, signing.ErrForged) {
		t.Fatalf("CheckReply of a reply from another service = %v, want ErrForged", err)
	}
	if err := signing.Check(ctxT(t), keys, reply); !errors.Is(err, signing.ErrForged) {
		t.Fatalf("Check of a reply as an event = %v, want ErrForged", err)
	}

	unsigned := testutil.Connect(t, srv, herald)
	_, err = unsigned.Request(ctxT(t), auth, "session:validate", map[string]string{"token": "t"})
	var re *mesh.RemoteError
	if !errors.As(err, &re) || re.Code != 500 || !strings.Contains(re.Message, signing.ErrUnsigned.Error()) {
		t.Fatalf("unsigned request: %v, want a 500 RemoteError saying %q", err, signing.ErrUnsigned)
	}
}

func TestRedrivenBroadcastVerifies(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	k := newMeshKeys(t)
	w := testutil.Connect(t, srv, receiver, mesh.Config{Middleware: []mesh.Middleware{signing.Verify(staticKeys(t, k.published))}})
	rec := testutil.NewRecorder()
	rec.FailWith(mesh.Permanent(errors.New("not now")))
	if _, err := w.OnDurable(ctxT(t), "probe:>", rec); err != nil {
		t.Fatal(err)
	}
	emitter := testutil.Connect(t, srv, timeline, mesh.Config{OnSend: newSigner(t, k.timeline)})
	if err := emitter.Emit(ctxT(t), "probe:redrive", nil, mesh.WithID("redriven")); err != nil {
		t.Fatal(err)
	}
	dl := deadLetter(t, w, receiver, "redriven")
	rec.FailWith(nil)
	if err := deadletter.New(w.JetStream(), w.Namespace()).Redrive(ctxT(t), dl.Sequence); err != nil {
		t.Fatal(err)
	}
	rec.WaitFor(t, 0, func(evs []*mesh.Event) bool {
		return len(evs) == 2 && evs[1].Replayed && evs[1].Target == receiver
	})
}

// TestEncodedEventIsSigned: an event encoded now and stored later (as the
// transactional outbox does with Worker.Encode and EmitEncoded) carries
// its signature, and a verifying handler accepts it.
func TestEncodedEventIsSigned(t *testing.T) {
	srv := testutil.StartServer(t, testutil.WithStreams())
	k := newMeshKeys(t)
	keys, err := signing.StaticKeys(k.published)
	if err != nil {
		t.Fatal(err)
	}
	_, _, durable, _ := verifyingReceiver(t, srv, keys)
	emitter := testutil.Connect(t, srv, timeline, mesh.Config{OnSend: newSigner(t, k.timeline)})
	e, err := emitter.Encode(ctxT(t), "probe:encoded", map[string]int{"n": 1}, mesh.WithID("probe-encoded"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := emitter.EmitEncoded(ctxT(t), e); err != nil {
		t.Fatal(err)
	}
	durable.WaitFor(t, 0, func(evs []*mesh.Event) bool { return has(evs, "probe-encoded") })
}
