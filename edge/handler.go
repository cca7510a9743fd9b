package edge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/streams"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Handler serves the mesh's events to browsers as server-sent events. Mount
// it on a GET route of the service's mux; it is safe for concurrent use.
type Handler struct {
	cfg     Config
	w       *mesh.Worker
	ns      string
	filters []string
	// stream is the namespace's event stream, nil when the handler serves
	// live events only.
	stream jetstream.Stream
	hub    hub
	stats  counters
	// stop ends the feed.
	stop func(context.Context)
	once sync.Once
}

// New subscribes a Handler for cfg's events on w's connection and returns
// once the server knows of the subscription, waiting for it until ctx ends
// (10 s when ctx has no deadline): events sent after New returns reach the
// browsers connected then.
//
// When w uses the namespace's event stream (w.Durable()), the handler reads
// the stream with one JetStream ordered consumer, numbers each SSE message
// with the event's stream sequence, and resumes a browser's Last-Event-ID.
// Otherwise it uses core NATS subscriptions, one per pattern and target,
// and sends no ids. Either way, every browser is fed from that one feed.
func New(ctx context.Context, w *mesh.Worker, cfg Config) (*Handler, error) {
	cfg, err := cfg.withDefaults(w)
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, w: w, ns: w.Namespace()}
	h.hub = hub{conns: map[*conn]struct{}{}, stats: &h.stats}
	if h.filters, err = cfg.filters(h.ns); err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	if w.Durable() {
		err = h.consume(ctx)
	} else {
		err = h.subscribe(ctx)
	}
	if err != nil {
		return nil, err
	}
	return h, nil
}

// subscribe feeds the hub from core NATS subscriptions.
func (h *Handler) subscribe(ctx context.Context) error {
	nc := h.w.Conn()
	subs := make([]*nats.Subscription, 0, len(h.filters))
	h.stop = func(context.Context) {
		for _, s := range subs {
			_ = s.Unsubscribe()
		}
	}
	for _, f := range h.filters {
		s, err := nc.Subscribe(f, func(m *nats.Msg) { h.receive(m.Subject, m.Header, m.Data, 0) })
		if err != nil {
			h.stop(ctx)
			return fmt.Errorf("edge: subscribe to %s: %w", f, err)
		}
		subs = append(subs, s)
	}
	if err := nc.FlushWithContext(ctx); err != nil {
		h.stop(ctx)
		return fmt.Errorf("edge: subscribe: %w", err)
	}
	return nil
}

// consume feeds the hub from an ordered consumer of the event stream that
// starts after the stream's last sequence now.
func (h *Handler) consume(ctx context.Context) error {
	name := subjects.EventStream(h.ns)
	s, err := h.w.JetStream().Stream(ctx, name)
	if err != nil {
		return fmt.Errorf("edge: open stream %s: %w%s", name, err, streams.Hint(err))
	}
	last := s.CachedInfo().State.LastSeq
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: h.filters,
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    last + 1,
	})
	if err != nil {
		return fmt.Errorf("edge: consume stream %s: %w%s", name, err, streams.Hint(err))
	}
	cc, err := cons.Consume(h.onStream, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		h.cfg.Logger.Debug("edge: event stream consumer", "error", err)
	}))
	if err != nil {
		return fmt.Errorf("edge: consume stream %s: %w%s", name, err, streams.Hint(err))
	}
	h.stream, h.hub.last = s, last
	h.stop = func(ctx context.Context) { h.deleteConsumer(ctx, cons, cc) }
	return nil
}

func (h *Handler) onStream(m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		h.invalid(m.Subject(), err)
		return
	}
	h.receive(m.Subject(), m.Headers(), m.Data(), md.Sequence.Stream)
}

// receive decodes one message of the feed and dispatches it; an invalid
// one is counted and skipped.
func (h *Handler) receive(subject string, hdr nats.Header, body []byte, seq uint64) {
	f, err := decode(h.ns, subject, hdr, body, seq)
	if err != nil {
		h.invalid(subject, err)
		return
	}
	h.stats.received.Add(1)
	h.hub.dispatch(f)
}

func (h *Handler) invalid(subject string, err error) {
	h.stats.invalid.Add(1)
	h.cfg.Logger.Debug("edge: invalid message skipped", "subject", subject, "error", err)
}

// ServeHTTP opens a stream for r: 405 for a method other than GET, 503 with
// Retry-After when Config.MaxConnections streams are open or the handler
// is closed, Authorize's refusal, else 200 and the events until the browser
// leaves or the handler drops it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "edge: event streams are read with GET", http.StatusMethodNotAllowed)
		return
	}
	if !h.reserve() {
		h.unavailable(w, &h.stats.overloaded)
		return
	}
	defer h.stats.connections.Add(-1)
	filter, err := h.cfg.Authorize(r)
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	c := newConn(h, w, filter)
	after, ok := h.hub.add(c)
	if !ok {
		h.unavailable(w, &h.stats.overloaded)
		return
	}
	defer h.hub.remove(c)
	h.stats.accepted.Add(1)
	c.run(r.Context(), r.Header.Get("Last-Event-ID"), after)
}

// reserve counts a connection if there is room for it.
func (h *Handler) reserve() bool {
	if h.stats.connections.Add(1) > int64(h.cfg.MaxConnections) {
		h.stats.connections.Add(-1)
		return false
	}
	return true
}

func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrUnauthorized):
		h.stats.refused.Add(1)
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
	case errors.Is(err, ErrForbidden):
		h.stats.refused.Add(1)
		http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
	default:
		h.cfg.Logger.Warn("edge: authorize failed", "path", r.URL.Path, "error", err)
		h.unavailable(w, &h.stats.refused)
	}
}

func (h *Handler) unavailable(w http.ResponseWriter, counter *atomic.Uint64) {
	counter.Add(1)
	w.Header().Set("Retry-After", strconv.Itoa(int((h.cfg.RetryAfter+time.Second-1)/time.Second)))
	http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
}

// Close stops the feed, ends every stream with a DroppedEvent of reason
// ReasonShutdown, and waits until their handlers have returned or ctx
// ends. Further requests get 503. Call it before http.Server.Shutdown,
// which does not end open streams (or register it with
// http.Server.RegisterOnShutdown). Calling Close again waits again.
func (h *Handler) Close(ctx context.Context) error {
	h.once.Do(func() {
		h.stop(ctx)
		h.hub.close()
	})
	done := make(chan struct{})
	go func() {
		h.hub.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("edge: close: %w", ctx.Err())
	}
}

// Stats returns a snapshot of the handler's counters.
func (h *Handler) Stats() Stats { return h.stats.snapshot() }
