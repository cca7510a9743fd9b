package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
)

// tapWait bounds how long a "handled" line waits for the tap to print the
// event it follows.
const tapWait = time.Second

// tracer prints the trace of the demo: the events on the wire and the dead
// letters, seen by a tap (as meshctl tail would show them), and the handler
// calls, seen by a middleware in every worker. It also counts the handler
// calls and the dead letters, so that a scene can wait until its flow is
// through. It is safe for concurrent use.
type tracer struct {
	out io.Writer

	mu      sync.Mutex
	tapped  map[string]bool // IDs of the events the tap has printed
	calls   map[call]int    // finished handler calls and dead letters
	changed chan struct{}   // closed and replaced on every change
}

// call names the handler calls of one service for one event or, with dead
// set, the service's dead letters of that event.
type call struct {
	service, event string
	dead           bool
}

func newTracer(out io.Writer) *tracer {
	return &tracer{out: out, tapped: map[string]bool{}, calls: map[call]int{}, changed: make(chan struct{})}
}

// printf prints one line of the trace.
func (t *tracer) printf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.printfLocked(format, args...)
}

func (t *tracer) printfLocked(format string, args ...any) {
	fmt.Fprintf(t.out, "  "+format+"\n", args...)
}

// row formats a trace line in columns: who, what, which event, details.
const row = "%-10s %-14s %-22s %s"

// changedLocked wakes the waiters.
func (t *tracer) changedLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// waitUntil waits until cond, checked under t.mu, holds or ctx is done.
func (t *tracer) waitUntil(ctx context.Context, cond func() bool) error {
	for {
		t.mu.Lock()
		ok, changed := cond(), t.changed
		t.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// middleware returns the middleware of the worker labelled label: after
// each handler call, it prints a line and counts the call.
func (t *tracer) middleware(label string) mesh.Middleware {
	return func(next mesh.Handler) mesh.Handler {
		return mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
			err := next.HandleEvent(ctx, ev)
			t.handled(ctx, label, ev, err)
			return err
		})
	}
}

func (t *tracer) handled(ctx context.Context, label string, ev *mesh.Event, err error) {
	if !subjects.IsRequest(ev.NATSSubject) {
		// Keep the trace causal: the event's own line first. The tap is
		// another connection, so it may be a little behind. It does not
		// see requests.
		waitCtx, cancel := context.WithTimeout(ctx, tapWait)
		_ = t.waitUntil(waitCtx, func() bool { return t.tapped[ev.ID] })
		cancel()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.printfLocked(row, label, "failed", ev.Type, err)
	} else {
		t.printfLocked(row, label, "handled", ev.Type, "(from "+short(ev.Source)+")")
	}
	t.calls[call{mesh.FromContext(ctx).Service(), ev.Type, false}]++
	t.changedLocked()
}

// onError returns the error hook of the worker labelled label. It prints
// what the middleware does not already show.
func (t *tracer) onError(label string) func(error) {
	return func(err error) {
		var herr *mesh.HandlerError
		if errors.As(err, &herr) {
			return // the middleware has printed it
		}
		t.printf(row, label, "error", "", err)
	}
}

// expect is a number of handler calls or dead letters a scene waits for.
type expect struct {
	call
	n int
}

// handled expects one call of a handler of service for event.
func handled(service, event string) expect { return expect{call{service, event, false}, 1} }

// deadLettered expects one dead letter of service for event.
func deadLettered(service, event string) expect { return expect{call{service, event, true}, 1} }

// times expects n calls instead of one.
func (e expect) times(n int) expect { e.n = n; return e }

// await runs action, then waits until the handler calls in want have
// finished (successfully or not) and the dead letters in want are stored.
// It fails when ctx is done first, saying which ones are missing.
func (t *tracer) await(ctx context.Context, action func() error, want ...expect) error {
	t.mu.Lock()
	base := make(map[call]int, len(want))
	for _, e := range want {
		base[e.call] = t.calls[e.call]
	}
	t.mu.Unlock()
	if err := action(); err != nil {
		return err
	}
	missing := func() []string {
		var m []string
		for _, e := range want {
			if got := t.calls[e.call] - base[e.call]; got < e.n {
				verb := "handling"
				if e.dead {
					verb = "dead-lettering"
				}
				m = append(m, fmt.Sprintf("%s %s %s (%d of %d)", e.service, verb, e.event, got, e.n))
			}
		}
		return m
	}
	err := t.waitUntil(ctx, func() bool { return len(missing()) == 0 })
	if err != nil {
		t.mu.Lock()
		defer t.mu.Unlock()
		return fmt.Errorf("the flow did not complete: still waiting for %s: %w", strings.Join(missing(), ", "), err)
	}
	return nil
}

// short drops the "exprsn-" prefix of service names.
func short(service string) string { return strings.TrimPrefix(service, "exprsn-") }

// abbreviate shortens s for a trace line.
func abbreviate(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max-3] + "..."
	}
	return s
}
