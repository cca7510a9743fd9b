package sched

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// running returns how many goroutines lane i of s has.
func (s *Scheduler[T]) running(i int) int {
	l := s.lanes[i]
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.running
}

// waitFor polls cond until it holds, for at most 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitGroup waits for wg, for at most 10 s.
func waitGroup(t *testing.T, wg *sync.WaitGroup) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a call never ended: an item left in the queue, or a slot never given back")
	}
}

// TestCallsReachWorkersAndThenOneWaits checks that a lane's calls reach
// Workers at once and never pass it, on as many goroutines, and that
// afterwards one goroutine waits for the next item until Close.
func TestCallsReachWorkersAndThenOneWaits(t *testing.T) {
	const workers, items = 3, 30
	release := make(chan struct{})
	var running, peak, calls atomic.Int32
	var tooMany atomic.Int32
	var s *Scheduler[int]
	s = New(Config{Workers: workers, Bound: workers}, func([]int) {
		now := running.Add(1)
		for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
		}
		if n := s.running(0); n > workers {
			tooMany.Store(int32(n))
		}
		<-release
		running.Add(-1)
		calls.Add(1)
	})
	pushed := make(chan struct{})
	go func() {
		defer close(pushed)
		for i := range items {
			s.Push(0, i)
		}
	}()
	waitFor(t, "Workers calls at once", func() bool { return peak.Load() == workers })
	close(release)
	<-pushed
	waitFor(t, "every call", func() bool { return calls.Load() == items })
	if calls.Load() != items || peak.Load() != workers {
		t.Fatalf("%d calls, at most %d at once; want %d, %d", calls.Load(), peak.Load(), items, workers)
	}
	if n := tooMany.Load(); n != 0 {
		t.Fatalf("the lane had %d goroutines, Workers is %d", n, workers)
	}
	waitFor(t, "one waiting goroutine", func() bool { return s.running(0) == 1 })

	// The waiting goroutine takes the next item.
	s.Push(0, 0)
	waitFor(t, "the next call", func() bool { return calls.Load() == items+1 })
	waitFor(t, "one waiting goroutine", func() bool { return s.running(0) == 1 })

	s.Close()
	<-s.Done()
	if n := s.running(0); n != 0 {
		t.Fatalf("%d goroutines after Close, want 0", n)
	}
}

// TestItemPushedAsCloseRacesStillRuns checks that an item pushed while
// Close ends the waiting goroutine still runs: the goroutine Push counted
// on must not end with it queued.
func TestItemPushedAsCloseRacesStillRuns(t *testing.T) {
	for range 300 {
		var calls atomic.Int32
		s := New(Config{Workers: 4, Bound: 4}, func([]int) { calls.Add(1) })
		s.Push(0, 1)
		waitFor(t, "the first call", func() bool { return calls.Load() == 1 })
		waitFor(t, "one waiting goroutine", func() bool { return s.running(0) == 1 })
		go s.Close()
		s.Push(0, 2)
		s.Close()
		<-s.Done()
		if n := calls.Load(); n != 2 {
			t.Fatalf("%d calls, want 2", n)
		}
	}
}

// TestCallThatEndsItsGoroutineIsSettled checks that a call that ends its
// goroutine (runtime.Goexit, as t.FailNow does) gives back its slot, so
// the next item still runs.
func TestCallThatEndsItsGoroutineIsSettled(t *testing.T) {
	var calls atomic.Int32
	s := New(Config{Bound: 1}, func([]int) {
		if calls.Add(1) == 1 {
			runtime.Goexit()
		}
	})
	s.Push(0, 1)
	s.Push(0, 2) // blocks on the slot if the first call kept it
	waitFor(t, "two calls", func() bool { return calls.Load() == 2 })
	s.Close()
	<-s.Done()
}

// TestQueueStaysSmall checks that a lane's array is bounded by what is
// queued at once, not by the items it has seen.
func TestQueueStaysSmall(t *testing.T) {
	const workers = 8
	var group sync.WaitGroup
	s := New(Config{Workers: workers, Bound: workers, Group: &group}, func([]int) {})
	for i := range 50_000 {
		s.Push(0, i)
	}
	s.Close()
	waitGroup(t, &group)
	l := s.lanes[0]
	l.mu.Lock()
	size := cap(l.queue)
	l.mu.Unlock()
	if size > 2*workers {
		t.Fatalf("the queue's array holds %d items after 50,000, want at most %d", size, 2*workers)
	}
}

// TestLanesKeepOrderPerKey checks that items of one key run in the order
// pushed, one at a time, while other keys run beside them.
func TestLanesKeepOrderPerKey(t *testing.T) {
	const lanes, perKey = 4, 200
	var mu sync.Mutex
	seen := map[uint32][]int{}
	var inKey [lanes]atomic.Int32
	var overlap atomic.Bool
	s := New(Config{Lanes: lanes}, func(items []item) {
		it := items[0]
		if inKey[it.key].Add(1) > 1 {
			overlap.Store(true)
		}
		mu.Lock()
		seen[it.key] = append(seen[it.key], it.n)
		mu.Unlock()
		inKey[it.key].Add(-1)
	})
	for n := range perKey {
		for k := range uint32(lanes) {
			s.Push(k, item{key: k, n: n})
		}
	}
	s.Close()
	<-s.Done()
	if overlap.Load() {
		t.Fatal("two items of one key ran at once")
	}
	for k := range uint32(lanes) {
		if len(seen[k]) != perKey {
			t.Fatalf("key %d: %d items ran, want %d", k, len(seen[k]), perKey)
		}
		for i, n := range seen[k] {
			if n != i {
				t.Fatalf("key %d: item %d ran at position %d", k, n, i)
			}
		}
	}
}

type item struct {
	key uint32
	n   int
}

// TestBatchesTakeUpToBatchOrWhatCameWithinTheWait checks that a call takes
// Batch items when they are queued, and fewer once BatchWait has passed.
func TestBatchesTakeUpToBatchOrWhatCameWithinTheWait(t *testing.T) {
	sizes := make(chan int, 10)
	s := New(Config{Batch: 5, BatchWait: 50 * time.Millisecond}, func(items []int) { sizes <- len(items) })
	for i := range 7 {
		s.Push(0, i)
	}
	got := 0
	for got < 7 {
		select {
		case n := <-sizes:
			if n > 5 {
				t.Fatalf("a call took %d items, Batch is 5", n)
			}
			got += n
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of 7 items ran", got)
		}
	}
	s.Close()
	<-s.Done()
}

// TestReleaseLetsWaitersPassTheCallingGoroutine checks that a call that
// releases its goroutine (as Close from inside a handler does) no longer
// holds Done, Group or its slot, and that the items behind it still run.
func TestReleaseLetsWaitersPassTheCallingGoroutine(t *testing.T) {
	var group sync.WaitGroup
	var releases sync.Map // *goroutine release funcs, by call
	var calls atomic.Int32
	unblock := make(chan struct{})
	var s *Scheduler[int]
	s = New(Config{Bound: 1, Group: &group, Enter: func(release func()) func() {
		releases.Store(&release, release)
		return func() { releases.Delete(&release) }
	}}, func(items []int) {
		calls.Add(1)
		if items[0] == 1 {
			releases.Range(func(_, v any) bool { v.(func())(); return true })
			s.Close()
			<-s.Done() // would wait for this very call without the release
			waitGroup(t, &group)
			<-unblock
		}
	})
	s.Push(0, 1)
	s.Push(0, 2) // needs the slot the first call gave back
	close(unblock)
	waitFor(t, "both calls", func() bool { return calls.Load() == 2 })
}
