package mesh

import "github.com/nats-io/nats.go"

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
