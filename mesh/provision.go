package mesh

import (
	"context"
	"errors"

	"github.com/exprsn/ipcmesh/mesh/internal/durable"
	"github.com/nats-io/nats.go/jetstream"
)

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
	cfg, err := durableConfig(ns, service, pattern, o.withDurableDefaults(false))
	if err != nil {
		return "", err
	}
	return durable.Provision(ctx, js, cfg)
}
