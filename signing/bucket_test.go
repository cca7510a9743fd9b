package signing_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/signing"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
)

func jetStreamOf(t testing.TB, srv *testutil.Server, opts ...nats.Option) jetstream.JetStream {
	t.Helper()
	// Refusals are what some tests look for: keep them out of the output.
	opts = append(opts, nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
	nc, err := nats.Connect(srv.URL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func TestBucketKeys(t *testing.T) {
	srv := testutil.StartServer(t)
	js := jetStreamOf(t, srv)
	_, a := newUser(t)
	_, b := newUser(t)
	if _, err := signing.BucketKeys(ctxT(t), js, "ipc"); !errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Fatalf("BucketKeys before the bucket exists: %v, want ErrBucketNotFound", err)
	}
	if err := signing.PublishKeys(ctxT(t), js, "ipc", map[string]string{timeline: a, herald: "not a key"}); err == nil {
		t.Fatal("PublishKeys took an invalid key")
	}
	if err := signing.PublishKeys(ctxT(t), js, "ipc", map[string]string{timeline: a, herald: b}); err != nil {
		t.Fatal(err)
	}
	keys, err := signing.BucketKeys(ctxT(t), js, "ipc", signing.CacheTTL(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		service string
		want    []string
		wantErr error
	}{
		{timeline, []string{a}, nil},
		{herald, []string{b}, nil},
		{auth, nil, signing.ErrUnknownSigner},
		{"all", nil, signing.ErrUnknownSigner},
		{"a.b", nil, signing.ErrUnknownSigner},
	}
	for _, tt := range tests {
		got, err := keys.Keys(ctxT(t), tt.service)
		if !slices.Equal(got, tt.want) || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
			t.Errorf("Keys(%q) = %v, %v; want %v, %v", tt.service, got, err, tt.want, tt.wantErr)
		}
	}

	// Rotation, addition and withdrawal show once the cache expires.
	if err := signing.PublishKeys(ctxT(t), js, "ipc", map[string]string{timeline: a + "," + b, herald: "", auth: a}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitUntil(t, "the published change", func() bool {
		tl, err1 := keys.Keys(ctxT(t), timeline)
		_, err2 := keys.Keys(ctxT(t), herald)
		au, err3 := keys.Keys(ctxT(t), auth)
		return err1 == nil && len(tl) == 2 && errors.Is(err2, signing.ErrUnknownSigner) && err3 == nil && len(au) == 1
	})
}

func TestBucketInvalidValueIsNotUnknown(t *testing.T) {
	srv := testutil.StartServer(t)
	js := jetStreamOf(t, srv)
	_, a := newUser(t)
	if err := signing.PublishKeys(ctxT(t), js, "ipc", map[string]string{timeline: a}); err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctxT(t), signing.BucketName("ipc"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.PutString(ctxT(t), herald, "garbage"); err != nil {
		t.Fatal(err)
	}
	keys, err := signing.BucketKeys(ctxT(t), js, "ipc")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Keys(ctxT(t), herald); err == nil || errors.Is(err, signing.ErrUnknownSigner) {
		t.Fatalf("Keys of a garbage value = %v, want an error that is not ErrUnknownSigner", err)
	}
}

// nkeyUser is a test service that authenticates with the key it signs with.
type nkeyUser struct {
	kp  nkeys.KeyPair
	pub string
}

func (u nkeyUser) option() nats.Option { return nats.Nkey(u.pub, u.kp.Sign) }

func (u nkeyUser) serverUser(t testing.TB, p permissions.Permissions, extra ...string) *server.NkeyUser {
	t.Helper()
	p.Publish = append(p.Publish, extra...)
	return &server.NkeyUser{Nkey: u.pub, Permissions: p.Server()}
}

func newNkeyUser(t testing.TB) nkeyUser {
	kp, pub := newUser(t)
	return nkeyUser{kp, pub}
}

func forService(t testing.TB, name string) permissions.Permissions {
	t.Helper()
	p, err := permissions.ForService("ipc", permissions.Service{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLeastPrivilege runs signing with package permissions' grants plus
// ReaderSubjects and PublisherSubjects, every service authenticating with
// the NKey it signs with, and shows that each reader subject is needed.
func TestLeastPrivilege(t *testing.T) {
	const spark = "exprsn-spark"
	op, tl, mod, he, sp := newNkeyUser(t), newNkeyUser(t), newNkeyUser(t), newNkeyUser(t), newNkeyUser(t)
	opPerms, err := permissions.Operator("ipc")
	if err != nil {
		t.Fatal(err)
	}
	reader := signing.ReaderSubjects("ipc")
	srv := testutil.StartServer(t, testutil.WithNkeyUsers(
		op.serverUser(t, opPerms, signing.PublisherSubjects("ipc")...),
		tl.serverUser(t, forService(t, timeline)),
		he.serverUser(t, forService(t, herald), reader[0]), // no MSG.GET
		mod.serverUser(t, forService(t, receiver), reader...),
		sp.serverUser(t, forService(t, spark), reader[1]), // no STREAM.INFO
	))
	js := jetStreamOf(t, srv, op.option())
	if err := signing.PublishKeys(ctxT(t), js, "ipc", map[string]string{timeline: tl.pub, herald: he.pub, auth: newNkeyUser(t).pub}); err != nil {
		t.Fatalf("the operator publishes the keys: %v", err)
	}

	log := &errorLog{}
	w := testutil.Connect(t, srv, receiver, mesh.Config{OnError: log.add, NATSOptions: []nats.Option{mod.option()}})
	keys, err := signing.BucketKeys(ctxT(t), w.JetStream(), "ipc")
	if err != nil {
		t.Fatalf("the verifying service opens the bucket: %v", err)
	}
	rec := testutil.NewRecorder()
	if _, err := w.On(ctxT(t), "probe:>", rec, mesh.Use(signing.Verify(keys))); err != nil {
		t.Fatal(err)
	}
	emitter := testutil.Connect(t, srv, timeline, mesh.Config{OnSend: newSigner(t, tl.kp), NATSOptions: []nats.Option{tl.option()}})
	// herald's user, calling itself exprsn-auth (its inbox stays herald's).
	forger := testutil.Connect(t, srv, auth, mesh.Config{OnSend: newSigner(t, he.kp),
		NATSOptions: []nats.Option{he.option(), nats.CustomInboxPrefix(subjects.InboxPrefix(herald))}})
	if err := forger.Emit(ctxT(t), "probe:forged", nil, mesh.WithID("forged")); err != nil {
		t.Fatal(err)
	}
	if err := emitter.Emit(ctxT(t), "probe:signed", nil, mesh.WithID("signed")); err != nil {
		t.Fatal(err)
	}
	rec.WaitType(t, "probe:signed", 0)
	testutil.WaitUntil(t, "the forged event's refusal", func() bool { return log.handlerError("forged") != nil })
	if err := log.handlerError("forged").Err; !errors.Is(err, signing.ErrForged) || has(rec.Events(), "forged") {
		t.Fatalf("forged event: %v, want ErrForged and no delivery", err)
	}

	t.Run("without STREAM.INFO", func(t *testing.T) {
		js := jetStreamOf(t, srv, sp.option(), nats.CustomInboxPrefix(subjects.InboxPrefix(spark)))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := signing.BucketKeys(ctx, js, "ipc"); err == nil {
			t.Fatal("BucketKeys worked without STREAM.INFO of the bucket")
		}
	})
	t.Run("without MSG.GET", func(t *testing.T) {
		keys, err := signing.BucketKeys(ctxT(t), jetStreamOf(t, srv, he.option(), nats.CustomInboxPrefix(subjects.InboxPrefix(herald))), "ipc")
		if err != nil {
			t.Fatalf("BucketKeys with STREAM.INFO: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err = keys.Keys(ctx, timeline); err == nil || errors.Is(err, signing.ErrUnknownSigner) {
			t.Fatalf("reading a key without MSG.GET: %v, want a failure", err)
		}
	})
}

// TestBucketRejectsReflectedEntries makes the server write onto
// exprsn-auth's key what any client of the account can: a stream's
// acknowledgement of a publish whose reply subject is the key, and a
// JSON message-get answer of another key's entry. A reader still takes
// the operator's key, reports each rejected entry, and verifies nothing
// signed with another key.
func TestBucketRejectsReflectedEntries(t *testing.T) {
	srv := testutil.StartServer(t)
	js := jetStreamOf(t, srv)
	_, authKey := newUser(t)
	_, auditKey := newUser(t)
	if err := signing.PublishKeys(ctxT(t), js, "ipc", map[string]string{auth: authKey, "exprsn-audit": auditKey}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctxT(t), jetstream.StreamConfig{Name: "EV", Subjects: []string{"ev.>"}}); err != nil {
		t.Fatal(err)
	}
	keysStream, err := js.Stream(ctxT(t), "KV_"+signing.BucketName("ipc"))
	if err != nil {
		t.Fatal(err)
	}
	nc := js.Conn()
	target := "$KV." + signing.BucketName("ipc") + "." + auth
	get := `{"last_by_subj":"$KV.` + signing.BucketName("ipc") + `.exprsn-audit"}`
	for i, m := range []*nats.Msg{
		{Subject: "ev.x", Reply: target, Data: []byte("{}")},
		{Subject: "$JS.API.STREAM.MSG.GET.KV_" + signing.BucketName("ipc"), Reply: target, Data: []byte(get)},
	} {
		if err := nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
		testutil.WaitUntil(t, "the reflected answer in the bucket", func() bool {
			last, err := keysStream.GetLastMsgForSubject(ctxT(t), target)
			return err == nil && last.Sequence == uint64(3+i)
		})
		var logged testutil.Buffer
		keys, err := signing.BucketKeys(ctxT(t), js, "ipc", signing.Logger(slog.New(slog.NewTextHandler(&logged, nil))))
		if err != nil {
			t.Fatal(err)
		}
		got, err := keys.Keys(ctxT(t), auth)
		if err != nil || !slices.Equal(got, []string{authKey}) {
			t.Fatalf("%s: keys of %s = %v, %v; want the operator's %s", m.Subject, auth, got, err, authKey)
		}
		if !strings.Contains(logged.String(), "rejected an entry") {
			t.Fatalf("%s: the rejected entry was not reported: %q", m.Subject, logged.String())
		}
	}
}

// TestPublishKeysTurnsOffDirectGets: a reader refuses a bucket that
// allows direct gets (as nats.go's CreateKeyValue makes it), and
// PublishKeys turns them and roll-ups off; its keys stay.
func TestPublishKeysTurnsOffDirectGets(t *testing.T) {
	srv := testutil.StartServer(t)
	js := jetStreamOf(t, srv)
	_, a := newUser(t)
	kv, err := js.CreateKeyValue(ctxT(t), jetstream.KeyValueConfig{Bucket: signing.BucketName("ipc"), History: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.PutString(ctxT(t), timeline, a); err != nil {
		t.Fatal(err)
	}
	if _, err := signing.BucketKeys(ctxT(t), js, "ipc"); err == nil || !strings.Contains(err.Error(), "direct gets") {
		t.Fatalf("BucketKeys of a bucket with direct gets: %v, want a refusal", err)
	}
	if err := signing.PublishKeys(ctxT(t), js, "ipc", map[string]string{herald: a}); err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctxT(t), "KV_"+signing.BucketName("ipc"))
	if err != nil {
		t.Fatal(err)
	}
	if c := s.CachedInfo().Config; c.AllowDirect || c.AllowRollup || c.MaxMsgsPerSubject != 5 {
		t.Fatalf("after PublishKeys: allow direct %t, roll-ups %t, history %d; want false, false, 5", c.AllowDirect, c.AllowRollup, c.MaxMsgsPerSubject)
	}
	keys, err := signing.BucketKeys(ctxT(t), js, "ipc")
	if err != nil {
		t.Fatal(err)
	}
	for _, service := range []string{timeline, herald} {
		if got, err := keys.Keys(ctxT(t), service); err != nil || !slices.Equal(got, []string{a}) {
			t.Fatalf("keys of %s: %v, %v", service, got, err)
		}
	}
}
