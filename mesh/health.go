package mesh

import (
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
)

// Connection states that Healthy reports.
var (
	// ErrDisconnected is returned by Healthy while the worker has lost its
	// server and is reconnecting; events emitted meanwhile are buffered by
	// the NATS client.
	ErrDisconnected = errors.New("disconnected from the server, reconnecting")
	// ErrConnectionLost matches the error of a worker whose connection the
	// NATS client closed for good (the server refused the connection, a
	// protocol error): the worker handles nothing more and every call fails
	// with it. It is reported once through Config.OnError. Close the worker
	// and connect a new one.
	ErrConnectionLost = errors.New("connection closed for good")
)

// Healthy returns nil while the worker is connected and serving; an error
// matching ErrDisconnected while it reconnects; ErrConnectionLost, wrapping
// the NATS client's last error, once the connection is closed for good; and
// ErrClosed after Close. Readiness probes should serve it: a worker that is
// not healthy handles no events.
func (w *Worker) Healthy() error {
	if w.state.Load() == stateClosed {
		return fmt.Errorf("mesh: %q: %w", w.cfg.Service, ErrClosed)
	}
	if err := w.lostErr(); err != nil {
		return err
	}
	if !w.nc.IsConnected() {
		return fmt.Errorf("mesh: %q: %w", w.cfg.Service, ErrDisconnected)
	}
	return nil
}

// lostErr returns the error of a connection closed for good, or nil.
func (w *Worker) lostErr() error {
	if p := w.lost.Load(); p != nil {
		return *p
	}
	return nil
}

// onConnClosed is the NATS client's closed handler. A connection closed
// while the worker is open was closed by the client for good: that is
// recorded for Healthy, and reported.
func (w *Worker) onConnClosed(nc *nats.Conn) {
	defer close(w.connClosed)
	if w.state.Load() != stateOpen {
		return
	}
	err := fmt.Errorf("mesh: %q: %w: %v; the worker handles no more events: close it and connect again", w.cfg.Service, ErrConnectionLost, nc.LastError())
	w.lost.Store(&err)
	w.report(err)
}
