package mesh

import (
	"hash/fnv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A task is one durable event ready to run.
type task struct {
	ev  *Event
	msg jetstream.Msg
}

// executor runs the tasks of one durable handler on lanes: queues served by
// goroutines. With Concurrency(1) there is one lane and one goroutine, so
// events run in stream order; with Concurrency(n), one lane and n
// goroutines, in any order; with OrderedByKey, n lanes of one goroutine
// each, an event's lane chosen by its partition key.
//
// run only queues and never blocks, so the consumer's delivery goroutine
// hands every pulled event over at once and the keeper covers the events
// waiting in a lane. The server bounds them: a consumer has at most
// MaxAckPending events unacknowledged.
type executor struct {
	lanes []*queue
}

// newExecutor starts the lanes' goroutines with spawn, which runs each
// goroutine's loop and lets the durable handler wait for them.
func newExecutor(o durableOptions, process func(task), spawn func(loop func())) *executor {
	lanes, workers := 1, o.concurrency
	if o.byKey {
		lanes, workers = o.concurrency, 1
	}
	e := &executor{lanes: make([]*queue, lanes)}
	for i := range e.lanes {
		lane := newQueue()
		e.lanes[i] = lane
		for range workers {
			spawn(func() {
				for {
					t, ok := lane.pop(nil)
					if !ok {
						return
					}
					process(t)
				}
			})
		}
	}
	return e
}

// run queues t on its lane.
func (e *executor) run(t task) {
	lane := e.lanes[0]
	if len(e.lanes) > 1 {
		key, ok := t.ev.Extension(PartitionKeyExtension)
		if !ok {
			key = t.ev.ID
		}
		h := fnv.New32a()
		h.Write([]byte(key))
		lane = e.lanes[h.Sum32()%uint32(len(e.lanes))]
	}
	lane.push(t)
}

// close makes the lanes' goroutines end once the queued tasks are run; run
// must not be called after it.
func (e *executor) close() {
	for _, lane := range e.lanes {
		lane.close()
	}
}

// queue is an unbounded FIFO of tasks for one or more waiting goroutines.
type queue struct {
	mu     sync.Mutex
	items  []task
	closed bool
	ready  chan struct{} // signalled when a task is pushed or the queue closes
}

func newQueue() *queue { return &queue{ready: make(chan struct{}, 1)} }

func (q *queue) push(t task) {
	q.mu.Lock()
	q.items = append(q.items, t)
	q.mu.Unlock()
	q.signal()
}

func (q *queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// close makes pop return false once the queue is empty.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

// pop returns the next task, waiting for one until timeout fires (forever
// if timeout is nil); ok is false when it timed out, or when the queue is
// closed and empty.
func (q *queue) pop(timeout <-chan time.Time) (task, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			t := q.items[0]
			q.items[0] = task{}
			q.items = q.items[1:]
			more := len(q.items) > 0
			q.mu.Unlock()
			if more {
				q.signal() // another waiter may take the next one
			}
			return t, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			q.signal() // wake the other waiters to see it
			return task{}, false
		}
		select {
		case <-q.ready:
		case <-timeout:
			return task{}, false
		}
	}
}
