package mesh_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/testutil"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// BenchmarkDurableConsume measures a durable handler working through a
// backlog of b.N events with the defaults (Concurrency 1, ack after the
// handler), from the call that creates the consumer to the last event
// handled. BenchmarkRawConsume is the same with nats.go's jetstream alone.
func BenchmarkDurableConsume(b *testing.B) {
	srv := testutil.StartServer(b)
	pub := testutil.Connect(b, srv, "bench-pub", mesh.Config{Stream: mesh.StreamConfig{Manage: true}})
	sub := testutil.Connect(b, srv, "bench-sub", mesh.Config{Stream: mesh.StreamConfig{Manage: true}})
	ctx := context.Background()
	data := json.RawMessage(payload256)
	for range b.N {
		if _, err := pub.EmitAsync(ctx, "bench:durable", data, mesh.To("bench-sub")); err != nil {
			b.Fatal(err)
		}
	}
	waitStored(b, pub.JetStream())
	hit, done := countTo(b.N)
	b.SetBytes(int64(len(payload256)))
	b.ReportAllocs()
	b.ResetTimer()
	// The backlog was stored before the consumer exists: take it from the
	// first event (the default, StartAtNew, would skip it all).
	_, err := sub.OnDurable(ctx, "bench:durable", mesh.HandlerFunc(func(context.Context, *mesh.Event) error {
		hit()
		return nil
	}), mesh.StartAtFirst())
	if err != nil {
		b.Fatal(err)
	}
	<-done
}

func BenchmarkRawConsume(b *testing.B) {
	js := rawStream(b, jetstream.StreamConfig{Name: "RAW", Subjects: []string{"raw.>"}})
	ctx := context.Background()
	for range b.N {
		if _, err := js.PublishAsync("raw.event", payload256); err != nil {
			b.Fatal(err)
		}
	}
	waitStored(b, js)
	hit, done := countTo(b.N)
	b.SetBytes(int64(len(payload256)))
	b.ReportAllocs()
	b.ResetTimer()
	cons, err := js.CreateOrUpdateConsumer(ctx, "RAW", jetstream.ConsumerConfig{Durable: "raw", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		b.Fatal(err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		_ = m.Ack()
		hit()
	})
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Stop()
	<-done
}

// rawStream starts a server, creates the stream of cfg on it and returns
// nats.go's JetStream on a connection closed when b ends.
func rawStream(b *testing.B, cfg jetstream.StreamConfig) jetstream.JetStream {
	srv := testutil.StartServer(b)
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := js.CreateStream(context.Background(), cfg); err != nil {
		b.Fatal(err)
	}
	return js
}

func waitStored(b *testing.B, js jetstream.JetStream) {
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatalf("%d emits not stored after a minute", js.PublishAsyncPending())
	}
}

// BenchmarkEmitAsync measures asynchronous emits to the event stream, until
// the stream has acknowledged all of them. BenchmarkRawPublishAsync is its
// floor: the same envelope and Nats-Msg-Id header published with nats.go's
// jetstream alone.
func BenchmarkEmitAsync(b *testing.B) {
	srv := testutil.StartServer(b)
	pub := testutil.Connect(b, srv, "bench-pub", mesh.Config{Stream: mesh.StreamConfig{Manage: true}})
	ctx := context.Background()
	data := json.RawMessage(payload256)
	b.SetBytes(int64(len(payload256)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := pub.EmitAsync(ctx, "bench:durable", data); err != nil {
			b.Fatal(err)
		}
	}
	waitStored(b, pub.JetStream())
}

func BenchmarkRawPublishAsync(b *testing.B) {
	js := rawStream(b, jetstream.StreamConfig{Name: "RAW", Subjects: []string{"raw.>"}, Duplicates: 2 * time.Minute})
	body, err := codec.AppendStructured(nil, &codec.Event{ID: nuid.Next(), Source: "bench-pub", Type: "bench:durable",
		Time: time.Now().UTC(), DataContentType: codec.ContentTypeJSON, Data: payload256})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(payload256)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := js.PublishAsync("raw.event", body, jetstream.WithMsgID(nuid.Next())); err != nil {
			b.Fatal(err)
		}
	}
	waitStored(b, js)
}
