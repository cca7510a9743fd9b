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

// executor runs the tasks of one durable handler: inline (in stream order),
// on a bounded pool, or on lanes that keep the order of each partition key.
// run is called from the consumer's delivery goroutine, one task at a time;
// it blocks while the executor is full. stop is called once, after the last
// run.
type executor interface {
	run(t task)
	stop()
}

func newExecutor(o durableOptions, process func(task)) executor {
	switch {
	case o.concurrency == 1:
		return inlineExecutor(process)
	case o.byKey:
		return newLaneExecutor(o.concurrency, process)
	default:
		return &poolExecutor{sem: make(chan struct{}, o.concurrency), process: process}
	}
}

// inlineExecutor runs each task on the delivery goroutine, in stream order.
type inlineExecutor func(task)

func (e inlineExecutor) run(t task) { e(t) }
func (inlineExecutor) stop()        {}

// poolExecutor runs up to cap(sem) tasks at once, in any order.
type poolExecutor struct {
	sem     chan struct{}
	wg      sync.WaitGroup
	process func(task)
}

func (e *poolExecutor) run(t task) {
	e.sem <- struct{}{}
	e.wg.Add(1)
	go func() {
		defer func() {
			<-e.sem
			e.wg.Done()
		}()
		e.process(t)
	}()
}

func (e *poolExecutor) stop() { e.wg.Wait() }

// laneExecutor runs tasks on a fixed set of lanes, each in order; a task's
// lane is chosen by its partition key, so events with one key never
// overtake each other.
type laneExecutor struct {
	lanes []chan task
	wg    sync.WaitGroup
}

// laneDepth is how many tasks may wait in one lane.
const laneDepth = 16

func newLaneExecutor(n int, process func(task)) *laneExecutor {
	e := &laneExecutor{lanes: make([]chan task, n)}
	for i := range e.lanes {
		lane := make(chan task, laneDepth)
		e.lanes[i] = lane
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			for t := range lane {
				process(t)
			}
		}()
	}
	return e
}

func (e *laneExecutor) run(t task) {
	key, ok := t.ev.Extension(PartitionKeyExtension)
	if !ok {
		key = t.ev.ID
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	e.lanes[h.Sum32()%uint32(len(e.lanes))] <- t
}

func (e *laneExecutor) stop() {
	for _, lane := range e.lanes {
		close(lane)
	}
	e.wg.Wait()
}
