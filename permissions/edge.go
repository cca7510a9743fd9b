package permissions

import (
	"fmt"

	"github.com/exprsn/ipcmesh/subjects"
)

// Feed is one set of events a browser or an edge may read: those matching
// the pattern Event sent to Target.
type Feed struct {
	// Target is whom the events are sent to: subjects.Broadcast, a service
	// name, or "*" for every target (every service's targeted events
	// too). Default (""): subjects.Broadcast.
	Target string `json:"target,omitempty"`
	// Event is the event pattern (see subjects.Filter): "post:created",
	// "presence:*", or "user:u42:>" for the events whose name starts with
	// one user's segment, the way to give a browser one user's events
	// only. Required.
	Event string `json:"event"`
}

// filter returns f's NATS subject filter in namespace ns.
func (f Feed) filter(ns string) (string, error) {
	target := f.Target
	if target == "" {
		target = subjects.Broadcast
	}
	if f.Event == "" {
		return "", fmt.Errorf("feed to %q: no event pattern", target)
	}
	s, err := subjects.Filter(ns, target, f.Event)
	if err != nil {
		return "", fmt.Errorf("feed %q to %q: %w", f.Event, target, err)
	}
	return s, nil
}

// edge returns the grants of an edge that reads feeds from the event
// stream events (see Service.Edge), and the denials that keep its
// wildcard consumer name off the durable consumers given; own lists those
// of the edge's service, which it still reads and acknowledges as their
// owner.
//
// An ordered consumer has a fresh random name each time it is created, so
// the grants cannot name it: they pin the filter instead, which
// nats-server checks against the consumer's configuration when the
// filter is in the API subject ($JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>).
func edge(events string, filters []string, durables []string, own map[string]bool) (publish, deny []string) {
	for _, f := range filters {
		publish = append(publish, jsAPI("CONSUMER.CREATE", events, "*", f))
	}
	publish = append(publish,
		jsAPI("CONSUMER.MSG.NEXT", events, "*"),
		jsAPI("CONSUMER.INFO", events, "*"),
		jsAPI("CONSUMER.DELETE", events, "*"))
	for _, c := range durables {
		if own[c] {
			deny = append(deny,
				jsAPI("CONSUMER.CREATE", events, c),
				jsAPI("CONSUMER.CREATE", events, c, ">"),
				jsAPI("CONSUMER.DELETE", events, c))
			continue
		}
		deny = append(deny,
			jsAPI("CONSUMER.*", events, c),
			jsAPI("CONSUMER.*", events, c, ">"),
			jsAPI("CONSUMER.MSG.NEXT", events, c))
	}
	return publish, deny
}
