package mesh

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
)

// A worker with Config.Background connects in the background: Connect
// returns at once, and the worker becomes ready once it reaches a server
// and has opened its streams.

// Ready waits until the worker is connected and ready, or until ctx ends,
// and then returns nil, why it could not open the namespace's streams, or
// an error naming the servers it is still trying. A worker that Connect
// returned without Config.Background is ready.
func (w *Worker) Ready(ctx context.Context) error {
	select {
	case <-w.ready:
		return w.readyErr
	case <-ctx.Done():
		return fmt.Errorf("mesh: %q not connected yet to %s (last error: %v): %w",
			w.cfg.Service, RedactURLs(strings.Join(w.cfg.Servers, ",")), w.nc.LastError(), ctx.Err())
	}
}

// isReady reports whether Ready would return at once.
func (w *Worker) isReady() bool {
	select {
	case <-w.ready:
		return true
	default:
		return false
	}
}

// onConnected is the NATS client's connect handler of a worker connecting
// in the background: it opens the streams and starts the durable handlers
// registered meanwhile, on a goroutine of its own (the handler runs on the
// client's callback goroutine, which the JetStream calls need).
func (w *Worker) onConnected(nc *nats.Conn) {
	go func() {
		ctx, cancel := context.WithTimeout(w.handlerCtx, w.cfg.ConnectTimeout)
		defer cancel()
		err := w.openStreams(ctx)
		w.mu.Lock()
		for _, d := range w.durables {
			if err == nil && d.consumer == nil {
				if derr := w.startDurable(ctx, d); derr != nil {
					w.report(derr)
				}
			}
		}
		w.readyErr = err
		close(w.ready)
		w.mu.Unlock()
		if err != nil {
			w.report(err)
			return
		}
		w.log.Info("mesh: connected", "server", nc.ConnectedUrlRedacted(), "namespace", w.cfg.Namespace, "durable", w.durable)
	}()
}
