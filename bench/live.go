package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	cenats "github.com/cloudevents/sdk-go/protocol/nats/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
)

// A liveCase is a contender on the live path: something that sends
// messages over core NATS and something that receives them.
type liveCase struct {
	name string
	note string
	n    int // messages per throughput run at scale 1
	// start connects both sides; every message received is counted with
	// s.hit. send sends one message.
	start func(e *env, data []byte, s *sink) (send func() error, stop func(), err error)
}

// The live contenders the payload-size table runs too.
var (
	liveRaw   = liveCase{name: "raw nats.go core pub->sub, payload only", n: 300_000, start: startRawCore}
	liveFloor = liveCase{name: "raw nats.go core, body = a structured envelope", note: "the mesh's bytes, no encode or decode: the floor of structured mode", n: 250_000, start: startRawEnvelope}
	liveMesh  = liveCase{name: "mesh Emit -> On, structured", note: "full CloudEvents attributes", n: 150_000, start: startMesh(codec.Structured)}
)

var liveCases = []liveCase{
	liveRaw,
	{name: "raw nats.go core + 6 ce-* headers", n: 150_000, start: startRawHeaders},
	liveFloor,
	liveMesh,
	{name: "mesh Emit -> On, codec.Binary", note: "ce-* headers", n: 120_000, start: startMesh(codec.Binary)},
	{name: "mesh Emit -> raw subscriber", note: "the sending side alone", n: 200_000, start: startMeshToRaw},
	{name: "raw publish of an envelope -> mesh On", note: "the receiving side alone", n: 150_000, start: startRawToMesh},
	{name: "cloudevents sdk-go protocol/nats/v2", note: "structured (its only mode)", n: 25_000, start: startSDKNATS},
}

// traceparent is a realistic extension value for header baselines.
const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func startRawCore(e *env, data []byte, s *sink) (func() error, func(), error) {
	pub, sub, err := rawPair(e, "raw.live", s)
	if err != nil {
		return nil, nil, err
	}
	send := func() error { return pub.Publish("raw.live", data) }
	return send, func() { pub.Close(); sub.Close() }, nil
}

func startRawHeaders(e *env, data []byte, s *sink) (func() error, func(), error) {
	pub, sub, err := rawPair(e, "rawh.live", s)
	if err != nil {
		return nil, nil, err
	}
	// The header map is reused and only ce-id changes per message, as a
	// lean binary-mode sender would do.
	msg := &nats.Msg{Subject: "rawh.live", Data: data, Header: nats.Header{
		"ce-specversion": {"1.0"},
		"ce-id":          {""},
		"ce-source":      {"bench-pub"},
		"ce-type":        {"bench:live"},
		"ce-time":        {time.Now().UTC().Format(time.RFC3339Nano)},
		"ce-traceparent": {traceparent},
	}}
	id := msg.Header["ce-id"]
	send := func() error {
		id[0] = nuid.Next()
		return pub.PublishMsg(msg)
	}
	return send, func() { pub.Close(); sub.Close() }, nil
}

func startRawEnvelope(e *env, data []byte, s *sink) (func() error, func(), error) {
	pub, sub, err := rawPair(e, "rawe.live", s)
	if err != nil {
		return nil, nil, err
	}
	body, err := envelopeOf(data)
	if err != nil {
		return nil, nil, err
	}
	send := func() error { return pub.Publish("rawe.live", body) }
	return send, func() { pub.Close(); sub.Close() }, nil
}

// envelopeOf returns data in a structured CloudEvents envelope with the
// attributes the mesh sends.
func envelopeOf(data []byte) ([]byte, error) {
	ev := codec.Event{ID: nuid.Next(), Source: "bench-pub", Type: "bench:live", Time: time.Now().UTC(),
		DataContentType: codec.ContentTypeJSON, Data: data}
	return codec.AppendStructured(nil, &ev)
}

