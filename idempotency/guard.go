package idempotency

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/streams"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultTTL is how long a guard remembers a handled event.
const DefaultTTL = 24 * time.Hour

// Guard returns middleware that records each event a durable handler of w
// handled, by service, handler and the event's duplicate key (a hash of
// its CloudEvents source and id), in the namespace's bucket
// (subjects.IdempotencyBucket) for ttl (DefaultTTL if 0), and skips an
// event already recorded: the handler is not called, and the event is
// acknowledged and counted in mesh.DurableStats.Skipped.
//
// Use it per handler (mesh.Use) or for every handler (Config.Middleware);
// live events, which are never redelivered, pass through. The bucket is
// created if needed, with the storage and replicas of the namespace's event
// stream, which must exist. An event is recorded after its handler returns
// nil, so a crash between the two repeats it once: effectively once, not
// exactly once. If the bucket cannot be read, the event fails and is
// retried; if it cannot be written, that is logged.
func Guard(ctx context.Context, w *mesh.Worker, ttl time.Duration) (mesh.Middleware, error) {
	js := w.JetStream()
	if js == nil {
		return nil, errors.New("idempotency: guard: the worker does not use JetStream (Config.Stream.Disable)")
	}
	if ttl == 0 {
		ttl = DefaultTTL
	}
	ns := w.Namespace()
	events, err := js.Stream(ctx, subjects.EventStream(ns))
	if err != nil {
		return nil, fmt.Errorf("idempotency: guard: event stream %s: %w%s", subjects.EventStream(ns), err, streams.Hint(err))
	}
	sc := events.CachedInfo().Config
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      subjects.IdempotencyBucket(ns),
		Description: "ipcmesh: events handled by durable handlers of namespace " + ns,
		TTL:         ttl,
		Storage:     sc.Storage,
		Replicas:    max(sc.Replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("idempotency: guard: bucket %s: %w%s", subjects.IdempotencyBucket(ns), err, streams.Hint(err))
	}
	log := w.Logger()
	return func(next mesh.Handler) mesh.Handler {
		return mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
			if ev.Handler == "" {
				return next.HandleEvent(ctx, ev)
			}
			key := key(w.Service(), ev)
			_, err := kv.Get(ctx, key)
			switch {
			case err == nil:
				return mesh.ErrAlreadyHandled
			case !errors.Is(err, jetstream.ErrKeyNotFound):
				return fmt.Errorf("idempotency: look up the event at stream sequence %d: %w", ev.StreamSequence, err)
			}
			if err := next.HandleEvent(ctx, ev); err != nil {
				return err
			}
			if _, err := kv.Put(ctx, key, nil); err != nil {
				log.Warn("idempotency: the event was handled but could not be recorded; a redelivery would repeat it",
					"handler", ev.Handler, "stream_seq", ev.StreamSequence, "error", err)
			}
			return nil
		})
	}, nil
}

// key is the key under which a guard of service records a handled event:
// "<service>.<handler>.<event>", the handler in base64url (consumer names
// are at most 200 bytes) and the event as its duplicate key, so that the
// key, which travels in a subject, stays short whatever the event's id and
// source.
func key(service string, ev *mesh.Event) string {
	return service + "." + base64.RawURLEncoding.EncodeToString([]byte(ev.Handler)) + "." + subjects.DuplicateKey(ev.Source, ev.ID)
}
