package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/mesh"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Streams of the durable contenders. The mesh's is MESH_dur, created by
// its workers (Config.Stream.Manage); the others are created by setupStreams
// with the same configuration.
const (
	meshNS       = "dur"
	rawStream    = "RAW"
	wmStream     = "WM"
	ceStream     = "CEJS"
	meshPubEvent = "bench:stored"
	meshBacklog  = "bench:backlog"
	// meshConsumer is the service of the mesh's durable handler.
	meshConsumer = "bench-consumer"
)

// stallWait bounds how long an asynchronous publish waits for room among
// the pending acknowledgements (nats.go's default, 200ms, fails publishes
// on a loaded machine); the mesh gets the same bound from its context's
// deadline.
const stallWait = time.Minute

func meshStream() string { return subjects.EventStream(meshNS) }

// meshBacklogSubjects are the subjects a durable handler of meshBacklog in
// service bench-consumer consumes: the events sent to the service and the
// broadcasts.
func meshBacklogSubjects() []string {
	targeted, err := subjects.Subject(meshNS, meshConsumer, meshBacklog)
	if err != nil {
		panic(err)
	}
	broadcast, err := subjects.Subject(meshNS, subjects.Broadcast, meshBacklog)
	if err != nil {
		panic(err)
	}
	return []string{targeted, broadcast}
}

// setupStreams creates the streams of raw nats.go and the mesh, and with
// peers those of watermill and sdk-go.
func setupStreams(ctx context.Context, e *env, peers bool) error {
	configs := []jetstream.StreamConfig{streamConfig(e.replicas, rawStream, "raw.dur.>")}
	if peers {
		configs = append(configs,
			streamConfig(e.replicas, wmStream, "wm.>"),
			// sdk-go names the stream after the subject prefix.
			streamConfig(e.replicas, ceStream, ceStream+".*"))
	}
	for _, sc := range configs {
		if _, err := e.js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("create stream %s: %w", sc.Name, err)
		}
	}
	w, err := e.worker("bench-setup", meshNS, true)
	if err != nil {
		return err
	}
	closeWorker(w)
	return nil
}

// A pubCase is a contender publishing to a stream. send publishes one
// message the contender's default way (asynchronously for those that batch
// acknowledgements, else waiting for each); wait returns once every message
// sent is stored and acknowledged; sendSync publishes one message and waits
// for its acknowledgement, for latency.
type pubCase struct {
	name   string
	note   string
	stream string
	n      int
	start  func(e *env, data []byte) (*pubRun, error)
}

type pubRun struct {
	send     func() error
	wait     func(ctx context.Context) error
	sendSync func() error
	stop     func()
}

// The durable publishers the payload-size table and the cluster run too.
var (
	pubRaw        = pubCase{name: "raw jetstream PublishAsync, all acked", stream: rawStream, n: 60_000, start: startRawPublish(false, false)}
	pubFloor      = pubCase{name: "raw jetstream PublishAsync of an envelope + Nats-Msg-Id", note: "the mesh's bytes and header, no encode: the floor of EmitAsync", stream: rawStream, n: 60_000, start: startRawPublish(true, true)}
	pubMesh       = pubCase{name: "mesh EmitAsync, all acked", note: "latency: Emit (waits for the store)", stream: meshStream(), n: 60_000, start: startMeshPublish}
	pubBatchFloor = pubCase{name: "raw fast batches of an envelope + Nats-Msg-Id, 1,000 a batch", note: "the mesh's bytes and header, no encode: the floor of EmitBatch", stream: rawStream, n: 60_000, start: startRawFastBatch}
	pubBatch      = pubCase{name: "mesh EmitBatch, 1,000 events a call", note: "fast batches; latency: Emit", stream: meshStream(), n: 60_000, start: startMeshBatch}
)

var pubCases = []pubCase{
	pubRaw,
	{name: "raw jetstream PublishAsync + Nats-Msg-Id", note: "dedup cost", stream: rawStream, n: 60_000, start: startRawPublish(true, false)},
	pubFloor,
	pubMesh,
	pubBatchFloor,
	pubBatch,
	{name: "watermill-nats v2 JetStream Publish (defaults)", note: "synchronous per message", stream: wmStream, n: 8_000, start: startWatermillPublish},
	{name: "cloudevents sdk-go nats_jetstream/v2 Send", note: "synchronous; binary mode (its default)", stream: ceStream, n: 8_000, start: startSDKJSPublish},
}

// startRawPublish publishes data with nats.go's jetstream alone, each
// message with a Nats-Msg-Id header if withID, and wrapped in a structured
// CloudEvents envelope like the mesh's if envelope.
func startRawPublish(withID, envelope bool) func(e *env, data []byte) (*pubRun, error) {
	return func(e *env, data []byte) (*pubRun, error) {
		if envelope {
			var err error
			if data, err = envelopeOf(data); err != nil {
				return nil, err
			}
		}
		nc, err := e.connect("raw-js-pub")
		if err != nil {
			return nil, err
		}
		js, err := jetstream.New(nc, jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, _ *nats.Msg, err error) {
			e.asyncError(err)
		}))
		if err != nil {
			nc.Close()
			return nil, err
		}
		ctx := context.Background()
		r := &pubRun{stop: nc.Close, wait: func(ctx context.Context) error { return waitAsync(ctx, js) }}
		if withID {
			r.send = func() error {
				_, err := js.PublishAsync("raw.dur.pub", data, jetstream.WithMsgID(nuid.Next()), jetstream.WithStallWait(stallWait))
				return err
			}
			r.sendSync = func() error {
				_, err := js.Publish(ctx, "raw.dur.pub", data, jetstream.WithMsgID(nuid.Next()))
				return err
			}
		} else {
			r.send = func() error {
				_, err := js.PublishAsync("raw.dur.pub", data, jetstream.WithStallWait(stallWait))
				return err
			}
			r.sendSync = func() error {
				_, err := js.Publish(ctx, "raw.dur.pub", data)
				return err
			}
		}
		return r, nil
	}
}