// rawPair connects a publisher and a subscriber counting into s.
func rawPair(e *env, subject string, s *sink) (pub, sub *nats.Conn, err error) {
	if sub, err = e.connect("raw-sub"); err != nil {
		return nil, nil, err
	}
	if _, err = sub.Subscribe(subject, func(*nats.Msg) { s.hit() }); err != nil {
		sub.Close()
		return nil, nil, err
	}
	if err = sub.Flush(); err != nil {
		sub.Close()
		return nil, nil, err
	}
	if pub, err = e.connect("raw-pub"); err != nil {
		sub.Close()
		return nil, nil, err
	}
	return pub, sub, nil
}

func startMesh(mode codec.Mode) func(e *env, data []byte, s *sink) (func() error, func(), error) {
	return func(e *env, data []byte, s *sink) (func() error, func(), error) {
		sub, err := meshReceiver(e, s)
		if err != nil {
			return nil, nil, err
		}
		pub, err := e.worker("bench-pub", "live", false, func(c *mesh.Config) { c.Encoding = mode })
		if err != nil {
			closeWorker(sub)
			return nil, nil, err
		}
		return meshEmitter(pub, data), func() { closeWorker(pub); closeWorker(sub) }, nil
	}
}

func startMeshToRaw(e *env, data []byte, s *sink) (func() error, func(), error) {
	sub, err := e.connect("raw-sub")
	if err != nil {
		return nil, nil, err
	}
	if _, err := sub.Subscribe("live.all.bench.live", func(*nats.Msg) { s.hit() }); err != nil {
		sub.Close()
		return nil, nil, err
	}
	if err := sub.Flush(); err != nil {
		sub.Close()
		return nil, nil, err
	}
	pub, err := e.worker("bench-pub", "live", false)
	if err != nil {
		sub.Close()
		return nil, nil, err
	}
	return meshEmitter(pub, data), func() { closeWorker(pub); sub.Close() }, nil
}

func startRawToMesh(e *env, data []byte, s *sink) (func() error, func(), error) {
	body, err := envelopeOf(data)
	if err != nil {
		return nil, nil, err
	}
	sub, err := meshReceiver(e, s)
	if err != nil {
		return nil, nil, err
	}
	pub, err := e.connect("raw-pub")
	if err != nil {
		closeWorker(sub)
		return nil, nil, err
	}
	send := func() error { return pub.Publish("live.all.bench.live", body) }
	return send, func() { pub.Close(); closeWorker(sub) }, nil
}

// meshReceiver connects the worker whose live handler counts every
// bench:live event in s.
func meshReceiver(e *env, s *sink) (*mesh.Worker, error) {
	sub, err := e.worker("bench-sub", "live", false)
	if err != nil {
		return nil, err
	}
	_, err = sub.On(context.Background(), "bench:live", mesh.HandlerFunc(func(context.Context, *mesh.Event) error {
		s.hit()
		return nil
	}))
	if err != nil {
		closeWorker(sub)
		return nil, err
	}
	return sub, nil
}

// meshEmitter returns a send func that broadcasts data as bench:live from pub.
func meshEmitter(pub *mesh.Worker, data []byte) func() error {
	ctx := context.Background()
	raw := json.RawMessage(data)
	return func() error { return pub.Emit(ctx, "bench:live", raw) }
}

// sdkEvent builds one event with the attributes the mesh sends.
func sdkEvent(typ string, data []byte) event.Event {
	ev := cloudevents.NewEvent()
	ev.SetID(nuid.Next())
	ev.SetSource("bench-pub")
	ev.SetType(typ)
	ev.SetTime(time.Now().UTC())
	_ = ev.SetData(cloudevents.ApplicationJSON, data)
	return ev
}

const sdkReadyType = "bench.ready"

