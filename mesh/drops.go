package mesh

import (
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// dropReportInterval is how often the dropping of live events is reported
// while it goes on.
const dropReportInterval = time.Second

// dropWatch reports the live events the NATS client drops because handlers
// fall behind. The client reports a slow consumer once at the start of each
// episode, however many events it drops in it; so the first report goes out
// at once, and a goroutine then reports every dropReportInterval what was
// dropped since, with the total, until an interval passes without a drop.
type dropWatch struct {
	mu       sync.Mutex
	watching bool
	stopped  bool
	reported uint64 // the total as last reported
	done     chan struct{}
}

// slow is called when the client reports a slow consumer on subject.
func (d *dropWatch) slow(w *Worker, subject string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.watching || d.stopped {
		return
	}
	d.watching = true
	d.done = make(chan struct{})
	total := w.droppedTotal()
	d.reported = total
	w.report(fmt.Errorf("mesh: events on %s arrive faster than its handlers finish: %d live events dropped in all so far (see PendingLimits): %w",
		subject, total, nats.ErrSlowConsumer))
	go d.watch(w, d.done)
}

func (d *dropWatch) watch(w *Worker, done chan struct{}) {
	tick := time.NewTicker(dropReportInterval)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		total := w.droppedTotal()
		d.mu.Lock()
		if total == d.reported || d.stopped {
			d.watching = false
			d.mu.Unlock()
			return
		}
		n := total - d.reported
		d.reported = total
		d.mu.Unlock()
		w.report(fmt.Errorf("mesh: handlers still fall behind: %d more live events dropped in the last %s, %d in all: %w",
			n, dropReportInterval, total, nats.ErrSlowConsumer))
	}
}

// stop ends the watching goroutine, for Close.
func (d *dropWatch) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopped = true
	if d.watching {
		close(d.done)
		d.watching = false
	}
}

// droppedTotal is the number of live events the client dropped: those of
// the subscriptions removed so far, and those the current ones report.
func (w *Worker) droppedTotal() uint64 {
	total := w.stats.droppedGone.Load()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.routes {
		if n, err := r.sub.Dropped(); err == nil {
			total += uint64(n)
		}
	}
	return total
}

// retireDrops adds the drops of a subscription about to be removed to the
// total; the caller holds w.mu.
func (w *Worker) retireDrops(sub *nats.Subscription) {
	if n, err := sub.Dropped(); err == nil {
		w.stats.droppedGone.Add(uint64(n))
	}
}
