package mesh

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultIdempotencyTTL is how long the idempotency guard remembers a
// handled event.
const DefaultIdempotencyTTL = 24 * time.Hour

// IdempotencyBucketName is the key-value bucket in which the idempotency
// guards of namespace ns record handled events.
func IdempotencyBucketName(ns string) string { return "MESH_" + ns + "_handled" }

// IdempotencyGuard returns middleware that makes durable handlers
// effectively once: it records each event a durable handler handled (by
// service, handler and the event's CloudEvents source and id, hashed) in a JetStream key-value bucket for
// ttl (DefaultIdempotencyTTL if 0), and skips an event already recorded, so
// redeliveries, re-drives and replays do not repeat side effects. A skipped
// event is acknowledged and counted in DurableStats.Skipped.
//
// Use it per handler (Use) or for every handler (Config.Middleware); live
// events, which are never redelivered, pass through. The bucket is created
// if needed. An event is recorded after its handler returns nil, so a crash
// between the two repeats it once: effectively once, not exactly once. If
// the bucket cannot be read the event fails and is retried.
func (w *Worker) IdempotencyGuard(ctx context.Context, ttl time.Duration) (Middleware, error) {
	if w.js == nil {
		return nil, errors.New("mesh: IdempotencyGuard: JetStream is disabled (Config.Stream.Disable)")
	}
	if ttl == 0 {
		ttl = DefaultIdempotencyTTL
	}
	kv, err := w.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      IdempotencyBucketName(w.cfg.Namespace),
		Description: "ipcmesh: events handled by durable handlers of namespace " + w.cfg.Namespace,
		TTL:         ttl,
		Storage:     w.cfg.Stream.Storage,
		Replicas:    max(w.cfg.Stream.Replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("mesh: IdempotencyGuard: bucket %s: %w%s", IdempotencyBucketName(w.cfg.Namespace), err, jetStreamHint(err))
	}
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, ev *Event) error {
			if ev.Handler == "" {
				return next.HandleEvent(ctx, ev)
			}
			key := idempotencyKey(w.cfg.Service, ev)
			_, err := kv.Get(ctx, key)
			switch {
			case err == nil:
				w.stats.durable(ev.Handler).skipped.Add(1)
				w.log.Debug("mesh: skipped an event already handled", "handler", ev.Handler, "stream_seq", ev.StreamSequence)
				return nil
			case !errors.Is(err, jetstream.ErrKeyNotFound):
				return fmt.Errorf("mesh: idempotency guard: look up the event at stream sequence %d: %w", ev.StreamSequence, err)
			}
			if err := next.HandleEvent(ctx, ev); err != nil {
				return err
			}
			if _, err := kv.Put(ctx, key, nil); err != nil {
				w.report(fmt.Errorf("mesh: idempotency guard: record the event at stream sequence %d: %w (a redelivery would repeat it)", ev.StreamSequence, err))
			}
			return nil
		})
	}, nil
}

// idempotencyKey is the key under which the guard records a handled event:
// "<service>.<handler>.<event>", the handler as base64url (consumer names
// are at most 200 bytes) and the event as its duplicate key, a hash of
// source and id, so that the key, which travels in a subject, stays short
// whatever the event's id and source.
func idempotencyKey(service string, ev *Event) string {
	return service + "." + base64.RawURLEncoding.EncodeToString([]byte(ev.Handler)) + "." + subjects.DuplicateKey(ev.Source, ev.ID)
}
