package conn

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Ready waits until the worker is ready, or until ctx ends, and then
// returns nil or an error naming the servers it is trying and the last
// failure.
func (c *Conn) Ready(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	case <-ctx.Done():
	}
	if p := c.setupErr.Load(); p != nil {
		return fmt.Errorf("mesh: %q connected, not ready: %w: %w", c.cfg.Service, *p, ctx.Err())
	}
	servers := RedactURLs(strings.Join(c.cfg.Servers, ","))
	if err := c.NC.LastError(); err != nil {
		return fmt.Errorf("mesh: %q not connected yet to %s (last error: %v): %w", c.cfg.Service, servers, err, ctx.Err())
	}
	return fmt.Errorf("mesh: %q not connected yet to %s: %w", c.cfg.Service, servers, ctx.Err())
}

// IsReady reports whether Ready would return at once. It is on every
// emit's path: an atomic load, where a receive from the closed channel
// would take the channel's lock.
func (c *Conn) IsReady() bool { return c.readyNow.Load() }

// MarkReady makes the worker ready.
func (c *Conn) MarkReady() {
	c.readyNow.Store(true)
	close(c.ready)
}

// onConnected is the client's connect handler of a worker connecting in
// the background: on a goroutine of its own (JetStream calls need the
// client's callback goroutine free), it opens the streams, trying again
// until it succeeds or Halt is done, then calls Opened.
func (c *Conn) onConnected(*nats.Conn) {
	go func() {
		for pause := c.cfg.ReconnectWait; ; pause = min(2*pause, 10*time.Second) {
			ctx, cancel := context.WithTimeout(c.cfg.Halt, c.cfg.Timeout)
			err := c.cfg.Open(ctx, c.NC)
			cancel()
			if err == nil {
				break
			}
			c.setupErr.Store(&err)
			c.cfg.Report(fmt.Errorf("%w (trying again in %s)", err, pause))
			select {
			case <-c.cfg.Halt.Done():
				return
			case <-time.After(pause):
			}
		}
		ctx, cancel := context.WithTimeout(c.cfg.Halt, c.cfg.Timeout)
		defer cancel()
		c.cfg.Opened(ctx, slog.LevelInfo)
	}()
}
