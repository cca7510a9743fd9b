// Package consumers reads and manages the consumers of a namespace's event
// stream: one per durable handler of each service, shared by the service's
// instances. It attributes each consumer to its service and pattern, and
// gives its figures (pending, ack pending, redelivered, lag, paused) to
// meshctl consumers, to the stats report and to the bridge's metrics.
package consumers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go/jetstream"
)

// Unknown is the service of a consumer that no ipcmesh durable handler
// made (its description does not say whose it is).
const Unknown = "?"

// The description mesh gives a durable handler's consumer (mesh/durable.go):
// "ipcmesh: <service> handler for <pattern>".
const (
	descPrefix = "ipcmesh: "
	descMiddle = " handler for "
)

// Consumer is one consumer of the event stream and its figures, as the
// server reported them.
type Consumer struct {
	// Service and Pattern are the durable handler's, read from the
	// consumer's description; Service is Unknown and Pattern empty for a
	// consumer that is not a durable handler's.
	Service string `json:"service"`
	// Handler is the consumer's name: the handler's DurableName, by
	// default "<service>_<pattern>_<hash>".
	Handler string `json:"handler"`
	Pattern string `json:"pattern,omitempty"`
	// Pending counts the events that match the handler and were not yet
	// delivered to any instance.
	Pending uint64 `json:"pending"`
	// AckPending counts the events delivered to an instance and not yet
	// acknowledged: running, queued in the instance, or awaiting a retry.
	AckPending uint64 `json:"ack_pending"`
	// Redelivered counts the events of AckPending that were delivered more
	// than once.
	Redelivered uint64 `json:"redelivered"`
	// Lag is Pending plus AckPending: the handler's events that are not yet
	// acknowledged, handled or dead-lettered.
	Lag uint64 `json:"lag"`
	// Paused says the server holds the handler's events until PausedUntil
	// (see Pause).
	Paused      bool       `json:"paused"`
	PausedUntil *time.Time `json:"paused_until,omitempty"`
	// DeliveredSeq is the stream sequence of the last event delivered, and
	// AckFloorSeq that of the last event before which all are acknowledged.
	DeliveredSeq uint64 `json:"delivered_seq"`
	AckFloorSeq  uint64 `json:"ack_floor_seq"`
	// LastDelivered and LastAcked are when the server last delivered an
	// event and last had one acknowledged; nil if never.
	LastDelivered *time.Time `json:"last_delivered,omitempty"`
	LastAcked     *time.Time `json:"last_acked,omitempty"`
	// WaitingPulls counts the instances' pull requests waiting for events:
	// zero when no instance is connected (or all are busy).
	WaitingPulls int       `json:"waiting_pulls"`
	Created      time.Time `json:"created"`
}

// Details is one consumer in full, for meshctl consumers info.
type Details struct {
	Consumer
	Description string `json:"description"`
	// Stream is the event stream, and StreamLastSeq its newest event's
	// sequence.
	Stream        string `json:"stream"`
	StreamLastSeq uint64 `json:"stream_last_seq"`
	// Config is the consumer's configuration as the server holds it.
	Config jetstream.ConsumerConfig `json:"config"`
}

// Attribute reads the service and pattern of a durable handler's consumer
// from its description; ok is false for another consumer.
func Attribute(description string) (service, pattern string, ok bool) {
	rest, found := strings.CutPrefix(description, descPrefix)
	if !found {
		return "", "", false
	}
	service, pattern, found = strings.Cut(rest, descMiddle)
	if !found || service == "" || pattern == "" {
		return "", "", false
	}
	return service, pattern, true
}

// fromInfo is the consumer info describes.
func fromInfo(info *jetstream.ConsumerInfo) Consumer {
	c := Consumer{
		Service: Unknown, Handler: info.Name,
		Pending: info.NumPending, AckPending: uint64(max(info.NumAckPending, 0)), Redelivered: uint64(max(info.NumRedelivered, 0)),
		Paused:       info.Paused,
		DeliveredSeq: info.Delivered.Stream, AckFloorSeq: info.AckFloor.Stream,
		LastDelivered: info.Delivered.Last, LastAcked: info.AckFloor.Last,
		WaitingPulls: info.NumWaiting,
		Created:      info.Created,
	}
	if service, pattern, ok := Attribute(info.Config.Description); ok {
		c.Service, c.Pattern = service, pattern
	}
	c.Lag = c.Pending + c.AckPending
	if c.Paused {
		until := time.Now().Add(info.PauseRemaining).UTC()
		if p := info.Config.PauseUntil; p != nil && !p.IsZero() {
			until = p.UTC()
		}
		c.PausedUntil = &until
	}
	return c
}