func startSDKNATS(e *env, data []byte, s *sink) (func() error, func(), error) {
	subConn, err := e.connect("ce-sub")
	if err != nil {
		return nil, nil, err
	}
	pubConn, err := e.connect("ce-pub")
	if err != nil {
		subConn.Close()
		return nil, nil, err
	}
	fail := func(err error) (func() error, func(), error) {
		subConn.Close()
		pubConn.Close()
		return nil, nil, err
	}
	consumer, err := cenats.NewConsumerFromConn(subConn, "ce.live")
	if err != nil {
		return fail(err)
	}
	receiver, err := cloudevents.NewClient(consumer)
	if err != nil {
		return fail(err)
	}
	sender, err := cenats.NewSenderFromConn(pubConn, "ce.live")
	if err != nil {
		return fail(err)
	}
	client, err := cloudevents.NewClient(sender)
	if err != nil {
		return fail(err)
	}
	ready := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		_ = receiver.StartReceiver(ctx, func(_ context.Context, ev event.Event) {
			if ev.Type() == sdkReadyType {
				select {
				case ready <- struct{}{}:
				default:
				}
				return
			}
			s.hit()
		})
	}()
	stop := func() {
		cancel()
		<-stopped
		subConn.Close()
		pubConn.Close()
	}
	// The receiver has no readiness signal: send a marker until it
	// arrives, then let stray markers land (they are not counted).
	if err := sdkWaitReady(ctx, func() error { return client.Send(ctx, sdkEvent(sdkReadyType, data)) }, ready); err != nil {
		stop()
		return nil, nil, err
	}
	send := func() error {
		if res := client.Send(ctx, sdkEvent("bench.live", data)); !cloudevents.IsACK(res) {
			return fmt.Errorf("sdk-go send: %w", res)
		}
		return nil
	}
	return send, stop, nil
}

func sdkWaitReady(ctx context.Context, send func() error, ready <-chan struct{}) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := send(); err != nil && !cloudevents.IsACK(err) {
			return err
		}
		select {
		case <-ready:
			time.Sleep(20 * time.Millisecond)
			return nil
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("sdk-go receiver not subscribed within 10s")
}

// measureLive runs one contender once: sequential one-way latency (each
// message sent after the previous one arrived), then throughput.
func measureLive(c liveCase, e *env, data []byte, n, latN, window int) (sample, error) {
	s := newSink(window)
	send, stop, err := c.start(e, data, s)
	if err != nil {
		return sample{}, err
	}
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	lat, err := sequential(ctx, s, send, latN)
	if err != nil {
		return sample{}, fmt.Errorf("latency: %w", err)
	}
	rate, err := throughput(ctx, s, send, n, 1)
	if err != nil {
		return sample{}, err
	}
	if err := e.checkErrs(c.name); err != nil {
		return sample{}, err
	}
	return sample{rate: rate, p50: percentile(lat, 0.50), p99: percentile(lat, 0.99)}, nil
}

// sequential sends latN messages one at a time, after latN/10 unmeasured
// ones, and returns the time from each send to its arrival.
func sequential(ctx context.Context, s *sink, send func() error, latN int) ([]time.Duration, error) {
	warm := latN / 10
	lat := make([]time.Duration, 0, latN)
	for i := range warm + latN {
		p := s.expect(1)
		t0 := time.Now()
		if err := send(); err != nil {
			return nil, err
		}
		if err := s.wait(ctx, p); err != nil {
			return nil, err
		}
		if i >= warm {
			lat = append(lat, p.end.Sub(t0))
		}
	}
	return lat, nil
}

// throughput sends n messages as fast as the window allows, each received
// fan times, and returns messages sent per second, from the first send to
// the last arrival.
func throughput(ctx context.Context, s *sink, send func() error, n, fan int) (float64, error) {
	gcQuiet()
	p := s.expect(int64(n * fan))
	t0 := time.Now()
	for i := range n {
		if err := s.admit(ctx, p, int64(i*fan)); err != nil {
			return 0, err
		}
		if err := send(); err != nil {
			return 0, err
		}
	}
	if err := s.wait(ctx, p); err != nil {
		return 0, err
	}
	return float64(n) / p.end.Sub(t0).Seconds(), nil
}
