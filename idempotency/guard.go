package idempotency

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/exprsn/ipcmesh/internal/headers"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/streams"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultTTL is how long a guard remembers a handled event.
const DefaultTTL = 24 * time.Hour

// Record is the value of every record a guard writes. A record with
// another value, or with any header, is not the guard's (see Guard).
const Record = "handled"

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
// is used as it is, its TTL the operator's, but it must not allow direct
// gets (BucketConfig; meshctl setup turns them off). An event is recorded
// after its handler returns nil, so a crash between the two repeats it
// once: effectively once, not exactly once. If the bucket cannot be read,
// the event fails and is retried; if it cannot be written, that is logged.
//
// Only the guard's own records count: a record whose value is Record and
// that has no header. Any client of the account can make the server write
// its answers (an acknowledgement, a status message) onto a key of the
// bucket, by naming that key as the reply subject of a request
// (docs/security.md); such a record is not taken for "handled": the event
// is handled, the record overwritten, and a warning logged with what the
// record held.
func Guard(ctx context.Context, w *mesh.Worker, ttl time.Duration) (mesh.Middleware, error) {
	js := w.JetStream()
	if js == nil {
		return nil, errors.New("idempotency: guard: the worker does not use JetStream (Config.Stream.Disable)")
	}
	stream, err := bucket(ctx, js, w, ttl)
	if err != nil {
		return nil, err
	}
	g := &guard{js: js, stream: stream, log: w.Logger(),
		prefix: "$KV." + subjects.IdempotencyBucket(w.Namespace(), w.Service()) + "."}
	return func(next mesh.Handler) mesh.Handler {
		return mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
			if ev.Handler == "" {
				return next.HandleEvent(ctx, ev)
			}
			subject := g.prefix + key(w.Service(), ev)
			handled, err := g.handled(ctx, subject, ev)
			switch {
			case err != nil:
				return fmt.Errorf("idempotency: look up the event at stream sequence %d: %w", ev.StreamSequence, err)
			case handled:
				return mesh.ErrAlreadyHandled
			}
			if err := next.HandleEvent(ctx, ev); err != nil {
				return err
			}
			if _, err := g.js.Publish(ctx, subject, []byte(Record)); err != nil {
				g.log.Warn("idempotency: the event was handled but could not be recorded; a redelivery would repeat it",
					"handler", ev.Handler, "stream_seq", ev.StreamSequence, "error", err)
			}
			return nil
		})
	}, nil
}

// guard reads and writes one service's records.
type guard struct {
	js     jetstream.JetStream
	stream jetstream.Stream // the bucket's, read with the stream's message get
	log    *slog.Logger
	prefix string // "$KV.<bucket>."
}

// handled reports whether the record at subject says ev was handled: it
// is the guard's own. A record the guard did not write is reported.
func (g *guard) handled(ctx context.Context, subject string, ev *mesh.Event) (bool, error) {
	msg, err := g.stream.GetLastMsgForSubject(ctx, subject)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	switch classify(msg) {
	case own:
		return true, nil
	case removed:
		return false, nil
	}
	g.log.Warn("idempotency: ignored a record the guard did not write, a message the server was made to write on the "+
		"event's key (docs/security.md, reply-subject reflection); the event is handled and the record overwritten",
		"handler", ev.Handler, "stream_seq", ev.StreamSequence, "event_id", ev.ID,
		"record_seq", msg.Sequence, "record_headers", headers.Names(msg.Header), "record", headers.Truncate(string(msg.Data), 64))
	return false, nil
}

// What a record in a guard's bucket is.
const (
	own     = iota // the guard's: the event was handled
	removed        // a delete or purge marker: forgotten
	foreign        // anything else: not the guard's
)

// classify says what msg, the last message on a key, is.
func classify(msg *jetstream.RawStreamMsg) int {
	switch {
	case len(msg.Header) == 0 && bytes.Equal(msg.Data, []byte(Record)):
		return own
	case len(msg.Data) == 0 && slices.Contains([]string{"DEL", "PURGE"}, msg.Header.Get("KV-Operation")):
		return removed
	}
	return foreign
}

// bucket returns the stream of w's service's key-value bucket: created or
// updated with ttl, or, for a provisioned worker, the operator's.
func bucket(ctx context.Context, js jetstream.JetStream, w *mesh.Worker, ttl time.Duration) (jetstream.Stream, error) {
	ns, name := w.Namespace(), subjects.IdempotencyBucket(w.Namespace(), w.Service())
	if w.Provisioned() {
		s, err := js.Stream(ctx, "KV_"+name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			err = jetstream.ErrBucketNotFound
		}
		if err != nil {
			return nil, fmt.Errorf("idempotency: guard: bucket %s, which the operator creates (mesh.StreamConfig.Provisioned; meshctl setup): %w%s", name, err, streams.Hint(err))
		}
		if c := s.CachedInfo().Config; c.AllowDirect || c.AllowRollup {
			return nil, fmt.Errorf("idempotency: guard: bucket %s allows direct gets or roll-ups, which the guard does not use and which would let other clients copy or erase its records (docs/security.md): apply the setup again (meshctl setup) to turn them off", name)
		}
		return s, nil
	}
	events, err := js.Stream(ctx, subjects.EventStream(ns))
	if err != nil {
		return nil, fmt.Errorf("idempotency: guard: event stream %s: %w%s", subjects.EventStream(ns), err, streams.Hint(err))
	}
	s, err := js.CreateOrUpdateStream(ctx, BucketConfig(ns, w.Service(), ttl, events.CachedInfo().Config))
	if err != nil {
		return nil, fmt.Errorf("idempotency: guard: bucket %s: %w%s", name, err, streams.Hint(err))
	}
	return s, nil
}

// BucketConfig is the configuration of the stream of service's bucket in
// namespace ns, "KV_<bucket>", which remembers handled events for ttl
// (DefaultTTL if 0) with the storage and replicas of the namespace's event
// stream, events. It is a key-value bucket's stream without direct gets
// and roll-ups (streams.KeyValue): the guard reads its records with the
// stream's message get, which answers in JSON, so no client can have a
// record copied, headers and all, onto another subject.
func BucketConfig(ns, service string, ttl time.Duration, events jetstream.StreamConfig) jetstream.StreamConfig {
	if ttl == 0 {
		ttl = DefaultTTL
	}
	return streams.KeyValue(jetstream.KeyValueConfig{
		Bucket:      subjects.IdempotencyBucket(ns, service),
		Description: "ipcmesh: events handled by the durable handlers of " + service + " in namespace " + ns,
		TTL:         ttl,
		Storage:     events.Storage,
		Replicas:    max(events.Replicas, 1),
	})
}

// key is the key under which a guard of service records a handled event:
// "<service>.<handler>.<event>", the handler in base64url (consumer names
// are at most 200 bytes) and the event as its duplicate key, so that the
// key, which travels in a subject, stays short whatever the event's id and
// source.
func key(service string, ev *mesh.Event) string {
	return service + "." + base64.RawURLEncoding.EncodeToString([]byte(ev.Handler)) + "." + subjects.DuplicateKey(ev.Source, ev.ID)
}
