package mesh

import (
	"context"
	"errors"
	"time"

	"github.com/exprsn/ipcmesh/internal/errtext"
	"github.com/exprsn/ipcmesh/mesh/internal/durable"
	"github.com/nats-io/nats.go/jetstream"
)

// Durable handler defaults, used for options not given.
const (
	// DefaultMaxDeliver is how many times a durable handler is called for
	// one event before it is dead-lettered.
	DefaultMaxDeliver = 5
	// DefaultAckWait is how long the server waits for a durable handler's
	// outcome before redelivering; running handlers extend it
	// automatically.
	DefaultAckWait = 30 * time.Second
	// DefaultPrefetch is how many events a durable handler's instance holds
	// ready in memory.
	DefaultPrefetch = 500
	// DefaultBatchSize and DefaultBatchWait are how a batch handler
	// collects events.
	DefaultBatchSize = 100
	DefaultBatchWait = time.Second
)

// DefaultBackoff is the delay before each retry of a failed durable event:
// the first retry after 1s, the second after 5s, then 30s, then 2m for every
// further retry.
var DefaultBackoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute}

// durableOptions are a durable handler's options (see durable.NewConfig).
type durableOptions = durable.Options

// ConsumerOption changes a durable handler's consumer: it is a
// DurableOption and a BatchOption.
type ConsumerOption func(*durableOptions)

func (o ConsumerOption) applyDurable(h *handlerOptions) { o(&h.durable) }
func (o ConsumerOption) applyBatch(h *handlerOptions)   { o(&h.durable) }

// DurableName names the handler's durable consumer. Default:
// "<service>_<pattern>_<hash>", with ':' as '_', '*' as "STAR" and '>' as
// "ALL", cut to 200 bytes. Instances of a service share a consumer by
// name; renaming a handler starts a new consumer, at its start position.
func DurableName(name string) ConsumerOption {
	return func(o *durableOptions) { o.Name = name }
}

// MaxDeliver is how many times an event is handed to the durable handler
// before it goes to the dead-letter stream. Default: DefaultMaxDeliver.
func MaxDeliver(n int) ConsumerOption { return func(o *durableOptions) { o.MaxDeliver = n } }

// Backoff sets the delays before the retries of a failed event, done by
// the server (the event is negatively acknowledged with that delay; other
// events go on meanwhile). The last delay repeats. Default: DefaultBackoff.
func Backoff(delays ...time.Duration) ConsumerOption {
	return func(o *durableOptions) { o.Backoff = delays }
}

// AckWait is how long the server waits for the outcome of an event before
// it redelivers it. A running handler keeps its event by telling the
// server it is in progress every AckWait/3. Default: DefaultAckWait.
func AckWait(d time.Duration) ConsumerOption { return func(o *durableOptions) { o.AckWait = d } }

// Prefetch is how many events an instance pulls ahead of its handler. They
// are reported in progress while they wait, so a slow handler does not see
// them redelivered; other instances cannot take them meanwhile, so lower it
// when events are slow and instances many. Default: DefaultPrefetch, or
// twice Concurrency if more.
func Prefetch(n int) ConsumerOption { return func(o *durableOptions) { o.Prefetch = n } }

// StartAtNew makes a new durable handler take only the events stored
// after its consumer is created. It is the default, as Kafka's
// auto.offset.reset=latest is: a newly deployed handler should not act on
// a week of history (replay is for catching up on purpose). A handler
// whose consumer exists resumes where it stopped, whatever its start
// option says.
func StartAtNew() ConsumerOption {
	return func(o *durableOptions) { o.Start = &durable.Position{Policy: jetstream.DeliverNewPolicy} }
}

// StartAtFirst makes a new durable handler take every event the stream
// holds, from the oldest (see StartAtNew).
func StartAtFirst() ConsumerOption {
	return func(o *durableOptions) { o.Start = &durable.Position{Policy: jetstream.DeliverAllPolicy} }
}

// StartAtTime makes a new durable handler take the events stored since t
// (see StartAtNew).
func StartAtTime(t time.Time) ConsumerOption {
	return func(o *durableOptions) {
		o.Start = &durable.Position{Policy: jetstream.DeliverByStartTimePolicy, Time: t}
	}
}

// StartAtSequence makes a new durable handler take the events from stream
// sequence seq on (see StartAtNew).
func StartAtSequence(seq uint64) ConsumerOption {
	return func(o *durableOptions) {
		o.Start = &durable.Position{Policy: jetstream.DeliverByStartSequencePolicy, Sequence: seq}
	}
}

// InactiveExpiry makes the server delete the handler's consumer once no
// instance has used it for d, so that the consumers of removed handlers
// go; -1 keeps it forever. Default: the event stream's max age, so that a
// worker offline for less than that still catches up.
func InactiveExpiry(d time.Duration) ConsumerOption {
	return func(o *durableOptions) { o.Expiry = d }
}

type onlyDurable func(*durableOptions)

func (o onlyDurable) applyDurable(h *handlerOptions) { o(&h.durable) }

// OrderedByKey keeps the order of events that share a partition key (see
// WithPartitionKey), across all instances of the service, while running up
// to Concurrency events with different keys at once. One instance at a
// time takes the handler's events (the consumer's pinned priority group);
// when it goes, the server pins another after about 10 s, and the events
// the gone instance held are redelivered after AckWait. Order does not
// hold in two cases: such a redelivered event, and a failed event retried
// after its Backoff, can each be handled after a later event of its key.
// Extra instances add failover, not throughput. Events without a key are
// spread by id.
func OrderedByKey() DurableOption { return onlyDurable(func(o *durableOptions) { o.ByKey = true }) }

type onlyBatch func(*durableOptions)

func (o onlyBatch) applyBatch(h *handlerOptions) { o(&h.durable) }

// Batch sets how a batch handler collects events: up to size events, or
// what arrived within wait of the batch's first event. Default:
// DefaultBatchSize and DefaultBatchWait.
func Batch(size int, wait time.Duration) BatchOption {
	return onlyBatch(func(o *durableOptions) { o.BatchSize, o.BatchWait = size, wait })
}

// Permanent marks err as permanent: a durable handler returning it sends
// its event to the dead-letter stream at once instead of retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return "permanent: " + errtext.Of(e.err, maxErrorText) }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// What ProvisionDurable did to a consumer.
const (
	ConsumerCreated   = durable.Created
	ConsumerUpdated   = durable.Updated
	ConsumerUnchanged = durable.Unchanged
)

// ProvisionDurable creates the consumer that service's durable handler for
// pattern uses with opts, in namespace ns, or updates it when its
// configuration differs, and says which it did (ConsumerCreated,
// ConsumerUpdated or ConsumerUnchanged). It is how the operator prepares
// the consumers of workers whose credentials may not
// (StreamConfig.Provisioned): given the options the handler registers with
// (OnDurable's, or OnDurableBatch's with Batch), it makes the consumer the
// handler would have made. It is idempotent, and an existing consumer
// keeps its position. The setup package and meshctl setup call it for a
// whole namespace.
func ProvisionDurable(ctx context.Context, js jetstream.JetStream, ns, service, pattern string, opts ...DurableOption) (string, error) {
	if js == nil {
		return "", errors.New("mesh: provision durable: nil JetStream")
	}
	var o handlerOptions
	for _, opt := range opts {
		opt.applyDurable(&o)
	}
	cfg, err := durableConfig(ns, service, pattern, o, false)
	if err != nil {
		return "", err
	}
	return durable.Provision(ctx, js, cfg)
}
