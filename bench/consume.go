package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A consCase is a contender consuming a backlog from a stream with its
// defaults, acknowledging each message after the handler.
type consCase struct {
	name   string
	note   string
	stream string
	n      int
	// load publishes n messages in the contender's wire format (not
	// timed).
	load func(ctx context.Context, e *env, data []byte, n int) error
	// prepare connects (not timed); begin creates the consumer and starts
	// handling, counting into s (timed), and returns the consumer's name,
	// "" if the server names it.
	prepare func(e *env, s *sink, round int) (begin func() (string, error), stop func(), err error)
}

// The durable consumers the cluster runs too.
var (
	consRaw   = consCase{name: "raw jetstream Consume + Ack after handler", stream: rawStream, n: 100_000, load: loadRaw, prepare: prepareRawConsume(rawStream, "raw.dur.backlog")}
	consFloor = consCase{name: "raw jetstream Consume + Ack of the mesh's events", note: "the mesh's bytes and consumer filters, no decode: the floor of OnDurable", stream: meshStream(), n: 100_000, load: loadMesh,
		prepare: prepareRawConsume(meshStream(), meshBacklogSubjects()...)}
	consMesh = consCase{name: "mesh OnDurable, ack after handler", note: "defaults: Concurrency 1 (stream order), Prefetch 500", stream: meshStream(), n: 100_000, load: loadMesh, prepare: prepareMeshConsume()}
)

var consCases = []consCase{
	consRaw,
	consFloor,
	consMesh,
	{name: "mesh OnDurable, Concurrency 4", note: "four handler goroutines, any order", stream: meshStream(), n: 100_000, load: loadMesh, prepare: prepareMeshConsume(mesh.Concurrency(4))},
	{name: "mesh OnDurableBatch, batches of 100", note: "Batch defaults: up to 100 events or 1 s; one batch at a time, acked per event", stream: meshStream(), n: 100_000, load: loadMesh, prepare: prepareMeshBatchConsume},
	{name: "watermill-nats v2 durable Subscribe (defaults)", note: "synchronous ack", stream: wmStream, n: 8_000, load: loadWatermill, prepare: prepareWatermillConsume},
	{name: "cloudevents sdk-go nats_jetstream/v2 receive", note: "ephemeral push consumer, auto-ack", stream: ceStream, n: 40_000, load: loadSDKJS, prepare: prepareSDKJSConsume},
}

// publishBacklog publishes n messages asynchronously through the admin
// connection and waits for all acknowledgements.
func publishBacklog(ctx context.Context, e *env, n int, next func() (*nats.Msg, error)) error {
	for range n {
		m, err := next()
		if err != nil {
			return err
		}
		if _, err := e.js.PublishMsgAsync(m, jetstream.WithStallWait(stallWait)); err != nil {
			return err
		}
	}
	return waitAsync(ctx, e.js)
}

func loadRaw(ctx context.Context, e *env, data []byte, n int) error {
	return publishBacklog(ctx, e, n, func() (*nats.Msg, error) {
		return &nats.Msg{Subject: "raw.dur.backlog", Data: data}, nil
	})
}

func loadMesh(ctx context.Context, e *env, data []byte, n int) error {
	w, err := e.worker("bench-loader", meshNS, true)
	if err != nil {
		return err
	}
	defer closeWorker(w)
	raw := json.RawMessage(data)
	for range n {
		if _, err := w.EmitAsync(ctx, meshBacklog, raw); err != nil {
			return err
		}
	}
	return w.Flush(ctx)
}

func loadWatermill(ctx context.Context, e *env, data []byte, n int) error {
	var m wmnats.NATSMarshaler
	return publishBacklog(ctx, e, n, func() (*nats.Msg, error) {
		return m.Marshal("wm.backlog", message.NewMessage(watermill.NewUUID(), data))
	})
}

