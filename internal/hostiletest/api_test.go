package hostiletest

import (
	"context"
	"time"

	"github.com/exprsn/ipcmesh/deadletter"
	"github.com/exprsn/ipcmesh/idempotency"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go/jetstream"
)

// This file holds every call into the mesh whose name or package the
// restructure of mesh/ changes (registering handlers and their options,
// the idempotency guard, the dead-letter reader, stream and header names),
// so that following it touches this file only. The rest of the package
// uses mesh.Connect (through testutil), Config, Emit, Request, Stats,
// Permanent, HandlerFunc, ResponderFunc and RemoteError, and the wire
// names of docs/wire-protocol.md.

// eventStream and deadLetterStream are the namespace's streams.
func eventStream() string      { return subjects.EventStream(ns) }
func deadLetterStream() string { return subjects.DeadLetterStream(ns) }

// register registers h on path p for pattern: with On, OnRequest (r) or
// OnDurable (with fast retries, the consumer named after the service, and
// behind the idempotency guard on the guarded path).
func register(ctx context.Context, w *mesh.Worker, p path, h mesh.Handler, r mesh.Responder) error {
	var err error
	switch p {
	case pathLive:
		_, err = w.On(ctx, pattern, h)
	case pathRequest:
		_, err = w.OnRequest(ctx, pattern, r)
	case pathDurable, pathGuarded:
		opts := []mesh.DurableOption{
			mesh.MaxDeliver(maxDeliver), mesh.Backoff(50 * time.Millisecond), mesh.AckWait(time.Second), mesh.DurableName(p.service()),
		}
		if p == pathGuarded {
			guard, gerr := idempotency.Guard(ctx, w, 0)
			if gerr != nil {
				return gerr
			}
			opts = append(opts, mesh.Use(guard))
		}
		_, err = w.OnDurable(ctx, pattern, h, opts...)
	}
	return err
}

// deadLetter is what the tests read of a dead letter through the mesh's
// reader; the rest they read from the dead-letter stream itself.
type deadLetter struct {
	Sequence       uint64 // in the dead-letter stream
	StreamSequence uint64 // of the original, in the event stream
	Deliveries     uint64
}

// listDeadLetters returns the dead letters of service.
func listDeadLetters(ctx context.Context, js jetstream.JetStream, service string) ([]deadLetter, error) {
	letters, err := deadletter.New(js, ns).List(ctx, service, 1, 0)
	out := make([]deadLetter, len(letters))
	for i, l := range letters {
		out[i] = deadLetter{Sequence: l.Sequence, StreamSequence: l.StreamSequence, Deliveries: l.Deliveries}
	}
	return out, err
}
