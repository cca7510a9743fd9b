package durable

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/exprsn/ipcmesh/streams"
	"github.com/nats-io/nats.go/jetstream"
)

// What Provision did to a consumer.
const (
	Created   = "created"
	Updated   = "updated"
	Unchanged = "unchanged"
)

// Provision creates cfg's consumer, or updates it when its configuration
// differs from cfg's, and says which it did. The operator calls it for the
// workers that may not (Config.Bind).
func Provision(ctx context.Context, js jetstream.JetStream, cfg Config) (string, error) {
	cc, existing, err := consumerConfig(ctx, js, cfg)
	if err != nil {
		return "", err
	}
	if existing != nil && len(differences(existing.CachedInfo().Config, cc)) == 0 {
		return Unchanged, nil
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, cfg.Stream, cc); err != nil {
		return "", fmt.Errorf("create or update consumer %s: %w%s", cfg.Name, err, streams.Hint(err))
	}
	if existing == nil {
		return Created, nil
	}
	return Updated, nil
}

// open returns the consumer of cfg. A worker that may manage consumers
// creates it, or updates it when its configuration differs; one that
// binds (cfg.Bind) uses the operator's, fails when there is none or when
// it does not deliver what the handler expects (other filters, no pinned
// group for an ordered handler), and reports other differences, which
// leave the operator's configuration in force.
func open(ctx context.Context, js jetstream.JetStream, cfg Config, report func(error)) (jetstream.Consumer, error) {
	cc, existing, err := consumerConfig(ctx, js, cfg)
	if err != nil {
		return nil, err
	}
	var diffs []string
	if existing != nil {
		diffs = differences(existing.CachedInfo().Config, cc)
	}
	switch {
	case existing != nil && len(diffs) == 0:
		return existing, nil
	case !cfg.Bind:
		cons, err := js.CreateOrUpdateConsumer(ctx, cfg.Stream, cc)
		if err != nil {
			return nil, fmt.Errorf("create or update consumer %s: %w%s", cfg.Name, err, streams.Hint(err))
		}
		return cons, nil
	case existing == nil:
		return nil, fmt.Errorf("consumer %s does not exist on stream %s, and this worker's consumers are the operator's to create (Config.Stream.Provisioned): apply the namespace's setup (meshctl setup, or mesh.ProvisionDurable) with this handler", cfg.Name, cfg.Stream)
	}
	old := existing.CachedInfo().Config
	if !slices.Equal(filters(old), cc.FilterSubjects) || (cfg.Pinned && !slices.Contains(old.PriorityGroups, pinnedGroup)) {
		return nil, fmt.Errorf("consumer %s, created by the operator, does not deliver what the handler expects (%s): apply the namespace's setup with this handler's options", cfg.Name, strings.Join(diffs, ", "))
	}
	report(fmt.Errorf("mesh: durable handler %s: the operator's consumer differs from the handler's options (%s); the operator's configuration applies until the namespace's setup is applied with these options", cfg.Name, strings.Join(diffs, ", ")))
	return existing, nil
}

// consumerConfig is the JetStream configuration of cfg's consumer, and the
// consumer if it exists. An existing consumer keeps where it started, so
// that it resumes where it stopped whatever cfg.Start says; the inactivity
// expiry defaults to the event stream's max age, so that a worker offline
// for less catches up.
func consumerConfig(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.ConsumerConfig, jetstream.Consumer, error) {
	cc := jetstream.ConsumerConfig{
		Durable:        cfg.Name,
		Description:    cfg.Description,
		FilterSubjects: cfg.Filters,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        cfg.AckWait,
		// Past its tries, receive dead-letters an event, even when its
		// last try never reported (a crash), and deadLetter gives up after
		// deadLetterRetries more when no dead letter can be stored. The
		// server's limit, one more, ends only an event the handler never
		// sees (the client takes it for a status message): see
		// watchMaxDeliveries.
		MaxDeliver: cfg.MaxDeliver + deadLetterRetries + 1,
		// The scheduler holds at most this many events.
		MaxAckPending:     cfg.Prefetch,
		DeliverPolicy:     cfg.Start.Policy,
		OptStartSeq:       cfg.Start.Sequence,
		InactiveThreshold: cfg.InactiveExpiry,
	}
	if !cfg.Start.Time.IsZero() {
		cc.OptStartTime = &cfg.Start.Time
	}
	if cfg.Pinned {
		cc.PriorityPolicy, cc.PriorityGroups, cc.PinnedTTL = jetstream.PriorityPolicyPinned, []string{pinnedGroup}, pinnedTTL
	}
	existing, err := js.Consumer(ctx, cfg.Stream, cfg.Name)
	switch {
	case err == nil:
		old := existing.CachedInfo().Config
		cc.DeliverPolicy, cc.OptStartSeq, cc.OptStartTime = old.DeliverPolicy, old.OptStartSeq, old.OptStartTime
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		existing = nil
	default:
		return cc, nil, fmt.Errorf("look up consumer %s: %w%s", cfg.Name, err, streams.Hint(err))
	}
	switch {
	case cfg.InactiveExpiry < 0:
		cc.InactiveThreshold = 0
	case cfg.InactiveExpiry == 0:
		stream, err := js.Stream(ctx, cfg.Stream)
		if err != nil {
			return cc, nil, fmt.Errorf("look up stream %s: %w%s", cfg.Stream, err, streams.Hint(err))
		}
		cc.InactiveThreshold = stream.CachedInfo().Config.MaxAge
	}
	return cc, existing, nil
}

// differences lists the settings in which a consumer's configuration old
// differs from the one the handler asks for, want.
func differences(old, want jetstream.ConsumerConfig) []string {
	var d []string
	add := func(name string, differ bool, was, is any) {
		if differ {
			d = append(d, fmt.Sprintf("%s %v, not %v", name, was, is))
		}
	}
	add("filters", !slices.Equal(filters(old), want.FilterSubjects), filters(old), want.FilterSubjects)
	add("description", old.Description != want.Description, old.Description, want.Description)
	add("ack wait", old.AckWait != want.AckWait, old.AckWait, want.AckWait)
	add("max deliver", old.MaxDeliver != want.MaxDeliver, old.MaxDeliver, want.MaxDeliver)
	add("max ack pending", old.MaxAckPending != want.MaxAckPending, old.MaxAckPending, want.MaxAckPending)
	add("inactive threshold", old.InactiveThreshold != want.InactiveThreshold, old.InactiveThreshold, want.InactiveThreshold)
	add("priority groups", !slices.Equal(old.PriorityGroups, want.PriorityGroups), old.PriorityGroups, want.PriorityGroups)
	add("pinned ttl", len(want.PriorityGroups) > 0 && old.PinnedTTL != want.PinnedTTL, old.PinnedTTL, want.PinnedTTL)
	return d
}

// filters returns a consumer's filters, whether it has one or several.
func filters(c jetstream.ConsumerConfig) []string {
	if c.FilterSubject != "" {
		return []string{c.FilterSubject}
	}
	return c.FilterSubjects
}
