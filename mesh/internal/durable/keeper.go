package durable

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// keeper holds the events a durable handler has received and not yet
// settled, waiting or running, and reports them in progress every AckWait/3
// from one goroutine: a long handler keeps its event, prefetched events
// keep theirs, and no event costs a timer of its own.
type keeper struct {
	mu      sync.Mutex
	running map[jetstream.Msg]struct{}
	stopped chan struct{}
	done    chan struct{}
}

func newKeeper(every time.Duration) *keeper {
	k := &keeper{running: map[jetstream.Msg]struct{}{}, stopped: make(chan struct{}), done: make(chan struct{})}
	go k.loop(every)
	return k
}

func (k *keeper) loop(every time.Duration) {
	defer close(k.done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-k.stopped:
			return
		case <-tick.C:
		}
		// Under the lock, so that no event is reported in progress after
		// settle took it out (which would undo a delayed retry).
		k.mu.Lock()
		for m := range k.running {
			_ = m.InProgress()
		}
		k.mu.Unlock()
	}
}

func (k *keeper) add(m jetstream.Msg) {
	k.mu.Lock()
	k.running[m] = struct{}{}
	k.mu.Unlock()
}

func (k *keeper) remove(m jetstream.Msg) {
	k.mu.Lock()
	delete(k.running, m)
	k.mu.Unlock()
}

// stop ends the keeper's goroutine.
func (k *keeper) stop() {
	close(k.stopped)
	<-k.done
}
