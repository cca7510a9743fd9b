package mesh_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
)

// window bounds the events sent but not yet received in the throughput
// benchmarks, the same for the mesh and raw nats.go: without it a fast
// sender overruns the subscriber's pending limit, the client drops events,
// and the count never completes.
const window = 8192

// payload256 is a 256-byte JSON payload, the size the performance targets
// use.
var payload256 = []byte(`{"id":"p1","author":"ana","text":"` + strings.Repeat("x", 256-40) + `"}`)

// countTo returns hit, which counts one arrival, and done, which is closed
// at the nth.
func countTo(n int) (hit func(), done <-chan struct{}) {
	var got atomic.Int64
	ch := make(chan struct{})
	return func() {
		if got.Add(1) == int64(n) {
			close(ch)
		}
	}, ch
}

// BenchmarkEmitToHandler measures the live path, emit to handler through the
// embedded server, with b.N events counted at the handler.
func BenchmarkEmitToHandler(b *testing.B) {
	srv := testutil.StartServer(b)
	pub := testutil.Connect(b, srv, "bench-pub")
	sub := testutil.Connect(b, srv, "bench-sub")
	hit, done := countTo(b.N)
	inflight := make(chan struct{}, window)
	_, err := sub.On(context.Background(), "bench:event", mesh.HandlerFunc(func(context.Context, *mesh.Event) error {
		<-inflight
		hit()
		return nil
	}))
	if err != nil {
		b.Fatal(err)
	}
	data := json.RawMessage(payload256)
	ctx := context.Background()
	b.SetBytes(int64(len(payload256)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		inflight <- struct{}{}
		if err := pub.Emit(ctx, "bench:event", data, mesh.To("bench-sub")); err != nil {
			b.Fatal(err)
		}
	}
	<-done
}

// BenchmarkRawNATS is the floor the live path stands on: the same payload
// published and received with nats.go alone.
func BenchmarkRawNATS(b *testing.B) {
	srv := testutil.StartServer(b)
	pub, err := nats.Connect(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	sub, err := nats.Connect(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	hit, done := countTo(b.N)
	inflight := make(chan struct{}, window)
	if _, err := sub.Subscribe("raw.event", func(*nats.Msg) {
		<-inflight
		hit()
	}); err != nil {
		b.Fatal(err)
	}
	if err := sub.Flush(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(payload256)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		inflight <- struct{}{}
		if err := pub.Publish("raw.event", payload256); err != nil {
			b.Fatal(err)
		}
	}
	<-done
}

// BenchmarkRequestReply measures a sequential request and its reply.
func BenchmarkRequestReply(b *testing.B) {
	srv := testutil.StartServer(b)
	caller := testutil.Connect(b, srv, "bench-caller")
	responder := testutil.Connect(b, srv, "bench-responder")
	_, err := responder.OnRequest(context.Background(), "bench:get", mesh.ResponderFunc(func(_ context.Context, ev *mesh.Event) (any, error) {
		return json.RawMessage(ev.Data), nil
	}))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	data := json.RawMessage(payload256)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := caller.Request(ctx, "bench-responder", "bench:get", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawRequestReply is BenchmarkRequestReply's floor: nats.go's
// request and an echo responder, with the same payload.
func BenchmarkRawRequestReply(b *testing.B) {
	srv := testutil.StartServer(b)
	caller, err := nats.Connect(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer caller.Close()
	responder, err := nats.Connect(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer responder.Close()
	if _, err := responder.Subscribe("raw.get", func(m *nats.Msg) { _ = m.Respond(m.Data) }); err != nil {
		b.Fatal(err)
	}
	if err := responder.Flush(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := caller.RequestWithContext(ctx, "raw.get", payload256); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmit measures the sending side alone: encoding and publishing an
// event that no handler listens to.
func BenchmarkEmit(b *testing.B) {
	srv := testutil.StartServer(b)
	pub := testutil.Connect(b, srv, "bench-pub")
	data := json.RawMessage(payload256)
	ctx := context.Background()
	b.SetBytes(int64(len(payload256)))
	b.ReportAllocs()
	for b.Loop() {
		if err := pub.Emit(ctx, "bench:unheard", data); err != nil {
			b.Fatal(err)
		}
	}
}
