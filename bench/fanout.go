package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/nats-io/nats.go"
)

// instancesPerService is how many instances each service of the fan-out
// runs.
const instancesPerService = 2

// fanCase is a broadcast to every instance of every service: start connects
// services*instancesPerService receivers and a sender.
type fanCase struct {
	name  string
	start func(e *env, data []byte, services int, s *sink) (send func() error, stop func(), err error)
}

var fanCases = []fanCase{
	{name: "raw nats.go core, one subscriber per instance", start: startRawFan},
	{name: "mesh broadcast Emit -> On", start: startMeshFan},
	{name: "raw nats.go core, body = a structured envelope (the floor)", start: startRawEnvelopeFan},
}

// startRawEnvelopeFan is startRawFan sending the mesh's bytes, with
// nothing to encode or decode.
func startRawEnvelopeFan(e *env, data []byte, services int, s *sink) (func() error, func(), error) {
	envelope, err := envelopeOf(data)
	if err != nil {
		return nil, nil, err
	}
	return startRawFan(e, envelope, services, s)
}

var fanServices = []int{1, 5, 10}

func startRawFan(e *env, data []byte, services int, s *sink) (func() error, func(), error) {
	var conns []*nats.Conn
	stop := func() {
		for _, c := range conns {
			c.Close()
		}
	}
	for i := range services * instancesPerService {
		c, err := e.connect(fmt.Sprintf("raw-fan-%d", i))
		if err != nil {
			stop()
			return nil, nil, err
		}
		conns = append(conns, c)
		if _, err := c.Subscribe("fan.raw", func(*nats.Msg) { s.hit() }); err != nil {
			stop()
			return nil, nil, err
		}
		if err := c.Flush(); err != nil {
			stop()
			return nil, nil, err
		}
	}
	pub, err := e.connect("raw-fan-pub")
	if err != nil {
		stop()
		return nil, nil, err
	}
	conns = append(conns, pub)
	return func() error { return pub.Publish("fan.raw", data) }, stop, nil
}

func startMeshFan(e *env, data []byte, services int, s *sink) (func() error, func(), error) {
	var workers []*mesh.Worker
	stop := func() {
		for _, w := range workers {
			closeWorker(w)
		}
	}
	h := mesh.HandlerFunc(func(context.Context, *mesh.Event) error {
		s.hit()
		return nil
	})
	ctx := context.Background()
	for i := range services {
		for range instancesPerService {
			w, err := e.worker(fmt.Sprintf("svc-%02d", i), "fan", false)
			if err != nil {
				stop()
				return nil, nil, err
			}
			workers = append(workers, w)
			if _, err := w.On(ctx, "bench:fan", h); err != nil {
				stop()
				return nil, nil, err
			}
		}
	}
	pub, err := e.worker("bench-pub", "fan", false)
	if err != nil {
		stop()
		return nil, nil, err
	}
	workers = append(workers, pub)
	raw := json.RawMessage(data)
	return func() error { return pub.Emit(ctx, "bench:fan", raw) }, stop, nil
}

// measureFan broadcasts n events to services*instancesPerService receivers:
// rate is deliveries per second, extra emits per second.
func measureFan(c fanCase, e *env, data []byte, services, n, window int) (sample, error) {
	s := newSink(window)
	send, stop, err := c.start(e, data, services, s)
	if err != nil {
		return sample{}, err
	}
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	fan := services * instancesPerService
	emits, err := throughput(ctx, s, send, n, fan)
	if err != nil {
		return sample{}, err
	}
	if err := e.checkErrs(c.name); err != nil {
		return sample{}, err
	}
	return sample{rate: emits * float64(fan), extra: emits}, nil
}

// handlerCounts are the numbers of handlers one worker registers for the
// same event in the handlers section.
var handlerCounts = []int{1, 5, 10}

// startMeshHandlers registers handlers handlers for one event in one
// worker: each delivery runs each of them.
func startMeshHandlers(e *env, data []byte, handlers int, s *sink) (func() error, func(), error) {
	sub, err := e.worker("bench-sub", "live", false)
	if err != nil {
		return nil, nil, err
	}
	ctx := context.Background()
	for range handlers {
		if _, err := sub.On(ctx, "bench:multi", mesh.HandlerFunc(func(context.Context, *mesh.Event) error {
			s.hit()
			return nil
		})); err != nil {
			closeWorker(sub)
			return nil, nil, err
		}
	}
	pub, err := e.worker("bench-pub", "live", false)
	if err != nil {
		closeWorker(sub)
		return nil, nil, err
	}
	raw := json.RawMessage(data)
	return func() error { return pub.Emit(ctx, "bench:multi", raw) }, func() { closeWorker(pub); closeWorker(sub) }, nil
}

// measureHandlers emits n events to one worker with handlers handlers for
// them: rate is handler calls per second, extra emits per second.
func measureHandlers(e *env, data []byte, handlers, n, window int) (sample, error) {
	s := newSink(window)
	send, stop, err := startMeshHandlers(e, data, handlers, s)
	if err != nil {
		return sample{}, err
	}
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	emits, err := throughput(ctx, s, send, n, handlers)
	if err != nil {
		return sample{}, err
	}
	if err := e.checkErrs("handlers"); err != nil {
		return sample{}, err
	}
	return sample{rate: emits * float64(handlers), extra: emits}, nil
}
