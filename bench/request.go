package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/nats-io/nats.go"
)

// A reqCase is a contender on the request/reply path: start returns a
// function sending one request and waiting for its reply.
type reqCase struct {
	name  string
	note  string
	start func(e *env, data []byte) (request func() error, stop func(), err error)
}

var reqCases = []reqCase{
	{name: "raw nats.go Request, sequential", note: "responder echoes the payload", start: startRawRequest},
	{name: "raw nats.go Request of a structured envelope, sequential", note: "the mesh's bytes both ways, no encode or decode: the floor", start: startRawEnvelopeRequest},
	{name: "mesh Request -> OnRequest, sequential", note: "structured CloudEvents both ways", start: startMeshRequest},
}

// startRawEnvelopeRequest is startRawRequest sending, and echoing, the
// mesh's bytes.
func startRawEnvelopeRequest(e *env, data []byte) (func() error, func(), error) {
	envelope, err := envelopeOf(data)
	if err != nil {
		return nil, nil, err
	}
	return startRawRequest(e, envelope)
}

func startRawRequest(e *env, data []byte) (func() error, func(), error) {
	responder, err := e.connect("raw-responder")
	if err != nil {
		return nil, nil, err
	}
	if _, err := responder.Subscribe("rr.echo", func(m *nats.Msg) { _ = m.Respond(m.Data) }); err != nil {
		responder.Close()
		return nil, nil, err
	}
	if err := responder.Flush(); err != nil {
		responder.Close()
		return nil, nil, err
	}
	caller, err := e.connect("raw-caller")
	if err != nil {
		responder.Close()
		return nil, nil, err
	}
	request := func() error {
		_, err := caller.Request("rr.echo", data, 5*time.Second)
		return err
	}
	return request, func() { caller.Close(); responder.Close() }, nil
}

func startMeshRequest(e *env, data []byte) (func() error, func(), error) {
	responder, err := e.worker("bench-responder", "live", false)
	if err != nil {
		return nil, nil, err
	}
	ctx := context.Background()
	_, err = responder.OnRequest(ctx, "bench:get", mesh.ResponderFunc(func(_ context.Context, ev *mesh.Event) (any, error) {
		return json.RawMessage(ev.Data), nil
	}))
	if err != nil {
		closeWorker(responder)
		return nil, nil, err
	}
	caller, err := e.worker("bench-caller", "live", false)
	if err != nil {
		closeWorker(responder)
		return nil, nil, err
	}
	raw := json.RawMessage(data)
	request := func() error {
		_, err := caller.Request(ctx, "bench-responder", "bench:get", raw)
		return err
	}
	return request, func() { closeWorker(caller); closeWorker(responder) }, nil
}

// measureRequest sends n/10 unmeasured requests, then n timed ones, one at
// a time.
func measureRequest(c reqCase, e *env, data []byte, n int) (sample, error) {
	request, stop, err := c.start(e, data)
	if err != nil {
		return sample{}, err
	}
	defer stop()
	for range n / 10 {
		if err := request(); err != nil {
			return sample{}, err
		}
	}
	gcQuiet()
	lat := make([]time.Duration, 0, n)
	t0 := time.Now()
	for range n {
		t := time.Now()
		if err := request(); err != nil {
			return sample{}, err
		}
		lat = append(lat, time.Since(t))
	}
	elapsed := time.Since(t0)
	if err := e.checkErrs(c.name); err != nil {
		return sample{}, err
	}
	return sample{rate: float64(n) / elapsed.Seconds(), p50: percentile(lat, 0.5), p99: percentile(lat, 0.99)}, nil
}
