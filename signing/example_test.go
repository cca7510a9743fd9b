package signing_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/signing"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// A service signs what it sends; a receiver checks the signature against
// the keys published for the event's source. Here the event goes through
// the hooks by hand; a worker does the same with Config.OnSend and
// Config.Middleware.
func Example() {
	timelineKey, _ := nkeys.CreateUser() // in production: nkeys.FromSeed(the service's seed)
	heraldKey, _ := nkeys.CreateUser()
	timelinePub, _ := timelineKey.PublicKey()
	heraldPub, _ := heraldKey.PublicKey()
	keys, _ := signing.StaticKeys(map[string]string{"exprsn-timeline": timelinePub, "exprsn-herald": heraldPub})

	send := func(source string, kp nkeys.KeyPair) *mesh.Event {
		sign, _ := signing.Signer(kp)
		ev := codec.Event{ID: "1", Source: source, Type: "post:created", Time: time.Now(), Data: []byte(`{"id":"p1"}`)}
		sign(context.Background(), mesh.Send{Kind: mesh.SendEvent, Event: &ev, Target: "all"})
		return &mesh.Event{Event: ev, Target: "all"}
	}

	fmt.Println(signing.Check(context.Background(), keys, send("exprsn-timeline", timelineKey)))
	err := signing.Check(context.Background(), keys, send("exprsn-timeline", heraldKey))
	fmt.Println(errors.Is(err, signing.ErrForged))
	// Output:
	// <nil>
	// true
}

// A service that signs its events and verifies those it handles, with the
// keys the operator published in the namespace's bucket. The NKey is also
// the service's NATS credential here.
func Example_worker() {
	ctx := context.Background()
	kp, err := nkeys.FromSeed([]byte("SUA...")) // the service's seed, read from its file
	if err != nil {
		return
	}
	pub, _ := kp.PublicKey()
	sign, err := signing.Signer(kp)
	if err != nil {
		return
	}
	w, err := mesh.Connect(ctx, mesh.Config{
		Service:     "exprsn-herald",
		OnSend:      sign,
		NATSOptions: []nats.Option{nats.Nkey(pub, kp.Sign)},
	})
	if err != nil {
		return
	}
	defer w.Close(ctx)
	// Config.Middleware is set before Connect, and the bucket is read
	// through the worker: verify per handler with mesh.Use.
	keys, err := signing.BucketKeys(ctx, w.JetStream(), w.Namespace())
	if err != nil {
		return
	}
	_, _ = w.OnDurable(ctx, "notification:trigger", mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
		// ev.Source is verified: only exprsn-timeline's key signs its events.
		return nil
	}), mesh.Use(signing.Verify(keys)))
}
