package durable

import (
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go/jetstream"
)

// Options are a durable handler's options as registered; zero fields take
// their defaults (see Defaults).
type Options struct {
	Start      *Position // nil: the events stored from now on
	Expiry     time.Duration
	Name       string
	MaxDeliver int
	Backoff    []time.Duration
	AckWait    time.Duration
	ByKey      bool
	Prefetch   int
	BatchSize  int
	BatchWait  time.Duration
}

// Defaults are the values of the options not given. Prefetch is at least
// twice the concurrency.
type Defaults struct {
	MaxDeliver          int
	Backoff             []time.Duration
	AckWait             time.Duration
	Prefetch, BatchSize int
	BatchWait           time.Duration
}

// NewConfig checks the options o and concurrency (0 for 1) of service's
// durable handler for pattern in namespace ns, with their defaults, and
// returns its configuration; batch says it is a batch handler.
func NewConfig(ns, service, pattern string, o Options, concurrency int, batch bool, def Defaults) (Config, error) {
	o, concurrency = o.withDefaults(concurrency, batch, def)
	if err := o.validate(concurrency); err != nil {
		return Config{}, err
	}
	targeted, err := subjects.Filter(ns, service, pattern)
	if err != nil {
		return Config{}, err
	}
	broadcast, _ := subjects.Filter(ns, subjects.Broadcast, pattern)
	name := o.Name
	if name == "" {
		name = subjects.ConsumerName(service, pattern)
	}
	return Config{
		Stream:      subjects.EventStream(ns),
		Name:        name,
		Description: "ipcmesh: " + service + " handler for " + pattern,
		Filters:     []string{targeted, broadcast},
		Namespace:   ns, Service: service,
		MaxDeliver: o.MaxDeliver, Backoff: o.Backoff, AckWait: o.AckWait,
		Concurrency: concurrency, ByKey: o.ByKey, Prefetch: o.Prefetch,
		Batch: o.BatchSize, BatchWait: o.BatchWait,
		Start: *o.Start, InactiveExpiry: o.Expiry, Pinned: o.ByKey,
	}, nil
}

func (o Options) withDefaults(concurrency int, batch bool, def Defaults) (Options, int) {
	if o.MaxDeliver == 0 {
		o.MaxDeliver = def.MaxDeliver
	}
	if len(o.Backoff) == 0 {
		o.Backoff = def.Backoff
	}
	if o.AckWait == 0 {
		o.AckWait = def.AckWait
	}
	if o.Start == nil {
		o.Start = &Position{Policy: jetstream.DeliverNewPolicy}
	}
	if concurrency == 0 {
		concurrency = 1
	}
	if o.Prefetch == 0 {
		o.Prefetch = max(def.Prefetch, 2*concurrency)
	}
	switch {
	case !batch:
		o.BatchSize = 1
	case o.BatchSize == 0 && o.BatchWait == 0:
		o.BatchSize, o.BatchWait = def.BatchSize, def.BatchWait
	}
	return o, concurrency
}

func (o Options) validate(concurrency int) error {
	switch {
	case o.MaxDeliver < 1:
		return fmt.Errorf("option MaxDeliver %d: want at least 1", o.MaxDeliver)
	case o.AckWait < time.Second:
		return fmt.Errorf("option AckWait %s: want at least 1s", o.AckWait)
	case concurrency < 1:
		return fmt.Errorf("option Concurrency %d: want at least 1", concurrency)
	case o.Prefetch < 1:
		return fmt.Errorf("option Prefetch %d: want at least 1", o.Prefetch)
	case o.BatchSize < 1, o.BatchWait < 0:
		return fmt.Errorf("option Batch(%d, %s): want a positive size and wait", o.BatchSize, o.BatchWait)
	case o.Expiry < -1:
		return fmt.Errorf("option InactiveExpiry %s: want a positive duration, or -1 for never", o.Expiry)
	}
	for _, b := range o.Backoff {
		if b < 0 {
			return fmt.Errorf("option Backoff %s: delays cannot be negative", b)
		}
	}
	if err := subjects.ValidateConsumerName(o.Name); o.Name != "" && err != nil {
		return fmt.Errorf("option DurableName: %w", err)
	}
	return nil
}
