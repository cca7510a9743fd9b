package sched

import "time"

// goroutine is the state of one goroutine of a lane; only it touches it.
type goroutine[T any] struct {
	buf      []T         // the items of the current call, reused
	linger   *time.Timer // bounds the wait of a goroutine past Idle
	inCall   bool
	n        int  // items of the current call
	released bool // Release was called in the current call
}

// loop serves lane l until it has no item left and is not one of its Idle
// waiting goroutines, or the scheduler is closed and the lane empty.
//
// Push counts on every goroutine not in a call to take queued items (it
// starts one only when every goroutine is in a call, or the queued items
// outnumber spawnRatio times those that are not), and a goroutine that
// starts a call with items left and every other goroutine in a call
// starts one too, so a goroutine ends
// only with the lane empty, or starts a replacement; one that a call ends
// (runtime.Goexit, as t.FailNow does) still settles that call.
func (s *Scheduler[T]) loop(l *lane[T]) {
	g := &goroutine[T]{}
	if s.cfg.Enter != nil {
		leave := s.cfg.Enter(func() { s.release(g) })
		defer leave()
	}
	defer func() {
		if g.inCall { // the call ended the goroutine
			l.mu.Lock()
			l.busy--
			s.end(l, g)
		}
	}()
	l.mu.Lock()
	for {
		items, ok := s.take(l, g)
		if !ok {
			s.end(l, g)
			return
		}
		l.busy++
		// Items left behind and every goroutine in a call: start one for
		// them, as Push would, since Push may not come again soon.
		s.spawnLocked(l)
		g.inCall, g.n = true, len(items)
		s.call(items)
		g.inCall = false
		clear(items)
		g.buf = items
		l.mu.Lock()
		l.busy--
		if g.released {
			s.end(l, g)
			return
		}
		// The slots are given back once this goroutine counts as free, so
		// that the item they let in does not start a goroutine of its own.
		s.free(len(items))
	}
}

// end ends goroutine g of l, with l.mu held, which it unlocks; if items
// are left that no other goroutine will take (g was released in a call),
// it starts a replacement.
func (s *Scheduler[T]) end(l *lane[T], g *goroutine[T]) {
	l.running--
	s.spawnLocked(l)
	if g.inCall && !g.released {
		s.free(g.n)
	}
	if !g.released {
		s.sub()
	}
}

// Release, called on one of the scheduler's goroutines from inside a call,
// gives back what the goroutine holds, its slots and its count in Done and
// Group, so that code waiting for the scheduler does not wait for the call
// it is made from; the goroutine ends when the call returns.
func (s *Scheduler[T]) release(g *goroutine[T]) {
	if !g.inCall || g.released {
		return
	}
	g.released = true
	s.free(g.n)
	s.sub()
}

// linger is how long a goroutine past a lane's Idle waits for the next
// item before it ends: in a burst, goroutines are reused rather than
// started for every item (starting one costs its Config.Enter too).
const linger = 100 * time.Millisecond

// take returns the next items of l in g's buffer, waiting for them with
// l.mu unlocked; ok is false when the goroutine should end: when the
// scheduler is closed and the lane empty, or when g, past the lane's Idle,
// waited linger in vain.
func (s *Scheduler[T]) take(l *lane[T], g *goroutine[T]) (items []T, ok bool) {
	for l.queued() == 0 {
		var timeout <-chan time.Time
		if l.running-l.busy > s.cfg.Idle {
			if g.linger == nil {
				g.linger = time.NewTimer(linger)
			} else {
				g.linger.Reset(linger)
			}
			timeout = g.linger.C
		}
		if s.wait(l, timeout) || l.queued() > 0 {
			continue
		}
		// Closed, or lingered in vain: end, unless the others ended
		// meanwhile and this goroutine is one of the lane's Idle now.
		if s.closed() || l.running-l.busy > s.cfg.Idle {
			return nil, false
		}
	}
	if s.cfg.Batch > 1 && l.queued() < s.cfg.Batch && s.cfg.BatchWait > 0 {
		timer := time.NewTimer(s.cfg.BatchWait)
		for l.queued() < s.cfg.Batch && s.wait(l, timer.C) {
		}
		timer.Stop()
	}
	n := min(l.queued(), s.cfg.Batch)
	items = append(g.buf[:0], l.queue[l.head:l.head+n]...)
	clear(l.queue[l.head : l.head+n])
	l.head += n
	// The queue's array is reused: rewound when the lane empties, and
	// compacted when the taken items fill half of it, so it stays within
	// twice the most items ever queued at once.
	switch {
	case l.head == len(l.queue):
		l.queue, l.head = l.queue[:0], 0
	case 2*l.head >= cap(l.queue):
		m := copy(l.queue, l.queue[l.head:])
		clear(l.queue[m:])
		l.queue, l.head = l.queue[:m], 0
	}
	return items, true
}

// closed reports whether Close was called.
func (s *Scheduler[T]) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// wait waits, with l.mu unlocked, until Push signals an item; it returns
// false when timeout fires or the scheduler is closed.
func (s *Scheduler[T]) wait(l *lane[T], timeout <-chan time.Time) bool {
	l.mu.Unlock()
	defer l.mu.Lock()
	select {
	case <-l.wake:
		return true
	case <-timeout:
		return false
	case <-s.done:
		return false
	}
}
