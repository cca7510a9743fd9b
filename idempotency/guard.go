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
// live events, which are never redelivered, pass through. Each service has
// its own bucket (subjects.IdempotencyBucket(ns, service)), created or
// updated here with ttl and the storage and replicas of the namespace's
// event stream, which must exist; when the worker's resources are the
// operator's (mesh.StreamConfig.Provisioned), the bucket must exist and
// is used as it is, its TTL the operator's. An event is recorded after its
// handler returns nil, so a crash between the two repeats it once:
// effectively once, not exactly once. If the bucket cannot be read, the event fails and is
// retried; if it cannot be written, that is logged.
func Guard(ctx context.Context, w *mesh.Worker, ttl time.Duration) (mesh.Middleware, error) {
	js := w.JetStream()
	if js == nil {
		return nil, errors.New("idempotency: guard: the worker does not use JetStream (Config.Stream.Disable)")
	}
	kv, err := bucket(ctx, js, w, ttl)
	if err != nil {
		return nil, err
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

// bucket returns the key-value bucket of w's service: created or updated
// with ttl, or, for a provisioned worker, the operator's.
func bucket(ctx context.Context, js jetstream.JetStream, w *mesh.Worker, ttl time.Duration) (jetstream.KeyValue, error) {
	ns, name := w.Namespace(), subjects.IdempotencyBucket(w.Namespace(), w.Service())
	if w.Provisioned() {
		kv, err := js.KeyValue(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("idempotency: guard: bucket %s, which the operator creates (mesh.StreamConfig.Provisioned; meshctl setup): %w%s", name, err, streams.Hint(err))
		}
		return kv, nil
	}
	events, err := js.Stream(ctx, subjects.EventStream(ns))
	if err != nil {
		return nil, fmt.Errorf("idempotency: guard: event stream %s: %w%s", subjects.EventStream(ns), err, streams.Hint(err))
	}
	sc := events.CachedInfo().Config
	kv, err := js.CreateOrUpdateKeyValue(ctx, BucketConfig(ns, w.Service(), ttl, sc))
	if err != nil {
		return nil, fmt.Errorf("idempotency: guard: bucket %s: %w%s", name, err, streams.Hint(err))
	}
	return kv, nil
}

// BucketConfig is the configuration of service's bucket in namespace ns,
// which remembers handled events for ttl (DefaultTTL if 0) with the
// storage and replicas of the namespace's event stream, events.
func BucketConfig(ns, service string, ttl time.Duration, events jetstream.StreamConfig) jetstream.KeyValueConfig {
	if ttl == 0 {
		ttl = DefaultTTL
	}
	return jetstream.KeyValueConfig{
		Bucket:      subjects.IdempotencyBucket(ns, service),
		Description: "ipcmesh: events handled by the durable handlers of " + service + " in namespace " + ns,
		TTL:         ttl,
		Storage:     events.Storage,
		Replicas:    max(events.Replicas, 1),
	}
}

// key is the key under which a guard of service records a handled event:
// "<service>.<handler>.<event>", the handler in base64url (consumer names
// are at most 200 bytes) and the event as its duplicate key, so that the
// key, which travels in a subject, stays short whatever the event's id and
// source.
func key(service string, ev *mesh.Event) string {
	return service + "." + base64.RawURLEncoding.EncodeToString([]byte(ev.Handler)) + "." + subjects.DuplicateKey(ev.Source, ev.ID)
}
