// Package drops reports the live events the NATS client drops because a
// worker's handlers fall behind.
package drops

import (
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// dropReportInterval is how often the dropping of live events is reported
// while it goes on.
const dropReportInterval = time.Second

// Watch reports the live events the NATS client drops because handlers
// fall behind. The client reports a slow consumer once at the start of each
// episode, however many events it drops in it; so the first report goes out
// at once, and a goroutine then reports every dropReportInterval what was
// dropped since, with the total, until an interval passes without a drop.
type Watch struct {
	// Total returns the drops so far; Report receives the reports.
	Total  func() uint64
	Report func(error)

	mu       sync.Mutex
	watching bool
	stopped  bool
	reported uint64 // the total as last reported
	done     chan struct{}
}

// Slow is called when the client reports a slow consumer on subject.
func (d *Watch) Slow(subject string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.watching || d.stopped {
		return
	}
	d.watching = true
	d.done = make(chan struct{})
	total := d.Total()
	d.reported = total
	d.Report(fmt.Errorf("mesh: events on %s arrive faster than its handlers finish: %d live events dropped in all so far (see mesh.PendingLimits): %w",
		subject, total, nats.ErrSlowConsumer))
	go d.watch(d.done)
}

func (d *Watch) watch(done chan struct{}) {
	tick := time.NewTicker(dropReportInterval)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		total := d.Total()
		d.mu.Lock()
		if total == d.reported || d.stopped {
			d.watching = false
			d.mu.Unlock()
			return
		}
		n := total - d.reported
		d.reported = total
		d.mu.Unlock()
		d.Report(fmt.Errorf("mesh: handlers still fall behind: %d more live events dropped in the last %s, %d in all: %w",
			n, dropReportInterval, total, nats.ErrSlowConsumer))
	}
}

// Stop ends the watching goroutine, for Close.
func (d *Watch) Stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopped = true
	if d.watching {
		close(d.done)
		d.watching = false
	}
}
