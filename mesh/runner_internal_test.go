package mesh

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// runnersOf returns how many goroutines b has.
func runnersOf(b *binding) int {
	b.runners.mu.Lock()
	defer b.runners.mu.Unlock()
	return b.runners.running
}

// waitRunners waits until b has want goroutines, for at most 10 s.
func waitRunners(t *testing.T, b *binding, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runnersOf(b) != want {
		if time.Now().After(deadline) {
			t.Fatalf("binding has %d goroutines, want %d", runnersOf(b), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func testWorker(t *testing.T) *Worker {
	w := &Worker{}
	w.handlerCtx, w.cancelHandler = context.WithCancel(context.Background())
	t.Cleanup(w.cancelHandler)
	return w
}

// deliver hands ev to b as dispatch does.
func deliver(w *Worker, b *binding, ev *Event) {
	b.sem <- struct{}{}
	w.inflight.Add(1)
	w.start(b, ev)
}

// TestRunnersRunConcurrencyCallsAndThenWait checks that a handler's calls
// reach its Concurrency at once and never pass it, on as many goroutines,
// and that afterwards one goroutine waits for the next event until Off.
func TestRunnersRunConcurrencyCallsAndThenWait(t *testing.T) {
	w := testWorker(t)
	const concurrency, events = 3, 30
	release := make(chan struct{})
	var running, peak, calls atomic.Int32
	var b *binding
	var mu sync.Mutex
	var tooMany int
	b = newBinding("x", HandlerFunc(func(context.Context, *Event) error {
		now := running.Add(1)
		for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
		}
		if n := runnersOf(b); n > concurrency {
			mu.Lock()
			tooMany = n
			mu.Unlock()
		}
		<-release
		running.Add(-1)
		calls.Add(1)
		return nil
	}), handlerOptions{concurrency: concurrency})
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		for range events {
			deliver(w, b, &Event{})
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for peak.Load() < concurrency {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls ran at once, want %d", peak.Load(), concurrency)
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	<-delivered
	w.inflight.Wait()
	if calls.Load() != events || peak.Load() != concurrency {
		t.Fatalf("%d calls, at most %d at once; want %d, %d", calls.Load(), peak.Load(), events, concurrency)
	}
	if tooMany != 0 {
		t.Fatalf("the handler had %d goroutines, Concurrency is %d", tooMany, concurrency)
	}
	waitRunners(t, b, maxIdleRunners)

	// The waiting goroutine takes the next event.
	deliver(w, b, &Event{})
	w.inflight.Wait()
	if calls.Load() != events+1 {
		t.Fatalf("%d calls, want %d", calls.Load(), events+1)
	}
	waitRunners(t, b, maxIdleRunners)

	close(b.runners.removed) // as Off does
	waitRunners(t, b, 0)
}

func TestRunnersEndWhenTheWorkerCloses(t *testing.T) {
	w := testWorker(t)
	b := newBinding("x", HandlerFunc(func(context.Context, *Event) error { return nil }), handlerOptions{concurrency: 4})
	deliver(w, b, &Event{})
	w.inflight.Wait()
	waitRunners(t, b, maxIdleRunners)
	w.cancelHandler() // as Close does
	waitRunners(t, b, 0)
}

// waitInflight waits for w's handler calls to end, for at most 10 s.
func waitInflight(t *testing.T, w *Worker) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		w.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a handler call never ended: an event left in the queue, or a slot never given back")
	}
}

// TestRunnersRunAnEventQueuedAsOffRaces checks that an event dispatched
// while Off ends the handler's waiting goroutine still runs: the goroutine
// that start counted on must not end with it queued.
func TestRunnersRunAnEventQueuedAsOffRaces(t *testing.T) {
	w := testWorker(t)
	for range 300 {
		var calls atomic.Int32
		b := newBinding("x", HandlerFunc(func(context.Context, *Event) error {
			calls.Add(1)
			return nil
		}), handlerOptions{concurrency: 4})
		deliver(w, b, &Event{})
		waitInflight(t, w)
		waitRunners(t, b, maxIdleRunners)
		go close(b.runners.removed)
		deliver(w, b, &Event{})
		waitInflight(t, w)
		if n := calls.Load(); n != 2 {
			t.Fatalf("%d calls, want 2", n)
		}
		waitRunners(t, b, 0)
	}
}

// TestRunnersSettleAHandlerThatEndsItsGoroutine checks that a handler that
// ends its goroutine (runtime.Goexit, as t.FailNow does) gives back its
// Concurrency slot, so the next event still runs.
func TestRunnersSettleAHandlerThatEndsItsGoroutine(t *testing.T) {
	w := testWorker(t)
	var calls atomic.Int32
	b := newBinding("x", HandlerFunc(func(context.Context, *Event) error {
		if calls.Add(1) == 1 {
			runtime.Goexit()
		}
		return nil
	}), handlerOptions{concurrency: 1})
	deliver(w, b, &Event{})
	waitInflight(t, w)
	deliver(w, b, &Event{}) // blocks on the slot if the first kept it
	waitInflight(t, w)
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}
	waitRunners(t, b, maxIdleRunners)
}

// TestRunnersQueueStaysSmall checks that the queue's backing array is
// bounded by the handler's Concurrency, not by the events it has seen.
func TestRunnersQueueStaysSmall(t *testing.T) {
	w := testWorker(t)
	const concurrency = 8
	b := newBinding("x", HandlerFunc(func(context.Context, *Event) error { return nil }), handlerOptions{concurrency: concurrency})
	for range 50_000 {
		deliver(w, b, &Event{})
	}
	waitInflight(t, w)
	b.runners.mu.Lock()
	size := cap(b.runners.queue)
	b.runners.mu.Unlock()
	if size > 2*concurrency {
		t.Fatalf("the queue's array holds %d events after 50,000, want at most %d", size, 2*concurrency)
	}
}
