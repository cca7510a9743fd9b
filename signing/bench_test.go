package signing_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/signing"
	"github.com/exprsn/ipcmesh/testutil"
)

var sizes = []struct {
	name string
	size int
}{{"256B", 256}, {"1KiB", 1024}}

// eventOfSize returns an event whose JSON data is size bytes.
func eventOfSize(size int) codec.Event {
	ev := sampleEvent(timeline)
	ev.Data = []byte(`"` + strings.Repeat("x", size-2) + `"`)
	return ev
}

func BenchmarkSign(b *testing.B) {
	kp, _ := newUser(b)
	sign := newSigner(b, kp)
	for _, sz := range sizes {
		b.Run(sz.name, func(b *testing.B) {
			ev := eventOfSize(sz.size)
			s := mesh.Send{Kind: mesh.SendEvent, Event: &ev, Subject: "ipc.all.post.created", Target: "all"}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				sign(ctx, s)
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	kp, pub := newUser(b)
	keys := staticKeys(b, map[string]string{timeline: pub})
	for _, sz := range sizes {
		b.Run(sz.name, func(b *testing.B) {
			ev := transmit(b, newSigner(b, kp), eventOfSize(sz.size), "all", codec.Structured)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := signing.Check(ctx, keys, ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRoundTrip measures one live emit of 256 bytes of data until the
// handler has it, on an embedded server, without signing and with signing
// and verification.
func BenchmarkRoundTrip(b *testing.B) {
	kp, pub := newUser(b)
	keys := staticKeys(b, map[string]string{timeline: pub})
	for _, tt := range []struct {
		name   string
		onSend signing.SendHook
		mw     []mesh.Middleware
	}{
		{"plain", nil, nil},
		{"signed", newSigner(b, kp), []mesh.Middleware{signing.Verify(keys)}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			srv := testutil.StartServer(b, testutil.WithoutJetStream())
			got := make(chan struct{}, 1)
			rx := testutil.Connect(b, srv, receiver, mesh.Config{Middleware: tt.mw})
			_, err := rx.On(context.Background(), "bench:round", mesh.HandlerFunc(func(context.Context, *mesh.Event) error {
				got <- struct{}{}
				return nil
			}))
			if err != nil {
				b.Fatal(err)
			}
			tx := testutil.Connect(b, srv, timeline, mesh.Config{OnSend: tt.onSend})
			data := []byte(`"` + strings.Repeat("x", 254) + `"`)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := tx.Emit(ctx, "bench:round", data, mesh.To(receiver), mesh.WithContentType(codec.ContentTypeJSON)); err != nil {
					b.Fatal(err)
				}
				select {
				case <-got:
				case <-time.After(testutil.DefaultWait):
					b.Fatal("the event did not arrive")
				}
			}
		})
	}
}
