package mesh

import (
	"context"
	"errors"
	"fmt"

	"github.com/exprsn/ipcmesh/streams"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StreamConfig says how a worker uses its namespace's JetStream streams:
// the event stream, which keeps every event sent in the namespace, and the
// dead-letter stream (see package streams).
//
// By default a worker uses the streams if they exist and leaves their
// creation to operators (streams.Ensure; meshctl serve calls it). With
// Manage it creates them, or updates them to Config, at Connect. With
// Disable it never uses them: emits are core NATS only and durable
// handlers are refused.
type StreamConfig struct {
	// Manage creates or updates the streams at Connect. Default: false.
	Manage bool
	// Provisioned says that the operator creates and updates the
	// namespace's JetStream resources (meshctl setup, or the setup
	// package), as least-privilege credentials require (see
	// docs/security.md): the worker then creates and updates none. A
	// durable handler uses the consumer the operator created for it and
	// fails at registration when there is none, or when it delivers other
	// events than the handler expects; other differences from the
	// handler's options are reported, and the operator's settings apply.
	// The idempotency guard uses the service's bucket as it is. It cannot
	// be set with Manage. Default: false, the worker creates its
	// consumers (and buckets) and updates them to its options.
	Provisioned bool
	// Disable makes the worker ignore the streams. Default: false.
	Disable bool
	// Config is how the streams keep events, for Manage.
	streams.Config
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
		return fmt.Errorf("mesh: connect %q: JetStream: %w", w.cfg.Service, err)
	}
	w.js = js
	stream := subjects.EventStream(w.cfg.Namespace)
	if w.cfg.Stream.Manage {
		if err := streams.Ensure(ctx, js, w.cfg.Namespace, w.cfg.Stream.Config); err != nil {
			return fmt.Errorf("mesh: connect %q: %w", w.cfg.Service, err)
		}
	}
	s, err := js.Stream(ctx, stream)
	switch {
	case err == nil:
		if err := w.lookupScheduling(ctx, s.CachedInfo().Config); err != nil {
			return fmt.Errorf("mesh: connect %q: %w", w.cfg.Service, err)
		}
		w.durable.Store(true)
	case errors.Is(err, jetstream.ErrStreamNotFound), errors.Is(err, jetstream.ErrJetStreamNotEnabled),
		errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount), errors.Is(err, nats.ErrNoResponders):
		// No stream, or a server without JetStream (nobody answers its API).
		w.log.Debug("mesh: no event stream; emits are live only", "stream", stream, "reason", err)
	default:
		return fmt.Errorf("mesh: connect %q: look up stream %s: %w%s", w.cfg.Service, stream, err, streams.Hint(err))
	}
	return nil
}

// Durable reports whether the namespace has an event stream that the worker
// uses: emits then return once the event is stored, and durable handlers
// can be registered.
func (w *Worker) Durable() bool { return w.durable.Load() }

// Provisioned reports whether the operator creates the worker's JetStream
// resources (see StreamConfig.Provisioned).
func (w *Worker) Provisioned() bool { return w.cfg.Stream.Provisioned }

// JetStream returns the worker's JetStream handle, or nil when
// StreamConfig.Disable is set.
func (w *Worker) JetStream() jetstream.JetStream { return w.js }