func waitAsync(ctx context.Context, js jetstream.JetStream) error {
	select {
	case <-js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%d acknowledgements pending: %w", js.PublishAsyncPending(), ctx.Err())
	}
}

func startMeshPublish(e *env, data []byte) (*pubRun, error) {
	w, err := e.worker("bench-pub", meshNS, true)
	if err != nil {
		return nil, err
	}
	// EmitAsync waits for room among pending acknowledgements until its
	// context's deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 10*stallWait)
	raw := json.RawMessage(data)
	return &pubRun{
		send: func() error {
			_, err := w.EmitAsync(ctx, meshPubEvent, raw)
			return err
		},
		wait:     w.Flush,
		sendSync: func() error { return w.Emit(ctx, meshPubEvent, raw) },
		stop:     func() { cancel(); closeWorker(w) },
	}, nil
}

// emitBatchSize is how many events the EmitBatch contender emits a call.
const emitBatchSize = 1000

// startMeshBatch gathers the events sent and emits each 1,000 with one
// EmitBatch; wait emits what is left.
func startMeshBatch(e *env, data []byte) (*pubRun, error) {
	w, err := e.worker("bench-batch", meshNS, true)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*stallWait)
	raw := json.RawMessage(data)
	batch := make([]mesh.BatchEvent, 0, emitBatchSize)
	emit := func(ctx context.Context) error {
		if len(batch) == 0 {
			return nil
		}
		_, err := w.EmitBatch(ctx, batch)
		batch = batch[:0]
		return err
	}
	return &pubRun{
		send: func() error {
			if batch = append(batch, mesh.BatchEvent{Event: meshPubEvent, Data: raw}); len(batch) == emitBatchSize {
				return emit(ctx)
			}
			return nil
		},
		wait:     emit,
		sendSync: func() error { return w.Emit(ctx, meshPubEvent, raw) },
		stop:     func() { cancel(); closeWorker(w) },
	}, nil
}

func startWatermillPublish(e *env, data []byte) (*pubRun, error) {
	p, err := wmnats.NewPublisher(wmnats.PublisherConfig{URL: e.url}, watermill.NopLogger{})
	if err != nil {
		return nil, err
	}
	send := func() error { return p.Publish("wm.pub", message.NewMessage(watermill.NewUUID(), data)) }
	return &pubRun{
		send:     send,
		wait:     func(context.Context) error { return nil },
		sendSync: send,
		stop:     func() { _ = p.Close() },
	}, nil
}

func startSDKJSPublish(e *env, data []byte) (*pubRun, error) {
	nc, err := e.connect("ce-js-pub")
	if err != nil {
		return nil, err
	}
	sender, err := cejs.NewSenderFromConn(nc, ceStream, ceStream+".pub", nil)
	if err != nil {
		nc.Close()
		return nil, err
	}
	client, err := cloudevents.NewClient(sender)
	if err != nil {
		nc.Close()
		return nil, err
	}
	ctx := context.Background()
	send := func() error {
		if res := client.Send(ctx, sdkEvent("bench.stored", data)); !cloudevents.IsACK(res) {
			return fmt.Errorf("sdk-go send: %w", res)
		}
		return nil
	}
	return &pubRun{send: send, wait: func(context.Context) error { return nil }, sendSync: send, stop: nc.Close}, nil
}

// measurePublish runs one publishing contender once: n messages as its
// defaults send them, timed until all are acknowledged and checked in the
// stream; then latN synchronous publishes for latency.
func measurePublish(c pubCase, e *env, data []byte, n, latN int) (sample, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if err := e.purge(ctx, c.stream); err != nil {
		return sample{}, err
	}
	r, err := c.start(e, data)
	if err != nil {
		return sample{}, err
	}
	defer r.stop()
	gcQuiet()
	t0 := time.Now()
	for range n {
		if err := r.send(); err != nil {
			return sample{}, err
		}
	}
	if err := r.wait(ctx); err != nil {
		return sample{}, err
	}
	elapsed := time.Since(t0)
	if err := e.checkErrs(c.name); err != nil {
		return sample{}, err
	}
	if err := expectStored(ctx, e, c.stream, uint64(n)); err != nil {
		return sample{}, err
	}
	lat := make([]time.Duration, 0, latN)
	for i := range latN + latN/10 {
		t := time.Now()
		if err := r.sendSync(); err != nil {
			return sample{}, err
		}
		if i >= latN/10 {
			lat = append(lat, time.Since(t))
		}
	}
	if err := e.purge(ctx, c.stream); err != nil {
		return sample{}, err
	}
	return sample{rate: float64(n) / elapsed.Seconds(), p50: percentile(lat, 0.5), p99: percentile(lat, 0.99)}, nil
}

func expectStored(ctx context.Context, e *env, stream string, n uint64) error {
	s, err := e.js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	if got := s.CachedInfo().State.Msgs; got != n {
		return fmt.Errorf("stream %s holds %d messages, want %d", stream, got, n)
	}
	return nil
}
