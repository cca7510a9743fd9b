package setup

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/exprsn/ipcmesh/idempotency"
	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/streams"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go/jetstream"
)

// What Apply did to a resource.
const (
	Created   = mesh.ConsumerCreated
	Updated   = mesh.ConsumerUpdated
	Unchanged = mesh.ConsumerUnchanged
)

// Change is what Apply did to one resource.
type Change struct {
	// Kind is "stream", "bucket" or "consumer".
	Kind string
	// Name is the resource's name.
	Name string
	// Action is Created, Updated or Unchanged.
	Action string
}

func (c Change) String() string { return c.Kind + " " + c.Name + ": " + c.Action }

// Apply makes the server's JetStream resources of spec's namespace what
// spec says: the event and dead-letter streams, the idempotency bucket of
// each service with IdempotencyGuard and the consumer of each durable
// handler. It is idempotent and returns one Change per resource, in that
// order; on error it returns the changes made until then. js needs the
// operator's permissions (permissions.Operator).
func Apply(ctx context.Context, js jetstream.JetStream, spec Spec) ([]Change, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	ns := spec.namespace()
	changes, err := applyStreams(ctx, js, ns, spec.Streams.Config())
	if err != nil {
		return changes, err
	}
	events, err := js.Stream(ctx, subjects.EventStream(ns))
	if err != nil {
		return changes, fmt.Errorf("setup: stream %s: %w", subjects.EventStream(ns), err)
	}
	for _, svc := range spec.Services {
		if svc.IdempotencyGuard {
			c, err := applyBucket(ctx, js, idempotency.BucketConfig(ns, svc.Name, time.Duration(svc.GuardTTL), events.CachedInfo().Config))
			if err != nil {
				return changes, err
			}
			changes = append(changes, c)
		}
	}
	for _, svc := range spec.Services {
		for _, h := range svc.Durable {
			action, err := mesh.ProvisionDurable(ctx, js, ns, svc.Name, h.Event, h.Options()...)
			if err != nil {
				return changes, fmt.Errorf("setup: %s: %w", svc.Name, err)
			}
			name := h.Name
			if name == "" {
				name = subjects.ConsumerName(svc.Name, h.Event)
			}
			changes = append(changes, Change{Kind: "consumer", Name: name, Action: action})
		}
	}
	return changes, nil
}

// applyStreams creates or updates the namespace's streams and says what
// changed.
func applyStreams(ctx context.Context, js jetstream.JetStream, ns string, cfg streams.Config) ([]Change, error) {
	events, deadLetters := cfg.JetStream(ns)
	names := []string{cfg.Schedules(ns).Name, events.Name, deadLetters.Name}
	before := make([]*jetstream.StreamConfig, len(names))
	for i, name := range names {
		s, err := js.Stream(ctx, name)
		switch {
		case err == nil:
			c := s.CachedInfo().Config
			before[i] = &c
		case !errors.Is(err, jetstream.ErrStreamNotFound):
			return nil, fmt.Errorf("setup: stream %s: %w%s", name, err, streams.Hint(err))
		}
	}
	if err := streams.Ensure(ctx, js, ns, cfg); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	changes := make([]Change, 0, len(names))
	for i, name := range names {
		s, err := js.Stream(ctx, name)
		if errors.Is(err, jetstream.ErrStreamNotFound) && i == 0 {
			continue // a server too old for schedules
		}
		if err != nil {
			return nil, fmt.Errorf("setup: stream %s: %w", name, err)
		}
		changes = append(changes, Change{Kind: "stream", Name: name, Action: action(before[i], s.CachedInfo().Config)})
	}
	return changes, nil
}

// applyBucket creates or updates the stream of a key-value bucket and says
// what changed; the change names the bucket.
func applyBucket(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (Change, error) {
	bucket := strings.TrimPrefix(cfg.Name, "KV_")
	var before *jetstream.StreamConfig
	s, err := js.Stream(ctx, cfg.Name)
	switch {
	case err == nil:
		c := s.CachedInfo().Config
		before = &c
	case !errors.Is(err, jetstream.ErrStreamNotFound):
		return Change{}, fmt.Errorf("setup: bucket %s: %w%s", bucket, err, streams.Hint(err))
	}
	s, err = js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		return Change{}, fmt.Errorf("setup: bucket %s: %w%s", bucket, err, streams.Hint(err))
	}
	return Change{Kind: "bucket", Name: bucket, Action: action(before, s.CachedInfo().Config)}, nil
}

// action says what became of a resource whose configuration was before
// (nil if it did not exist) and is now after.
func action(before *jetstream.StreamConfig, after jetstream.StreamConfig) string {
	switch {
	case before == nil:
		return Created
	case reflect.DeepEqual(*before, after):
		return Unchanged
	}
	return Updated
}
