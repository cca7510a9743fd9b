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
// is one of the first maxIdleRunners to find the queue empty.
func (w *Worker) runner(b *binding) {
	r := &b.runners
	r.mu.Lock()
	for {
		for r.head == len(r.queue) {
			if r.running-r.busy > maxIdleRunners || !r.wait(w) {
				r.running--
				r.mu.Unlock()
				return
			}
		}
		ev := r.queue[r.head]
		r.queue[r.head] = nil
		r.head++
		r.busy++
		r.mu.Unlock()
		w.run(b, ev)
		r.mu.Lock()
		r.busy--
		// The slot is released once this goroutine counts as free, so
		// that the event it lets in does not start a goroutine of its own.
		<-b.sem
		w.inflight.Done()
	}
}

// wait waits, with r.mu unlocked, until start signals an event or the
// handler is removed or the worker closes; it returns false for the last
// two. It empties the queue's backing array for reuse first.
func (r *runners) wait(w *Worker) bool {
	r.queue, r.head = r.queue[:0], 0
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
