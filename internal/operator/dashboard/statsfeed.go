package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/exprsn/ipcmesh/internal/operator/stats"
)

// writeTimeout bounds one write to a stats stream; a browser that takes
// longer is dropped.
const writeTimeout = 10 * time.Second

// GatherErrorEvent is the SSE event name of a stats stream's message when
// a gathering failed, with data {"error": "..."}; a report has no event
// name (EventSource's onmessage).
const GatherErrorEvent = "gather-error"

// feed gathers stats reports while a stats stream is open, one gathering
// for all of them, and hands each stream the latest as an SSE message.
type feed struct {
	gather   func(context.Context) (*stats.Report, error)
	interval time.Duration
	max      int
	// ctx ends with close, stopping a gathering.
	ctx    context.Context
	cancel context.CancelFunc

	mu sync.Mutex
	// subs are the open streams' channels, each holding at most the latest
	// message not yet written.
	subs    map[chan []byte]struct{}
	last    []byte // the latest message while gathering runs
	running bool
	closed  bool
	// streams counts the streams' handlers and the gathering goroutine.
	streams sync.WaitGroup
}

func newFeed(gather func(context.Context) (*stats.Report, error), interval time.Duration, maxStreams int) *feed {
	ctx, cancel := context.WithCancel(context.Background())
	return &feed{gather: gather, interval: interval, max: maxStreams, ctx: ctx, cancel: cancel, subs: map[chan []byte]struct{}{}}
}

// subscribe opens a stream: its channel receives the latest message at
// once if there is one, then each new one. It starts the gathering if it
// is not running. It fails when the feed is closed or full.
func (f *feed) subscribe() (chan []byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.closed:
		return nil, errors.New("dashboard: the bridge is shutting down")
	case len(f.subs) >= f.max:
		return nil, fmt.Errorf("dashboard: %d stats streams are open, the most allowed", f.max)
	}
	ch := make(chan []byte, 1)
	if f.last != nil {
		ch <- f.last
	}
	f.subs[ch] = struct{}{}
	f.streams.Add(1)
	if !f.running {
		f.running = true
		f.streams.Add(1)
		go f.run()
	}
	return ch, nil
}

// unsubscribe closes the stream of ch.
func (f *feed) unsubscribe(ch chan []byte) {
	f.mu.Lock()
	delete(f.subs, ch)
	f.mu.Unlock()
	f.streams.Done()
}

// run gathers a report, hands it to every stream, waits the interval, and
// again, until no stream is open or the feed is closed.
func (f *feed) run() {
	defer f.streams.Done()
	for {
		msg := f.message()
		f.mu.Lock()
		if len(f.subs) == 0 || f.closed {
			f.running, f.last = false, nil
			f.mu.Unlock()
			return
		}
		f.last = msg
		for ch := range f.subs {
			select { // only run sends, under f.mu: after the drain there is room
			case <-ch:
			default:
			}
			ch <- msg
		}
		f.mu.Unlock()
		select {
		case <-time.After(f.interval):
		case <-f.ctx.Done():
		}
	}
}

// message gathers a report and renders it as an SSE message: data the
// report's JSON, or a GatherErrorEvent.
func (f *feed) message() []byte {
	ctx, cancel := context.WithTimeout(f.ctx, stats.Timeout)
	defer cancel()
	r, err := f.gather(ctx)
	if err == nil {
		var body []byte
		if body, err = json.Marshal(r); err == nil {
			return fmt.Appendf(nil, "data: %s\n\n", body) // compact JSON: one line
		}
	}
	body, _ := json.Marshal(map[string]string{"error": err.Error()})
	return fmt.Appendf(nil, "event: %s\ndata: %s\n\n", GatherErrorEvent, body)
}

// close ends the gathering and every stream.
func (f *feed) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.cancel()
}

// wait returns when every stream and the gathering have ended, or ctx.
func (f *feed) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		f.streams.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("dashboard: close the stats streams: %w", ctx.Err())
	}
}

// serveStatsStream answers GET /api/ipc/stats/stream: a stats report as an
// SSE message every Config.Interval or so (the gathering itself takes a
// quarter of a second or more), until the browser leaves or the dashboard
// closes; 503 when Config.MaxStreams are open.
func (d *Dashboard) serveStatsStream(w http.ResponseWriter, r *http.Request) {
	ch, err := d.feed.subscribe()
	if err != nil {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	defer d.feed.unsubscribe(ch)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	write := func(b []byte) error {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	if write([]byte(": ok\n\n")) != nil {
		return
	}
	for {
		select {
		case msg := <-ch:
			if write(msg) != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-d.feed.ctx.Done():
			return
		}
	}
}
