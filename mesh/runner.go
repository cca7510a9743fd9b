package mesh

import "sync"

// A live handler's calls run on goroutines that are reused: a goroutine
// runs the handler for the events queued for it, one after another, and
// when none is left it waits for the next one, so that an event usually
// finds a goroutine ready, its stack already grown to what the handler
// needs, instead of starting one. A new goroutine starts only when every
// goroutine of the handler is in a call (so Concurrency calls can run at
// once). At most maxIdleRunners goroutines wait per handler; the others
// end when the queue is empty. Waiting goroutines end when the handler is
// removed (Off) or the worker closes.
type runners struct {
	mu      sync.Mutex
	queue   []*Event
	head    int
	running int           // goroutines started and not ended
	busy    int           // of them, those in a handler call
	wake    chan struct{} // signals a waiting goroutine
	removed chan struct{} // closed by Off
}

// maxIdleRunners is how many goroutines of one handler wait for its next
// event.
const maxIdleRunners = 1

func newRunners() runners {
	return runners{wake: make(chan struct{}, maxIdleRunners), removed: make(chan struct{})}
}

// start queues ev for b's handler, and starts a goroutine if every one b
// has is in a call. The caller holds a slot of b.sem, which the call
// releases; so at most Concurrency events are queued or running.
func (w *Worker) start(b *binding, ev *Event) {
	r := &b.runners
	r.mu.Lock()
	r.queue = append(r.queue, ev)
	spawn := len(r.queue)-r.head > r.running-r.busy
	if spawn {
		r.running++
	}
	r.mu.Unlock()
	if spawn {
		go w.runner(b)
		return
	}
	select {
	case r.wake <- struct{}{}:
	default: // a goroutine is awake already and will take ev
	}
}

// runner runs b's handler for the queued events, waiting for more while it
// is one of the first maxIdleRunners to find the queue empty. Once the
// handler is removed or the worker closes, it runs what is queued and ends.
//
// start counts on every goroutine that is not in a call to take a queued
// event (it starts one only when the queued events outnumber them), so a
// goroutine ends only with the queue empty, and one that a handler ends
// (runtime.Goexit, as t.FailNow does) still settles its call.
func (w *Worker) runner(b *binding) {
	r := &b.runners
	// A call gives back its slot and count when it ends, unless the handler
	// gave them back earlier by closing the worker (see releaseCaller).
	done := func() {
		<-b.sem
		w.inflight.Done()
	}
	c, leave := w.enter(b, done)
	defer leave()
	inCall := false
	defer func() {
		if inCall {
			r.mu.Lock()
			r.busy--
			r.running--
			r.mu.Unlock()
			if !c.released {
				done()
			}
		}
	}()
	r.mu.Lock()
	for {
		for r.head == len(r.queue) {
			if r.running-r.busy > maxIdleRunners || (!r.wait(w) && r.head == len(r.queue)) {
				r.running--
				r.mu.Unlock()
				return
			}
		}
		ev := r.pop()
		r.busy++
		r.mu.Unlock()
		inCall = true
		w.run(b, ev)
		inCall = false
		r.mu.Lock()
		r.busy--
		// The slot is released once this goroutine counts as free, so
		// that the event it lets in does not start a goroutine of its own.
		if c.released {
			c.released = false
		} else {
			done()
		}
	}
}

// pop takes the first queued event, with r.mu held. The queue's backing
// array is reused: rewound when the queue empties, and compacted when the
// taken events fill half of it, so it stays within twice the most events
// ever queued at once (at most Concurrency).
func (r *runners) pop() *Event {
	ev := r.queue[r.head]
	r.queue[r.head] = nil
	r.head++
	switch {
	case r.head == len(r.queue):
		r.queue, r.head = r.queue[:0], 0
	case 2*r.head >= cap(r.queue):
		n := copy(r.queue, r.queue[r.head:])
		clear(r.queue[n:])
		r.queue, r.head = r.queue[:n], 0
	}
	return ev
}

// wait waits, with r.mu unlocked, until start signals an event or the
// handler is removed or the worker closes; it returns false for the last
// two.
func (r *runners) wait(w *Worker) bool {
	r.mu.Unlock()
	defer r.mu.Lock()
	select {
	case <-r.wake:
		return true
	case <-r.removed:
		return false
	case <-w.handlerCtx.Done():
		return false
	}
}
