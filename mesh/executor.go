package mesh

import (
	"hash/fnv"
	"sync"

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
// run only queues, so the consumer's delivery goroutine hands every pulled
// event over at once, and the keeper covers events waiting in a lane. A lane
// holds Prefetch events, the most the consumer lets this handler have
// unacknowledged (MaxAckPending), so run does not block in practice.
type executor struct {
	lanes []chan task
	wg    sync.WaitGroup
}

func newExecutor(o durableOptions, process func(task)) *executor {
	lanes, workers := 1, o.concurrency
	if o.byKey {
		lanes, workers = o.concurrency, 1
	}
	e := &executor{lanes: make([]chan task, lanes)}
	for i := range e.lanes {
		lane := make(chan task, o.prefetch)
		e.lanes[i] = lane
		for range workers {
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				for t := range lane {
					process(t)
				}
			}()
		}
	}
	return e
}

// run queues t on its lane. It is called from the consumer's delivery
// goroutine, one task at a time.
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
	lane <- t
}

// stop lets the queued tasks finish and waits for them; run must not be
// called after it.
func (e *executor) stop() {
	for _, lane := range e.lanes {
		close(lane)
	}
	e.wg.Wait()
}
