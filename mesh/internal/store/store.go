// Package store is the namespace's event stream as a worker writes to it:
// found, or created, at Connect; each event stored with retries until the
// stream acknowledges it; asynchronous stores; hints for JetStream's
// errors; and, in schedule.go, what the server and the streams allow
// (schedules, per-event TTLs) and the pending schedules.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/exprsn/ipcmesh/streams"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config is how a worker uses its namespace's streams.
type Config struct {
	Service, Namespace string
	// Disable ignores the streams; Manage creates or updates them, to
	// Streams, at Open.
	Disable, Manage bool
	Streams         streams.Config
	// MaxPending bounds the asynchronous stores waiting for their
	// acknowledgement, AsyncTimeout the wait for one.
	MaxPending   int
	AsyncTimeout time.Duration
	// Timeout bounds a call that waits for the server when its ctx has no
	// deadline.
	Timeout time.Duration
	Log     *slog.Logger
	// AsyncFailed is told of every asynchronous store that failed.
	AsyncFailed func(err error)
	// Unconfirmed is the error a store that was not acknowledged wraps,
	// Unsupported that of an emit that asks for what cannot be done.
	Unconfirmed, Unsupported error
}

// Stream is a worker's use of its namespace's event stream. Its Config is
// set once, before use.
type Stream struct {
	Config
	// JS is nil until Open, and without the streams.
	JS jetstream.JetStream
	// durable tells whether the event stream is there to use; caps is
	// what scheduled and expiring emits can use, found at Open.
	durable atomic.Bool
	caps    atomic.Pointer[caps]
}

// Open sets up the worker's JetStream use at Connect, unless Disable is
// set: it creates or updates the streams with Manage, then looks for the
// event stream. Without it (or without JetStream on the server) emits are
// live only, and Open succeeds.
func (s *Stream) Open(ctx context.Context, nc *nats.Conn) error {
	if s.Disable {
		return nil
	}
	if err := s.open(ctx, nc); err != nil {
		return fmt.Errorf("mesh: connect %q: %w", s.Service, err)
	}
	return nil
}

func (s *Stream) open(ctx context.Context, nc *nats.Conn) error {
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(s.MaxPending),
		jetstream.WithPublishAsyncTimeout(s.AsyncTimeout),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, msg *nats.Msg, err error) {
			s.AsyncFailed(fmt.Errorf("mesh: asynchronous emit on %s (duplicate key %s) was not stored: %w", msg.Subject, msg.Header.Get(jetstream.MsgIDHeader), Hint(err)))
		}))
	if err != nil {
		return fmt.Errorf("JetStream: %w", err)
	}
	s.JS = js
	stream := subjects.EventStream(s.Namespace)
	if s.Manage {
		if err := streams.Ensure(ctx, js, s.Namespace, s.Streams); err != nil {
			return err
		}
	}
	str, err := js.Stream(ctx, stream)
	switch {
	case err == nil:
		if err := s.lookupCaps(ctx, nc.ConnectedServerVersion(), str.CachedInfo().Config); err != nil {
			return err
		}
		s.durable.Store(true)
	case errors.Is(err, jetstream.ErrStreamNotFound), errors.Is(err, jetstream.ErrJetStreamNotEnabled),
		errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount), errors.Is(err, nats.ErrNoResponders):
		// No stream, or a server without JetStream (nobody answers its API).
		s.Log.Debug("mesh: no event stream; emits are live only", "stream", stream, "reason", err)
	default:
		return fmt.Errorf("look up stream %s: %w%s", stream, err, streams.Hint(err))
	}
	return nil
}

// Durable reports whether the namespace has an event stream the worker
// uses.
func (s *Stream) Durable() bool { return s.durable.Load() }

// Missing is the error of a call that needs the event stream, when the
// namespace has none.
func (s *Stream) Missing() error {
	return fmt.Errorf("namespace %q has no event stream %s: set Config.Stream.Manage, or create it with streams.Ensure",
		s.Namespace, subjects.EventStream(s.Namespace))
}

// attempt bounds one try to store an event; Store tries again, with the
// same duplicate key, until its ctx ends.
const attempt = 2 * time.Second

// Store publishes msg to the event stream and waits for its
// acknowledgement. When the acknowledgement does not come (a timeout, the
// server gone or electing a leader), it publishes again: the duplicate key
// makes a retry of a stored event a duplicate, not a second event. It gives
// up when ctx ends (or after Config.Timeout without a deadline), with an
// error wrapping Unconfirmed.
func (s *Stream) Store(ctx context.Context, msg *nats.Msg) (*jetstream.PubAck, error) {
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	pause := 50 * time.Millisecond
	for {
		try, cancelTry := context.WithTimeout(ctx, attempt)
		ack, err := s.JS.PublishMsg(try, msg)
		cancelTry()
		switch {
		case err == nil:
			return ack, nil
		case !unconfirmed(err):
			return nil, Hint(err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", s.Unconfirmed, Hint(err))
		case <-time.After(pause):
			pause = min(2*pause, time.Second)
		}
	}
}

// bounded returns ctx, bounded by Config.Timeout when it has no deadline.
func (s *Stream) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.Timeout)
}

// unconfirmed reports whether a publish's error leaves the event's fate
// open, so that publishing it again is the way to know.
func unconfirmed(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrDisconnected)
}

// StoreAsync publishes msg, which the client keeps until the stream
// acknowledges it, without waiting for the acknowledgement. While
// Config.MaxPending are pending it waits for room until ctx's deadline, or
// for Config.AsyncTimeout without one.
func (s *Stream) StoreAsync(ctx context.Context, msg *nats.Msg) (jetstream.PubAckFuture, error) {
	stall := s.AsyncTimeout
	if dl, ok := ctx.Deadline(); ok {
		stall = max(time.Until(dl), time.Millisecond)
	}
	f, err := s.JS.PublishMsgAsync(msg, jetstream.WithStallWait(stall))
	return f, Hint(err)
}

// Pending is the number of asynchronous stores not yet acknowledged.
func (s *Stream) Pending() int {
	if s.JS == nil {
		return 0
	}
	return s.JS.PublishAsyncPending()
}

// Await waits until every asynchronous store is acknowledged or failed, or
// until ctx ends: it then returns ctx's error and how many are pending.
func (s *Stream) Await(ctx context.Context) (pending int, err error) {
	if s.JS == nil {
		return 0, nil
	}
	select {
	case <-s.JS.PublishAsyncComplete():
		return 0, nil
	case <-ctx.Done():
		return s.JS.PublishAsyncPending(), ctx.Err()
	}
}

// Hint adds to err what to do about it, when streams.Hint or this package
// knows.
func Hint(err error) error {
	if err == nil {
		return nil
	}
	if h := streams.Hint(err); h != "" {
		return fmt.Errorf("%w%s", err, h)
	}
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
		return fmt.Errorf("%w: no stream stores this subject; set Config.Stream.Manage, or create the streams with streams.Ensure", err)
	}
	return err
}
