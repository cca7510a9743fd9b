package mesh

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// A worker with Config.Background connects in the background: Connect
// returns at once, and the worker becomes ready once it reaches a server
// and has opened its streams.

// Ready waits until the worker is connected and has opened the
// namespace's streams, or until ctx ends, and then returns nil or an error
// naming the servers it is trying and the last failure. A worker that
// Connect returned without Config.Background is ready.
func (w *Worker) Ready(ctx context.Context) error {
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	servers := RedactURLs(strings.Join(w.cfg.Servers, ","))
	if p := w.lastSetupErr.Load(); p != nil {
		return fmt.Errorf("mesh: %q connected, not ready: %w: %w", w.cfg.Service, *p, ctx.Err())
	}
	if err := w.nc.LastError(); err != nil {
		return fmt.Errorf("mesh: %q not connected yet to %s (last error: %v): %w", w.cfg.Service, servers, err, ctx.Err())
	}
	return fmt.Errorf("mesh: %q not connected yet to %s: %w", w.cfg.Service, servers, ctx.Err())
}

// isReady reports whether Ready would return at once. It is on every
// emit's path: an atomic load, where a receive from the closed channel
// would take the channel's lock.
func (w *Worker) isReady() bool { return w.readyNow.Load() }

// markReady makes the worker ready; background connects call it with w.mu
// held, so that a durable handler registered meanwhile is either started
// here or starts itself.
func (w *Worker) markReady() {
	w.readyNow.Store(true)
	close(w.ready)
}

// onConnected is the NATS client's connect handler of a worker connecting
// in the background: on a goroutine of its own (JetStream calls need the
// client's callback goroutine free), it opens the streams, trying again
// until it succeeds or the worker closes, then starts the durable handlers
// registered meanwhile and makes the worker ready.
func (w *Worker) onConnected(nc *nats.Conn) {
	go func() {
		for pause := DefaultReconnectWait; ; pause = min(2*pause, 10*time.Second) {
			ctx, cancel := context.WithTimeout(w.handlerCtx, w.cfg.ConnectTimeout)
			err := w.openStreams(ctx)
			cancel()
			if err == nil {
				break
			}
			w.lastSetupErr.Store(&err)
			w.report(fmt.Errorf("%w (trying again in %s)", err, pause))
			select {
			case <-w.handlerCtx.Done():
				return
			case <-time.After(pause):
			}
		}
		ctx, cancel := context.WithTimeout(w.handlerCtx, w.cfg.ConnectTimeout)
		defer cancel()
		w.mu.Lock()
		for _, d := range w.durables {
			if d.consumer == nil {
				if err := w.startDurable(ctx, d); err != nil {
					w.report(err)
				}
			}
		}
		w.markReady()
		w.mu.Unlock()
		w.log.Info("mesh: connected", "server", nc.ConnectedUrlRedacted(), "namespace", w.cfg.Namespace, "durable", w.durable.Load())
	}()
}
