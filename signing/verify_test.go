package signing_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/signing"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// Service names of the tests.
const (
	timeline = "exprsn-timeline"
	herald   = "exprsn-herald"
	auth     = "exprsn-auth"
)

func newUser(t testing.TB) (nkeys.KeyPair, string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return kp, pub
}

func newSigner(t testing.TB, kp nkeys.KeyPair) signing.SendHook {
	t.Helper()
	sign, err := signing.Signer(kp)
	if err != nil {
		t.Fatal(err)
	}
	return sign
}

func staticKeys(t testing.TB, keys map[string]string) *signing.Static {
	t.Helper()
	s, err := signing.StaticKeys(keys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sampleEvent(source string) codec.Event {
	return codec.Event{ID: "ev-1", Source: source, Type: "post:created", Time: time.Date(2026, 3, 1, 12, 30, 0, 123456789, time.UTC),
		DataContentType: codec.ContentTypeJSON, Data: []byte(`{"postId":"p1"}`),
		Extensions: []codec.Extension{{Name: "traceparent", Value: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}}
}

// transmit signs ev as sign would send it to target, encodes it in mode,
// and decodes it as a receiving worker would.
func transmit(t testing.TB, sign signing.SendHook, ev codec.Event, target string, mode codec.Mode) *mesh.Event {
	t.Helper()
	if sign != nil {
		sign(context.Background(), mesh.Send{Kind: mesh.SendEvent, Event: &ev, Subject: "ipc." + target + ".post.created", Target: target})
	}
	var msg nats.Msg
	if err := codec.EncodeMsg(&msg, &ev, mode); err != nil {
		t.Fatal(err)
	}
	got := &mesh.Event{Target: target}
	if err := codec.Decode(msg.Header, msg.Data, &got.Event); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestSignedEventsVerifyAfterEncoding(t *testing.T) {
	kp, pub := newUser(t)
	sign, keys := newSigner(t, kp), staticKeys(t, map[string]string{timeline: pub})
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		name   string
		change func(*codec.Event)
	}{
		{"json", func(*codec.Event) {}},
		{"json with spaces around", func(e *codec.Event) { e.Data = []byte(" \n{\"a\": [1, 2]}\t\n") }},
		{"json null", func(e *codec.Event) { e.Data = []byte(" null ") }},
		{"no data", func(e *codec.Event) { e.Data, e.DataContentType = nil, "" }},
		{"no content type", func(e *codec.Event) { e.DataContentType = "" }},
		{"bytes", func(e *codec.Event) {
			e.Data, e.DataContentType = []byte{0, 1, 2, 0xff, ' '}, "application/octet-stream"
		}},
		{"text with a charset", func(e *codec.Event) { e.Data, e.DataContentType = []byte(" hé \n"), "text/plain; charset=utf-8" }},
		{"time with a zone", func(e *codec.Event) { e.Time = e.Time.In(paris) }},
		{"no time", func(e *codec.Event) { e.Time = time.Time{} }},
		{"whole seconds", func(e *codec.Event) { e.Time = e.Time.Truncate(time.Second) }},
		{"subject and schema", func(e *codec.Event) { e.Subject, e.DataSchema = "post/p1", "https://example.com/post.json" }},
		{"odd id", func(e *codec.Event) { e.ID = "a \"quoted\" % id\n" }},
	}
	for _, tt := range tests {
		for _, mode := range []codec.Mode{codec.Structured, codec.Binary} {
			t.Run(tt.name+"/"+mode.String(), func(t *testing.T) {
				ev := sampleEvent(timeline)
				tt.change(&ev)
				got := transmit(t, sign, ev, "all", mode)
				if err := signing.Check(context.Background(), keys, got); err != nil {
					t.Fatalf("Check: %v", err)
				}
			})
		}
	}
}

func TestRefusals(t *testing.T) {
	kp, pub := newUser(t)
	heraldKP, heraldPub := newUser(t)
	strangerKP, _ := newUser(t)
	sign := newSigner(t, kp)
	keys := staticKeys(t, map[string]string{timeline: pub, herald: heraldPub})
	tests := []struct {
		name    string
		source  string
		sign    signing.SendHook
		tamper  func(*mesh.Event)
		wantErr error
	}{
		{name: "unsigned", source: timeline, wantErr: signing.ErrUnsigned},
		{name: "another's source", source: auth, sign: newSigner(t, heraldKP), wantErr: signing.ErrUnknownSigner},
		{name: "a published service's source", source: timeline, sign: newSigner(t, heraldKP), wantErr: signing.ErrForged},
		{name: "key published for nobody", source: timeline, sign: newSigner(t, strangerKP), wantErr: signing.ErrForged},
		{name: "unknown source", source: "exprsn-ghost", sign: newSigner(t, strangerKP), wantErr: signing.ErrUnknownSigner},
		{name: "source not a service name", source: "/exprsn/timeline", sign: sign, wantErr: signing.ErrUnknownSigner},
		{name: "data", source: timeline, sign: sign, tamper: func(e *mesh.Event) { e.Data = []byte(`{"postId":"p2"}`) }, wantErr: signing.ErrForged},
		{name: "id", source: timeline, sign: sign, tamper: func(e *mesh.Event) { e.ID = "ev-2" }, wantErr: signing.ErrForged},
		{name: "type", source: timeline, sign: sign, tamper: func(e *mesh.Event) { e.Type = "post:deleted" }, wantErr: signing.ErrForged},
		{name: "time", source: timeline, sign: sign, tamper: func(e *mesh.Event) { e.Time = e.Time.Add(time.Nanosecond) }, wantErr: signing.ErrForged},
		{name: "content type", source: timeline, sign: sign, tamper: func(e *mesh.Event) { e.DataContentType = "text/json" }, wantErr: signing.ErrForged},
		// The same bytes passed off as binary data (data_base64).
		{name: "JSON data as binary", source: timeline, sign: sign, tamper: func(e *mesh.Event) { e.DataBase64 = true }, wantErr: signing.ErrForged},
		{name: "subject", source: timeline, sign: sign, tamper: func(e *mesh.Event) { e.Subject = "x" }, wantErr: signing.ErrForged},
		{name: "target", source: timeline, sign: sign, tamper: func(e *mesh.Event) { e.Target = herald }, wantErr: signing.ErrForged},
		{name: "target of a replay", source: timeline, sign: sign, tamper: func(e *mesh.Event) { e.Target, e.Replayed = herald, true }},
		{name: "other extensions", source: timeline, sign: sign, tamper: func(e *mesh.Event) { e.SetExtension("traceparent", "x"); e.SetExtension("extra", "y") }},
		{name: "signature oversized", source: timeline, sign: sign, tamper: func(e *mesh.Event) { e.SetExtension(signing.ExtSignature, strings.Repeat("A", 1<<20)) }, wantErr: signing.ErrForged},
		{name: "signature not base64url", source: timeline, sign: sign, tamper: func(e *mesh.Event) { e.SetExtension(signing.ExtSignature, strings.Repeat("+", signing.SignatureLen)) }, wantErr: signing.ErrForged},
		{name: "signature of zeros", source: timeline, sign: sign, tamper: func(e *mesh.Event) { e.SetExtension(signing.ExtSignature, strings.Repeat("A", signing.SignatureLen)) }, wantErr: signing.ErrForged},
		{name: "key missing", source: timeline, sign: sign, tamper: func(e *mesh.Event) { e.DeleteExtension(signing.ExtKey) }, wantErr: signing.ErrForged},
		{name: "key garbage", source: timeline, sign: sign, tamper: func(e *mesh.Event) { e.SetExtension(signing.ExtKey, strings.Repeat("U", signing.KeyLen)) }, wantErr: signing.ErrForged},
		{name: "key of another kind", source: timeline, sign: sign, tamper: func(e *mesh.Event) { e.SetExtension(signing.ExtKey, serverKey(t)) }, wantErr: signing.ErrForged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := transmit(t, tt.sign, sampleEvent(tt.source), "all", codec.Structured)
			if tt.tamper != nil {
				tt.tamper(got)
			}
			err := signing.Check(context.Background(), keys, got)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Check = %v, want %v", err, tt.wantErr)
			}
			var e *signing.Error
			if err != nil && (!errors.As(err, &e) || len(err.Error()) > 512) {
				t.Fatalf("Check = %v: want a short *signing.Error", err)
			}
		})
	}
}

func serverKey(t *testing.T) string {
	kp, err := nkeys.CreateServer()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	return pub
}

func TestUnknownSignerIsForged(t *testing.T) {
	err := error(&signing.Error{Err: signing.ErrUnknownSigner})
	if !errors.Is(err, signing.ErrForged) || !errors.Is(err, signing.ErrUnknownSigner) || errors.Is(err, signing.ErrUnsigned) {
		t.Fatalf("%v matches the wrong sentinels", err)
	}
}

func TestSignerRefusesUnfitKeys(t *testing.T) {
	user, pub := newUser(t)
	public, _ := nkeys.FromPublicKey(pub)
	server, _ := nkeys.CreateServer()
	curve, _ := nkeys.CreateCurveKeys()
	account, _ := nkeys.CreateAccount()
	tests := []struct {
		name    string
		kp      nkeys.KeyPair
		wantErr bool
	}{
		{"user", user, false},
		{"account", account, false},
		{"public key only", public, true},
		{"server", server, true},
		{"curve", curve, true},
		{"nil", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := signing.Signer(tt.kp); (err != nil) != tt.wantErr {
				t.Fatalf("Signer: %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestStaticKeys(t *testing.T) {
	_, a := newUser(t)
	_, b := newUser(t)
	tests := []struct {
		name    string
		keys    map[string]string
		wantErr bool
	}{
		{"one", map[string]string{timeline: a}, false},
		{"rotating", map[string]string{timeline: a + ", " + b}, false},
		{"empty", map[string]string{timeline: ""}, true},
		{"seed", map[string]string{timeline: "SUAM"}, true},
		{"bad service", map[string]string{"all": a}, true},
		{"too many", map[string]string{timeline: strings.Repeat(a+",", signing.MaxKeysPerService) + a}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := signing.StaticKeys(tt.keys); (err != nil) != tt.wantErr {
				t.Fatalf("StaticKeys: %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestRotationAcceptsEitherKey(t *testing.T) {
	oldKP, oldPub := newUser(t)
	newKP, newPub := newUser(t)
	keys := staticKeys(t, map[string]string{timeline: oldPub + "," + newPub})
	for _, kp := range []nkeys.KeyPair{oldKP, newKP} {
		got := transmit(t, newSigner(t, kp), sampleEvent(timeline), timeline, codec.Structured)
		if err := signing.Check(context.Background(), keys, got); err != nil {
			t.Fatal(err)
		}
	}
}

func TestChain(t *testing.T) {
	var calls []string
	hook := func(name string) signing.SendHook {
		return func(context.Context, mesh.Send) func(error) {
			calls = append(calls, name)
			return func(error) { calls = append(calls, name+" done") }
		}
	}
	done := signing.Chain(hook("a"), nil, hook("b"))(context.Background(), mesh.Send{})
	done(nil)
	if got := strings.Join(calls, ","); got != "a,b,b done,a done" {
		t.Fatalf("calls: %s", got)
	}
	if signing.Chain(nil)(context.Background(), mesh.Send{}) != nil {
		t.Fatal("a chain of no hooks returned a done func")
	}
}
