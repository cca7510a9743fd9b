package conn

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// Closer is what Close stops before the connection.
type Closer struct {
	// Stop stops, in order, what feeds the handlers, each after the
	// events it holds are dispatched, until ctx ends.
	Stop []func(ctx context.Context) error
	// Running counts the handlers' goroutines.
	Running *sync.WaitGroup
	// Await waits for the asynchronous emits until ctx ends, and then
	// says how many are pending; Pending says it at once.
	Await   func(ctx context.Context) (int, error)
	Pending func() int
	// Stopped is called once the worker is Closed, with the error of the
	// drain (see drain).
	Stopped func(err error)
}

// Close closes the worker once, however many calls, and waits for it or
// for ctx: it drains (see drain), then flushes and closes the connection.
// When Drain fails, or ctx ends before the flush, the connection is closed
// at once. Without the server, it does not wait for it, and says what the
// client still held (see unsent).
func (c *Conn) Close(ctx context.Context, cl Closer) error {
	c.closeOnce.Do(func() {
		go func() {
			c.closeErr = c.close(ctx, cl)
			close(c.closed)
		}()
	})
	select {
	case <-c.closed:
		return c.closeErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Conn) close(ctx context.Context, cl Closer) error {
	c.state.Store(Closing)
	err := c.drain(ctx, cl)
	c.state.Store(Closed)
	cl.Stopped(err)
	nc := c.NC
	switch {
	case err != nil:
		nc.Close()
		return fmt.Errorf("mesh: close %q: %w", c.cfg.Service, err)
	case nc.IsClosed():
		return nil // closed for good before, and reported then
	case !nc.IsConnected():
		unsent := c.unsent(cl.Pending())
		nc.Close()
		if unsent != "" {
			return fmt.Errorf("mesh: close %q: the server is unreachable: %s", c.cfg.Service, unsent)
		}
		return nil
	}
	// Ours again, should an option have replaced it.
	nc.SetClosedHandler(c.onClosed)
	if err := nc.Drain(); err != nil {
		nc.Close()
		return nil
	}
	select {
	case <-c.connClosed:
		return nil
	case <-ctx.Done():
		nc.Close()
		return fmt.Errorf("mesh: close %q: flushing emitted events: %w", c.cfg.Service, ctx.Err())
	}
}

// drain stops what feeds the handlers, lets their queued events run and
// waits for running handlers, then for the acknowledgements of
// asynchronous emits. Without the server, what Stop stops stops at once
// and acknowledgements are not waited for.
func (c *Conn) drain(ctx context.Context, cl Closer) error {
	for _, stop := range cl.Stop {
		if err := stop(ctx); err != nil {
			return err
		}
	}
	done := make(chan struct{})
	go func() {
		cl.Running.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("waiting for running handlers: %w", ctx.Err())
	}
	if !c.NC.IsConnected() {
		return nil
	}
	if n, err := cl.Await(ctx); err != nil {
		return fmt.Errorf("waiting for %d asynchronous emits to be stored: %w", n, err)
	}
	return nil
}

// unsent says what the client still holds and a close without the server
// loses: asynchronous emits not acknowledged and bytes not written; ""
// when nothing.
func (c *Conn) unsent(pending int) string {
	var parts []string
	if pending > 0 {
		parts = append(parts, fmt.Sprintf("%d asynchronous emits were not acknowledged (they may or may not be stored)", pending))
	}
	if n, err := c.NC.Buffered(); err == nil && n > 0 {
		parts = append(parts, fmt.Sprintf("%d bytes of emitted events were never sent", n))
	}
	return strings.Join(parts, "; ")
}
