package streams

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults used for zero Config fields.
const (
	DefaultMaxAge           = 7 * 24 * time.Hour
	DefaultDuplicateWindow  = 2 * time.Minute
	DefaultDeadLetterMaxAge = 30 * 24 * time.Hour
)

// Config says how a namespace's streams keep events. The zero value of
// every field means its default.
type Config struct {
	// MaxAge is how long the event stream keeps events.
	// Default: DefaultMaxAge (7 days).
	MaxAge time.Duration
	// MaxBytes bounds the event stream's size; the oldest events go first.
	// Default: 0, no limit.
	MaxBytes int64
	// Storage is where the streams keep events. Default: file storage.
	Storage jetstream.StorageType
	// Replicas is the number of copies in a cluster (1 to 5; 3 in
	// production). Default: 1.
	Replicas int
	// DuplicateWindow is how long the event stream remembers the duplicate
	// keys of events (subjects.DuplicateKey) to drop a retried publish.
	// Default: DefaultDuplicateWindow (2 minutes).
	DuplicateWindow time.Duration
	// DeadLetterMaxAge is how long dead letters are kept.
	// Default: DefaultDeadLetterMaxAge (30 days).
	DeadLetterMaxAge time.Duration
}

func (c Config) withDefaults() Config {
	if c.MaxAge == 0 {
		c.MaxAge = DefaultMaxAge
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

// JetStream returns the JetStream configurations of namespace ns's event
// and dead-letter streams.
func (c Config) JetStream(ns string) (events, deadLetters jetstream.StreamConfig) {
	c = c.withDefaults()
	events = jetstream.StreamConfig{
		Name:        subjects.EventStream(ns),
		Description: "ipcmesh events of namespace " + ns,
		Subjects:    []string{ns + ".>"},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      c.MaxAge,
		MaxBytes:    orUnlimited(c.MaxBytes),
		Storage:     c.Storage,
		Replicas:    c.Replicas,
		Duplicates:  c.DuplicateWindow,
		Discard:     jetstream.DiscardOld,
		AllowMsgTTL: true,
		// Fast batches (mesh's EmitBatch) store many events for one
		// acknowledgement every few hundred.
		AllowBatchPublish: true,
		Sources: []*jetstream.StreamSource{{
			Name: subjects.ScheduleStream(ns),
			SubjectTransforms: []jetstream.SubjectTransformConfig{{
				Source: subjects.FireFilter(ns), Destination: ns + ".>",
			}},
		}},
	}
	deadLetters = jetstream.StreamConfig{
		Name:        subjects.DeadLetterStream(ns),
		Description: "ipcmesh dead letters of namespace " + ns,
		Subjects:    []string{subjects.DeadLetterFilter(ns, "")},
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

// Schedules returns the JetStream configuration of namespace ns's schedule
// stream, "MESH_<ns>_SCHED" on "_sched.<ns>.>": it keeps the schedule
// messages of scheduled events until they fire (no MaxAge: a schedule may
// be months ahead), and their firings, each with a TTL (Nats-TTL), which
// it republishes to live subscribers on the events' subjects and which
// the event stream sources (see docs/delivery.md#scheduled-events).
func (c Config) Schedules(ns string) jetstream.StreamConfig {
	c = c.withDefaults()
	return jetstream.StreamConfig{
		Name:              subjects.ScheduleStream(ns),
		Description:       "ipcmesh scheduled events of namespace " + ns,
		Subjects:          []string{subjects.SchedulePrefix + "." + ns + ".>"},
		Retention:         jetstream.LimitsPolicy,
		MaxBytes:          -1,
		Storage:           c.Storage,
		Replicas:          c.Replicas,
		Duplicates:        c.DuplicateWindow,
		Discard:           jetstream.DiscardOld,
		AllowMsgSchedules: true,
		AllowMsgTTL:       true,
		AllowRollup:       true,
		RePublish:         &jetstream.RePublish{Source: subjects.FireFilter(ns), Destination: ns + ".>"},
	}
}

// Ensure creates namespace ns's streams, or updates them to cfg: the event
// stream, the dead-letter stream and, on nats-server VersionSchedules or
// later, the schedule stream. It is idempotent.
//
// What the connected server is too old for is left out rather than
// refused: per-event TTLs before VersionMsgTTL, the schedule stream (and
// the event stream's source of it) before VersionSchedules, fast batch
// publishing before VersionBatchPublish. Emits that need the first two
// then fail, naming the version; batch emits publish one event at a time.
func Ensure(ctx context.Context, js jetstream.JetStream, ns string, cfg Config) error {
	if err := subjects.ValidateNamespace(ns); err != nil {
		return fmt.Errorf("streams: ensure: %w", err)
	}
	version := js.Conn().ConnectedServerVersion()
	events, deadLetters := cfg.JetStream(ns)
	all := []jetstream.StreamConfig{events, deadLetters}
	if AtLeast(version, VersionSchedules) {
		// The schedule stream first, so that the event stream's source
		// finds it.
		all = []jetstream.StreamConfig{cfg.Schedules(ns), events, deadLetters}
	} else {
		all[0].Sources = nil
	}
	ev := &all[len(all)-2]
	if !AtLeast(version, VersionMsgTTL) {
		ev.AllowMsgTTL = false
	}
	if !AtLeast(version, VersionBatchPublish) {
		ev.AllowBatchPublish = false
	}
	for _, sc := range all {
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("streams: create or update stream %s: %w%s", sc.Name, err, Hint(err))
		}
	}
	return nil
}

// Hint says what to check for common JetStream errors, as ": <advice>", or
// "" for others; error messages append it.
func Hint(err error) string {
	switch {
	case errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
		return ": is the server running with JetStream enabled (-js)?"
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return ": the namespace's streams are missing: create them with streams.Ensure, or set mesh.Config.Stream.Manage"
	case errors.Is(err, context.DeadlineExceeded):
		return ": the server did not answer in time; is JetStream available in a cluster (enough servers up)?"
	}
	return ""
}
