package mesh

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stream defaults, used for zero StreamConfig fields.
const (
	DefaultStreamMaxAge     = 7 * 24 * time.Hour
	DefaultDuplicateWindow  = 2 * time.Minute
	DefaultDeadLetterMaxAge = 30 * 24 * time.Hour
)

// DeadLetterPrefix is the first token of dead-letter subjects:
// "_dlq.<namespace>.<service>.<event tokens>". They lie outside the
// namespace's subjects so that no handler ever receives a dead letter.
const DeadLetterPrefix = "_dlq"

// StreamConfig says how a worker uses its namespace's JetStream streams: the
// event stream, which keeps every event sent in the namespace, and the
// dead-letter stream.
//
// By default a worker uses the streams if they exist and leaves their
// creation to operators (meshctl serve creates them). With Manage it creates
// them, or updates them to this configuration, at Connect. With Disable it
// never uses them: emits are core NATS only and durable handlers are
// refused.
type StreamConfig struct {
	// Manage creates or updates the streams at Connect. Default: false.
	Manage bool
	// Disable makes the worker ignore the streams. Default: false.
	Disable bool
	// MaxAge is how long the event stream keeps events.
	// Default: DefaultStreamMaxAge (7 days).
	MaxAge time.Duration
	// MaxBytes bounds the event stream's size; the oldest events go first.
	// Default: 0, no limit.
	MaxBytes int64
	// Storage is where the streams keep events. Default: file storage.
	Storage jetstream.StorageType
	// Replicas is the number of copies in a cluster (1 to 5; 3 in
	// production). Default: 1.
	Replicas int
	// DuplicateWindow is how long the event stream remembers event ids to
	// drop a retried publish of the same event.
	// Default: DefaultDuplicateWindow (2 minutes).
	DuplicateWindow time.Duration
	// DeadLetterMaxAge is how long dead letters are kept.
	// Default: DefaultDeadLetterMaxAge (30 days).
	DeadLetterMaxAge time.Duration
}

// EventStreamName is the name of the event stream of namespace ns.
func EventStreamName(ns string) string { return "MESH_" + ns }

// DeadLetterStreamName is the name of the dead-letter stream of namespace
// ns.
func DeadLetterStreamName(ns string) string { return "MESH_" + ns + "_DLQ" }

func (c StreamConfig) withDefaults() StreamConfig {
	if c.MaxAge == 0 {
		c.MaxAge = DefaultStreamMaxAge
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = DefaultDuplicateWindow
	}
	if c.DeadLetterMaxAge == 0 {
		c.DeadLetterMaxAge = DefaultDeadLetterMaxAge
	}
	return c
}

// streamConfigs returns the JetStream configurations of namespace ns's
// event and dead-letter streams.
func (c StreamConfig) streamConfigs(ns string) (events, deadLetters jetstream.StreamConfig) {
	c = c.withDefaults()
	events = jetstream.StreamConfig{
		Name:        EventStreamName(ns),
		Description: "ipcmesh events of namespace " + ns,
		Subjects:    []string{ns + ".>"},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      c.MaxAge,
		MaxBytes:    orUnlimited(c.MaxBytes),
		Storage:     c.Storage,
		Replicas:    c.Replicas,
		Duplicates:  c.DuplicateWindow,
		Discard:     jetstream.DiscardOld,
	}
	deadLetters = jetstream.StreamConfig{
		Name:        DeadLetterStreamName(ns),
		Description: "ipcmesh dead letters of namespace " + ns,
		Subjects:    []string{DeadLetterPrefix + "." + ns + ".>"},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      c.DeadLetterMaxAge,
		MaxBytes:    -1,
		Storage:     c.Storage,
		Replicas:    c.Replicas,
		Duplicates:  c.DuplicateWindow,
		Discard:     jetstream.DiscardOld,
	}
	return events, deadLetters
}

func orUnlimited(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

// EnsureStreams creates namespace ns's event and dead-letter streams, or
// updates them to cfg. It is idempotent, and what Connect does with
// StreamConfig.Manage; operators' tools call it directly.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, ns string, cfg StreamConfig) error {
	if err := subjects.ValidateNamespace(ns); err != nil {
		return fmt.Errorf("mesh: ensure streams: %w", err)
	}
	events, deadLetters := cfg.streamConfigs(ns)
	for _, sc := range []jetstream.StreamConfig{events, deadLetters} {
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("mesh: create or update stream %s: %w%s", sc.Name, err, jetStreamHint(err))
		}
	}
	return nil
}

// jetStreamHint says what to check for common JetStream errors.
func jetStreamHint(err error) string {
	switch {
	case errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
		return ": is the server running with JetStream enabled (-js)?"
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return ": create it with meshctl serve, or set Config.Stream.Manage"
	case errors.Is(err, context.DeadlineExceeded):
		return ": the server did not answer in time; is JetStream available in a cluster (enough servers up)?"
	}
	return ""
}

// openStreams sets up the worker's JetStream use at Connect: it creates the
// streams when asked, and otherwise looks for the event stream.
func (w *Worker) openStreams(ctx context.Context) error {
	if w.cfg.Stream.Disable {
		return nil
	}
	js, err := jetstream.New(w.nc,
		jetstream.WithPublishAsyncMaxPending(w.cfg.MaxPendingEmits),
		jetstream.WithPublishAsyncTimeout(w.cfg.AsyncEmitTimeout),
		jetstream.WithPublishAsyncErrHandler(w.onAsyncEmitError))
	if err != nil {
		return fmt.Errorf("mesh: JetStream: %w", err)
	}
	w.js = js
	if w.cfg.Stream.Manage {
		if err := EnsureStreams(ctx, js, w.cfg.Namespace, w.cfg.Stream); err != nil {
			return err
		}
		w.durable = true
		return nil
	}
	_, err = js.Stream(ctx, EventStreamName(w.cfg.Namespace))
	switch {
	case err == nil:
		w.durable = true
	case errors.Is(err, jetstream.ErrStreamNotFound), errors.Is(err, jetstream.ErrJetStreamNotEnabled),
		errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount), errors.Is(err, nats.ErrNoResponders):
		// No stream, or a server without JetStream (nobody answers its API).
		w.log.Debug("mesh: no event stream; emits are live only", "stream", EventStreamName(w.cfg.Namespace), "reason", err)
	default:
		return fmt.Errorf("mesh: look up stream %s: %w%s", EventStreamName(w.cfg.Namespace), err, jetStreamHint(err))
	}
	return nil
}

// Durable reports whether the namespace has an event stream that the worker
// uses: emits then return once the event is stored, and durable handlers
// can be registered.
func (w *Worker) Durable() bool { return w.durable }

// JetStream returns the worker's JetStream handle, or nil when
// StreamConfig.Disable is set.
func (w *Worker) JetStream() jetstream.JetStream { return w.js }