func loadSDKJS(ctx context.Context, e *env, data []byte, n int) error {
	return publishBacklog(ctx, e, n, func() (*nats.Msg, error) {
		ev := sdkEvent("bench.backlog", data)
		var body bytes.Buffer
		h, err := cejs.WriteMsg(ctx, binding.ToMessage(&ev), &body)
		if err != nil {
			return nil, err
		}
		return &nats.Msg{Subject: ceStream + ".backlog", Header: h, Data: body.Bytes()}, nil
	})
}

// prepareRawConsume consumes the messages of stream matching filters with
// nats.go's jetstream alone.
func prepareRawConsume(stream string, filters ...string) func(e *env, s *sink, round int) (func() (string, error), func(), error) {
	return func(e *env, s *sink, round int) (func() (string, error), func(), error) {
		return prepareRawConsumeOf(e, s, round, stream, filters)
	}
}

func prepareRawConsumeOf(e *env, s *sink, round int, stream string, filters []string) (func() (string, error), func(), error) {
	nc, err := e.connect("raw-js-consumer")
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	var cc jetstream.ConsumeContext
	stop := func() {
		if cc != nil {
			cc.Stop()
		}
		nc.Close()
	}
	name := fmt.Sprintf("raw_r%d", round)
	begin := func() (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cons, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
			Durable:        name,
			AckPolicy:      jetstream.AckExplicitPolicy,
			FilterSubjects: filters,
		})
		if err != nil {
			return "", err
		}
		cc, err = cons.Consume(func(m jetstream.Msg) {
			s.hit()
			if err := m.Ack(); err != nil {
				e.asyncError(err)
			}
		})
		return name, err
	}
	return begin, stop, nil
}

func prepareMeshConsume(opts ...mesh.DurableOption) func(e *env, s *sink, round int) (func() (string, error), func(), error) {
	return func(e *env, s *sink, round int) (func() (string, error), func(), error) {
		return prepareMeshWorker(e, round, func(ctx context.Context, w *mesh.Worker, name string) error {
			_, err := w.OnDurable(ctx, meshBacklog, mesh.HandlerFunc(func(context.Context, *mesh.Event) error {
				s.hit()
				return nil
			}), append([]mesh.DurableOption{mesh.DurableName(name), mesh.StartAtFirst()}, opts...)...)
			return err
		})
	}
}

func prepareMeshBatchConsume(e *env, s *sink, round int) (func() (string, error), func(), error) {
	return prepareMeshWorker(e, round, func(ctx context.Context, w *mesh.Worker, name string) error {
		_, err := w.OnDurableBatch(ctx, meshBacklog, mesh.BatchHandlerFunc(func(_ context.Context, events []*mesh.Event) error {
			for range events {
				s.hit()
			}
			return nil
		}), mesh.DurableName(name), mesh.StartAtFirst())
		return err
	})
}

// prepareMeshWorker connects the consuming service's worker; begin
// registers its durable handler, named after the round, with register.
func prepareMeshWorker(e *env, round int, register func(ctx context.Context, w *mesh.Worker, name string) error) (func() (string, error), func(), error) {
	w, err := e.worker(meshConsumer, meshNS, true)
	if err != nil {
		return nil, nil, err
	}
	name := fmt.Sprintf("mesh_r%d", round)
	begin := func() (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return name, register(ctx, w, name)
	}
	return begin, func() { closeWorker(w) }, nil
}

func prepareWatermillConsume(e *env, s *sink, round int) (func() (string, error), func(), error) {
	nc, err := e.connect("wm-consumer")
	if err != nil {
		return nil, nil, err
	}
	name := fmt.Sprintf("wm_r%d", round)
	// The defaults of NewSubscriber, on a connection dialled beforehand;
	// a durable name is what makes the subscription durable.
	sub, err := wmnats.NewSubscriberWithNatsConn(nc, wmnats.SubscriberSubscriptionConfig{
		JetStream: wmnats.JetStreamConfig{DurablePrefix: name},
	}, watermill.NopLogger{})
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	stop := func() {
		cancel()
		_ = sub.Close()
		<-done
	}
	begin := func() (string, error) {
		msgs, err := sub.Subscribe(ctx, "wm.backlog")
		if err != nil {
			close(done)
			return "", err
		}
		go func() {
			defer close(done)
			for m := range msgs {
				s.hit()
				m.Ack()
			}
		}()
		return name, nil
	}
	return begin, stop, nil
}