// eventStream returns namespace ns's event stream, or an error that wraps
// jetstream.ErrStreamNotFound when there is none.
func eventStream(ctx context.Context, js jetstream.JetStream, ns string) (jetstream.Stream, error) {
	name := subjects.EventStream(ns)
	s, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("namespace %q has no event stream %s: %w", ns, name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	return s, nil
}

// list returns the infos of the consumers of s.
func list(ctx context.Context, s jetstream.Stream) ([]*jetstream.ConsumerInfo, error) {
	l := s.ListConsumers(ctx)
	var out []*jetstream.ConsumerInfo
	for info := range l.Info() {
		out = append(out, info)
	}
	if err := l.Err(); err != nil {
		return nil, fmt.Errorf("list the consumers of %s: %w", s.CachedInfo().Config.Name, err)
	}
	return out, nil
}

// List returns the consumers of namespace ns's event stream, by service
// then handler; only those of service, if not empty.
func List(ctx context.Context, js jetstream.JetStream, ns, service string) ([]Consumer, error) {
	s, err := eventStream(ctx, js, ns)
	if err != nil {
		return nil, err
	}
	infos, err := list(ctx, s)
	if err != nil {
		return nil, err
	}
	out := make([]Consumer, 0, len(infos))
	for _, info := range infos {
		if c := fromInfo(info); service == "" || c.Service == service {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Consumer) int {
		return cmp.Or(strings.Compare(a.Service, b.Service), strings.Compare(a.Handler, b.Handler))
	})
	return out, nil
}

// Get returns the consumer named handler of namespace ns's event stream in
// full. A missing consumer is an error that wraps
// jetstream.ErrConsumerNotFound.
func Get(ctx context.Context, js jetstream.JetStream, ns, handler string) (*Details, error) {
	s, err := eventStream(ctx, js, ns)
	if err != nil {
		return nil, err
	}
	// Listing rather than asking for one consumer: the client reads only
	// pull consumers one by one, and other consumers are shown too.
	infos, err := list(ctx, s)
	if err != nil {
		return nil, err
	}
	for _, info := range infos {
		if info.Name == handler {
			return &Details{
				Consumer: fromInfo(info), Description: info.Config.Description,
				Stream: info.Stream, StreamLastSeq: s.CachedInfo().State.LastSeq, Config: info.Config,
			}, nil
		}
	}
	return nil, notFound{ns, handler}
}

// notFound is the error for a missing consumer: it wraps
// jetstream.ErrConsumerNotFound.
type notFound struct{ ns, handler string }

func (e notFound) Error() string {
	return fmt.Sprintf("no consumer %q on %s (see meshctl consumers list)", e.handler, subjects.EventStream(e.ns))
}

func (e notFound) Unwrap() error { return jetstream.ErrConsumerNotFound }

// named returns err about the consumer handler; notFound if it is missing.
func named(ns, handler, verb string, err error) error {
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return notFound{ns, handler}
	}
	return fmt.Errorf("%s %s: %w", verb, handler, err)
}

// Pause makes the server hold the events of consumer handler until until:
// its instances stay connected and get nothing; the events wait in the
// stream (they count as pending). It returns when the pause ends.
func Pause(ctx context.Context, js jetstream.JetStream, ns, handler string, until time.Time) (time.Time, error) {
	if !until.After(time.Now()) {
		return time.Time{}, fmt.Errorf("pause %s: %s is not in the future", handler, until.UTC().Format(time.RFC3339))
	}
	if _, err := eventStream(ctx, js, ns); err != nil {
		return time.Time{}, err
	}
	r, err := js.PauseConsumer(ctx, subjects.EventStream(ns), handler, until)
	if err != nil {
		return time.Time{}, named(ns, handler, "pause", err)
	}
	if !r.Paused {
		return time.Time{}, fmt.Errorf("pause %s: the server did not pause it (does it support consumer pause, nats-server 2.11 or later?)", handler)
	}
	return r.PauseUntil.UTC(), nil
}

// Resume makes the server deliver the events of consumer handler again.
func Resume(ctx context.Context, js jetstream.JetStream, ns, handler string) error {
	if _, err := eventStream(ctx, js, ns); err != nil {
		return err
	}
	r, err := js.ResumeConsumer(ctx, subjects.EventStream(ns), handler)
	if err != nil {
		return named(ns, handler, "resume", err)
	}
	if r.Paused {
		return fmt.Errorf("resume %s: the server left it paused until %s", handler, r.PauseUntil.UTC().Format(time.RFC3339))
	}
	return nil
}

// Delete removes consumer handler, and with it where its handler stands
// in the stream.
func Delete(ctx context.Context, js jetstream.JetStream, ns, handler string) error {
	if _, err := eventStream(ctx, js, ns); err != nil {
		return err
	}
	if err := js.DeleteConsumer(ctx, subjects.EventStream(ns), handler); err != nil {
		return named(ns, handler, "delete", err)
	}
	return nil
}
