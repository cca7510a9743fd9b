package meshprom

import (
	"maps"

	"github.com/prometheus/client_golang/prometheus"
)

// Option changes the metrics of NewCollector and NewLatency.
type Option func(*options)

type options struct {
	labels  prometheus.Labels
	buckets []float64
}

func newOptions(opts []Option) options {
	o := options{buckets: prometheus.DefBuckets}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithConstLabels adds labels with fixed values to every metric. Default:
// none. Two workers of one service registered on one registry need a label
// that tells them apart, such as {"instance": id}. The labels service and
// namespace are the package's own, taken from the worker, and are ignored
// here.
func WithConstLabels(labels prometheus.Labels) Option {
	return func(o *options) { o.labels = labels }
}

// WithBuckets sets the upper bounds, in seconds, of the buckets of
// NewLatency's histogram. Default: prometheus.DefBuckets (5ms to 10s).
// NewCollector has no histogram and ignores it.
func WithBuckets(bounds ...float64) Option {
	return func(o *options) { o.buckets = bounds }
}

// constLabels returns a copy of the labels of WithConstLabels without
// service and namespace.
func (o options) constLabels() prometheus.Labels {
	labels := maps.Clone(o.labels)
	if labels == nil {
		labels = prometheus.Labels{}
	}
	delete(labels, "service")
	delete(labels, "namespace")
	return labels
}
