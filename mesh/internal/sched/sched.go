// Package sched runs a handler's calls on reused goroutines: one scheduler
// for every kind of mesh handler. Live handlers use one lane with up to
// Concurrency goroutines and a bound on the events queued or running;
// durable handlers one lane with Concurrency goroutines, or Concurrency
// lanes of one goroutine chosen by partition key; batch handlers one lane
// of one goroutine taking up to Batch items per call.
//
// A goroutine runs the calls for the items queued on its lane, one after
// another, and when none is left it waits for the next one if it is one of
// the lane's Idle waiting goroutines, else it waits 100 ms more and ends;
// so an item usually finds a goroutine ready, its stack already grown to
// what the handler needs, and a new goroutine starts only when every
// goroutine of the lane is in a call.
package sched

import (
	"sync"
	"time"
)

// Config says how a Scheduler runs calls. Zero fields mean 1, except Bound
// and BatchWait.
type Config struct {
	// Lanes is the number of lanes; Push's key chooses one. Items of one
	// lane start in the order pushed.
	Lanes int
	// Workers bounds the goroutines, so the calls running at once, of
	// each lane.
	Workers int
	// Idle is how many goroutines of each lane wait for the next item
	// when the lane is empty; the others end after a short linger.
	Idle int
	// Bound bounds the items queued or in a call, over all lanes: Push
	// waits for room. 0 means no bound.
	Bound int
	// Batch is the most items one call takes, and BatchWait how long a
	// call with fewer waits for more after its first.
	Batch     int
	BatchWait time.Duration
	// Group, if set, counts the scheduler's goroutines besides Wait's own
	// count, for a caller that waits for several schedulers at once.
	Group *sync.WaitGroup
	// Enter, if set, is called first on every goroutine the scheduler
	// starts, with the goroutine's release func (see Release), and returns
	// the func to call when the goroutine ends.
	Enter func(release func()) (leave func())
}

// A Scheduler runs calls of one handler. Push, Close and Wait are safe for
// concurrent use.
type Scheduler[T any] struct {
	cfg   Config
	call  func(items []T)
	lanes []*lane[T]
	slots chan struct{} // one per item queued or in a call; nil without Bound
	wg    sync.WaitGroup
	done  chan struct{} // closed by Close
	once  sync.Once
}

// New returns a scheduler that runs call for the items pushed, one or (with
// Batch) several at a time. Call must not keep the slice.
func New[T any](cfg Config, call func(items []T)) *Scheduler[T] {
	cfg.Lanes, cfg.Workers, cfg.Idle, cfg.Batch = max(cfg.Lanes, 1), max(cfg.Workers, 1), max(cfg.Idle, 1), max(cfg.Batch, 1)
	s := &Scheduler[T]{cfg: cfg, call: call, lanes: make([]*lane[T], cfg.Lanes), done: make(chan struct{})}
	if cfg.Bound > 0 {
		s.slots = make(chan struct{}, cfg.Bound)
	}
	for i := range s.lanes {
		s.lanes[i] = &lane[T]{wake: make(chan struct{}, cfg.Idle)}
	}
	return s
}

// Push queues item on the lane key chooses, waiting while Bound items are
// queued or in a call, and starts a goroutine if every one the lane has is
// in a call and it has fewer than Workers. Items pushed after Close still
// run.
func (s *Scheduler[T]) Push(key uint32, item T) {
	if s.slots != nil {
		s.slots <- struct{}{}
	}
	l := s.lanes[key%uint32(len(s.lanes))]
	l.mu.Lock()
	l.queue = append(l.queue, item)
	if s.spawnLocked(l) {
		return
	}
	select {
	case l.wake <- struct{}{}:
	default: // a goroutine is awake already and will take item
	}
}

// spawnLocked, with l.mu held, which it unlocks, starts a goroutine for
// l if it has fewer than Workers and either every one it has is in a call
// or its queued items outnumber spawnRatio times those that are not, and
// reports whether it did.
func (s *Scheduler[T]) spawnLocked(l *lane[T]) bool {
	free := l.running - l.busy
	spawn := l.queued() > spawnRatio*free && l.running < s.cfg.Workers
	if spawn {
		l.running++
		s.add()
	}
	l.mu.Unlock()
	if spawn {
		go s.loop(l)
	}
	return spawn
}

// Close makes the goroutines end once their lanes are empty. Calls running
// or queued go on.
func (s *Scheduler[T]) Close() { s.once.Do(func() { close(s.done) }) }

// Done returns a channel closed when Close was called and every goroutine
// has ended (or been released).
func (s *Scheduler[T]) Done() <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		<-s.done
		s.wg.Wait()
		close(ch)
	}()
	return ch
}

func (s *Scheduler[T]) add() {
	s.wg.Add(1)
	if s.cfg.Group != nil {
		s.cfg.Group.Add(1)
	}
}

func (s *Scheduler[T]) sub() {
	if s.cfg.Group != nil {
		s.cfg.Group.Done()
	}
	s.wg.Done()
}

// free gives back the slots of n items.
func (s *Scheduler[T]) free(n int) {
	if s.slots != nil {
		for range n {
			<-s.slots
		}
	}
}

// spawnRatio is how many queued items a goroutine not in a call counts
// for when Push decides whether to start another: it is about to take
// them one after another. Counting it for one item only started a
// goroutine for nearly every item of a burst of short calls (each start
// costs Config.Enter and a stack), and most of them ended unused after
// their linger; a lane whose goroutines are all in calls, as with slow
// handlers, still gets a new goroutine for every item pushed.
const spawnRatio = 4

// lane is a FIFO of items and the goroutines serving it.
type lane[T any] struct {
	mu      sync.Mutex
	queue   []T
	head    int
	running int           // goroutines started and not ended
	busy    int           // of them, those in a call
	wake    chan struct{} // signals a waiting goroutine
}

func (l *lane[T]) queued() int { return len(l.queue) - l.head }
