package meshprom

import (
	"context"
	"time"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/prometheus/client_golang/prometheus"
)

// Kinds of handlers, the values of the kind label of the latency
// histogram.
const (
	KindLive    = "live"    // a handler registered with On
	KindRequest = "request" // a responder registered with OnRequest
	KindDurable = "durable" // a handler registered with OnDurable
)

// Latency measures how long handlers take: the histogram
// ipcmesh_handler_duration_seconds, by namespace, service, event and kind
// (KindLive, KindRequest, KindDurable). Its Middleware does the timing; it
// is itself the prometheus.Collector of the histogram. One Latency may serve
// several workers. It is safe for concurrent use.
type Latency struct {
	hist *prometheus.HistogramVec
}

// NewLatency returns a Latency with no observations yet.
func NewLatency(opts ...Option) *Latency {
	o := newOptions(opts)
	return &Latency{hist: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:        prefix + "handler_duration_seconds",
		Help:        "How long handler calls took, from the start of the middleware to the handler's return, by event and kind of handler.",
		Buckets:     o.buckets,
		ConstLabels: o.constLabels(),
	}, []string{"namespace", "service", "event", "kind"})}
}

// Middleware times each handler call it wraps, a panicking one included.
// Put it in mesh.Config.Middleware; middleware after it is timed too. The
// labels namespace and service are the handling worker's, found in the
// handler's context.
func (l *Latency) Middleware() mesh.Middleware {
	return func(next mesh.Handler) mesh.Handler {
		return mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
			defer l.observe(ctx, ev, time.Now())
			return next.HandleEvent(ctx, ev)
		})
	}
}

// observe records the duration of a call for ev that started at start.
func (l *Latency) observe(ctx context.Context, ev *mesh.Event, start time.Time) {
	var ns, service string
	if w := mesh.FromContext(ctx); w != nil {
		ns, service = w.Namespace(), w.Service()
	}
	l.hist.WithLabelValues(ns, service, ev.Type, kindOf(ev)).Observe(time.Since(start).Seconds())
}

// kindOf tells what kind of handler ev was delivered to.
func kindOf(ev *mesh.Event) string {
	switch {
	case ev.Handler != "":
		return KindDurable
	case ev.IsRequest():
		return KindRequest
	default:
		return KindLive
	}
}

// Describe sends the description of the histogram.
func (l *Latency) Describe(ch chan<- *prometheus.Desc) { l.hist.Describe(ch) }

// Collect sends the histogram's series.
func (l *Latency) Collect(ch chan<- prometheus.Metric) { l.hist.Collect(ch) }