func prepareSDKJSConsume(e *env, s *sink, _ int) (func() (string, error), func(), error) {
	nc, err := e.connect("ce-js-consumer")
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	stop := func() {
		cancel()
		<-stopped
		nc.Close()
	}
	begin := func() (string, error) {
		consumer, err := cejs.NewConsumerFromConn(nc, ceStream, ceStream+".backlog", nil, nil)
		if err != nil {
			close(stopped)
			return "", err
		}
		client, err := cloudevents.NewClient(consumer)
		if err != nil {
			close(stopped)
			return "", err
		}
		go func() {
			defer close(stopped)
			_ = client.StartReceiver(ctx, func(context.Context, event.Event) { s.hit() })
		}()
		// The consumer is ephemeral: waitAcked finds its name.
		return "", nil
	}
	return begin, stop, nil
}

// measureConsume runs one consuming contender once over the backlog of n
// messages ending at stream sequence last: the clock runs from the call
// that creates the consumer until every message was handled and the
// server reports it acknowledged (ack floor at last).
func measureConsume(c consCase, e *env, n int, last uint64, round int) (sample, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	if err := e.deleteConsumers(ctx, c.stream); err != nil {
		return sample{}, err
	}
	s := newSink(1 << 30)
	begin, stop, err := c.prepare(e, s, round)
	if err != nil {
		return sample{}, err
	}
	defer stop()
	p := s.expect(int64(n))
	gcQuiet()
	t0 := time.Now()
	name, err := begin()
	if err != nil {
		return sample{}, err
	}
	if err := s.wait(ctx, p); err != nil {
		return sample{}, err
	}
	if err := waitAcked(ctx, e, c.stream, name, last); err != nil {
		return sample{}, err
	}
	elapsed := time.Since(t0)
	if err := e.checkErrs(c.name); err != nil {
		return sample{}, err
	}
	if got := s.count.Load(); got != int64(n) {
		return sample{}, fmt.Errorf("%d messages handled, want %d (redeliveries?)", got, n)
	}
	return sample{rate: float64(n) / elapsed.Seconds()}, nil
}

// waitAcked polls the consumer (the stream's only one when name is empty)
// until its ack floor reaches sequence last. It lists the stream's
// consumers, which works for push and pull consumers alike.
func waitAcked(ctx context.Context, e *env, stream, name string, last uint64) error {
	s, err := e.js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	for {
		var floor uint64
		found := false
		infos := s.ListConsumers(ctx)
		for ci := range infos.Info() {
			if name == "" || ci.Name == name {
				floor, found = ci.AckFloor.Stream, true
			}
		}
		if err := infos.Err(); err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("no consumer %q on %s", name, stream)
		}
		if floor >= last {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("consumer %q: ack floor %d, want %d: %w", name, floor, last, ctx.Err())
		case <-time.After(200 * time.Microsecond):
		}
	}
}

func (e *env) deleteConsumers(ctx context.Context, stream string) error {
	s, err := e.js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	names := s.ConsumerNames(ctx)
	var list []string
	for n := range names.Name() {
		list = append(list, n)
	}
	if err := names.Err(); err != nil {
		return err
	}
	for _, n := range list {
		if err := s.DeleteConsumer(ctx, n); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return err
		}
	}
	return nil
}

// lastSeq returns the stream's last sequence.
func lastSeq(ctx context.Context, e *env, stream string) (uint64, error) {
	s, err := e.js.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	return s.CachedInfo().State.LastSeq, nil
}
