package main

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"
)

// sink counts the messages a contender's receiving side gets. A phase ends
// at the moment the expected count is reached (the clock stops on the last
// message, never before), and the sending side is held within a window of
// unreceived messages, the same for every contender, so that no client
// reaches nats' slow-consumer limits and drops (every message is counted).
type sink struct {
	count  atomic.Int64
	phase  atomic.Pointer[phase]
	wake   chan struct{}
	chunk  int64
	window int64
}

// phase is one measured stretch: it ends when target messages have been
// counted.
type phase struct {
	base   int64 // count when the phase started
	target int64 // count at which it ends
	done   chan struct{}
	end    time.Time // set before done is closed
}

func newSink(window int) *sink {
	return &sink{wake: make(chan struct{}, 1), chunk: max(int64(window/8), 1), window: int64(window)}
}

// hit counts one received message.
func (s *sink) hit() {
	c := s.count.Add(1)
	if p := s.phase.Load(); p != nil && c == p.target {
		p.end = time.Now()
		close(p.done)
	}
	if c%s.chunk == 0 {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// expect starts a phase that ends when n more messages are counted.
func (s *sink) expect(n int64) *phase {
	base := s.count.Load()
	p := &phase{base: base, target: base + n, done: make(chan struct{})}
	s.phase.Store(p)
	return p
}

// admit blocks while sent-minus-received messages of phase p fill the
// window.
func (s *sink) admit(ctx context.Context, p *phase, sent int64) error {
	for sent-(s.count.Load()-p.base) >= s.window {
		select {
		case <-s.wake:
		case <-ctx.Done():
			return fmt.Errorf("received %d of %d sent: %w", s.count.Load()-p.base, sent, ctx.Err())
		}
	}
	return nil
}

// wait waits for the end of phase p.
func (s *sink) wait(ctx context.Context, p *phase) error {
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("received %d of %d: %w", s.count.Load()-p.base, p.target-p.base, ctx.Err())
	}
}

// median returns the median of xs (the mean of the middle two for an even
// count), 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// percentile returns the q-quantile (0..1) of ds by the nearest-rank
// method.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}
