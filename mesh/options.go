package mesh

import (
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/mesh/internal/live"
	"github.com/exprsn/ipcmesh/mesh/internal/outbound"
	"github.com/exprsn/ipcmesh/subjects"
)

// Each call takes options of its own interface type, so that an option
// that does not apply to a call does not compile with it. An option that
// fits several calls is of a named type that satisfies each of their
// interfaces (HandlerOption fits On, OnRequest and OnDurable).

// EmitOption changes one Emit, EmitWithReceipt, EmitAsync or TryEmit.
type EmitOption interface{ applyEmit(*sendOptions) }

// RequestOption changes one Request.
type RequestOption interface{ applyRequest(*sendOptions) }

// OnOption changes how a handler registered with On receives events.
type OnOption interface{ applyOn(*handlerOptions) }

// ResponderOption changes how a responder registered with OnRequest
// receives requests.
type ResponderOption interface{ applyResponder(*handlerOptions) }

// DurableOption changes a durable handler registered with OnDurable.
type DurableOption interface{ applyDurable(*handlerOptions) }

// BatchOption changes a batch handler registered with OnDurableBatch.
type BatchOption interface{ applyBatch(*handlerOptions) }

// sendOptions are what EmitOptions and RequestOptions set.
type sendOptions = outbound.Options

// EventOption sets an attribute of an emitted event or a request; it is
// an EmitOption and a RequestOption.
type EventOption func(*sendOptions)

func (o EventOption) applyEmit(s *sendOptions)    { o(s) }
func (o EventOption) applyRequest(s *sendOptions) { o(s) }

// WithID sets the event's CloudEvents id. Default: a new unique id. Set it
// to retry an emit as the same event: the event stream stores an event
// once per source and id within its duplicate window.
func WithID(id string) EventOption { return func(o *sendOptions) { o.ID = id } }

// WithContentType sets the data's content type. Default: application/json
// for anything but []byte, application/octet-stream for []byte.
func WithContentType(ct string) EventOption {
	return func(o *sendOptions) { o.ContentType = ct }
}

// WithExtension sets a CloudEvents extension attribute, e.g.
// WithExtension("correlationid", id). Names are lowercase letters and
// digits; the call fails otherwise.
func WithExtension(name, value string) EventOption {
	return func(o *sendOptions) { o.Extensions = append(o.Extensions, codec.Extension{Name: name, Value: value}) }
}

// WithPartitionKey sets the event's partition key (the CloudEvents
// extension subjects.PartitionKeyExtension): durable handlers with
// OrderedByKey handle events that share a key in order.
func WithPartitionKey(key string) EventOption {
	return WithExtension(subjects.PartitionKeyExtension, key)
}

// TargetOption is where an emit goes, as To, ToSelf and Broadcast make it:
// an EmitOption and a BatchEventOption. A string, so that To with a
// constant name needs no allocation.
type TargetOption string

// selfTarget stands for the worker's own service; no service is named so.
const selfTarget TargetOption = "\x00self"

func (t TargetOption) applyEmit(o *sendOptions) {
	if t == selfTarget {
		o.Self = true
		return
	}
	o.Target, o.Self = string(t), false
}

// To sends the event to one instance of service instead of broadcasting
// it. An empty or invalid service name fails the emit.
func To(service string) TargetOption { return TargetOption(service) }

// ToSelf sends the event to this worker's own service (one instance of it,
// possibly this one).
func ToSelf() TargetOption { return selfTarget }

// Broadcast sends the event to every service listening for it; it is the
// default.
func Broadcast() TargetOption { return TargetOption(subjects.Broadcast) }

type handlerOptions struct {
	oncePerService bool
	timeout        time.Duration
	concurrency    int
	middleware     []Middleware
	pending        live.Limits
	durable        durableOptions
}

// HandlerOption changes a single-event handler: it is an OnOption, a
// ResponderOption and a DurableOption.
type HandlerOption func(*handlerOptions)

func (o HandlerOption) applyOn(h *handlerOptions)        { o(h) }
func (o HandlerOption) applyResponder(h *handlerOptions) { o(h) }
func (o HandlerOption) applyDurable(h *handlerOptions)   { o(h) }

// Concurrency bounds the calls of the handler running at once in this
// instance. Default: Config.MaxConcurrent for live handlers and
// responders; 1 for durable handlers, which then handle events in stream
// order.
func Concurrency(n int) HandlerOption { return func(o *handlerOptions) { o.concurrency = n } }

// Use wraps the handler in middleware, inside Config.Middleware, the first
// element outermost.
func Use(mw ...Middleware) HandlerOption {
	return func(o *handlerOptions) { o.middleware = append(o.middleware, mw...) }
}

// CallOption changes how any handler is called: it is an OnOption, a
// ResponderOption, a DurableOption and a BatchOption.
type CallOption func(*handlerOptions)

func (o CallOption) applyOn(h *handlerOptions)        { o(h) }
func (o CallOption) applyResponder(h *handlerOptions) { o(h) }
func (o CallOption) applyDurable(h *handlerOptions)   { o(h) }
func (o CallOption) applyBatch(h *handlerOptions)     { o(h) }

// Timeout cancels the handler's context after d. Default: no timeout. A
// durable handler whose context ends this way fails and its event is
// retried. A handler that ignores its context keeps its event and its
// Concurrency slot until it returns (Go cannot stop a goroutine): a call
// still running d (at least 1 s) after its context ended is reported
// through Config.OnError as a *HandlerError.
func Timeout(d time.Duration) CallOption { return func(o *handlerOptions) { o.timeout = d } }

// LiveOption changes a live handler or responder: it is an OnOption and a
// ResponderOption.
type LiveOption func(*handlerOptions)

func (o LiveOption) applyOn(h *handlerOptions)        { o(h) }
func (o LiveOption) applyResponder(h *handlerOptions) { o(h) }

// PendingLimits bounds the live events that wait in the NATS client for
// the handler's subscription while its Concurrency calls are running: msgs
// events or bytes bytes, whichever comes first (-1 for no limit on
// either). Past them the client drops events, counts them in Stats.Dropped
// and the worker reports them (Config.OnError, at most once a second while
// it goes on, with the total). Handlers registered for the same pattern
// share a subscription: the last limits set apply to all of them. Default:
// the NATS client's, 512Ki events or 64 MiB.
func PendingLimits(msgs, bytes int) LiveOption {
	return func(o *handlerOptions) { o.pending = live.Limits{Msgs: msgs, Bytes: bytes, Set: true} }
}

type onlyOn func(*handlerOptions)

func (o onlyOn) applyOn(h *handlerOptions) { o(h) }

// OncePerService makes a broadcast reach one instance of this service
// instead of every instance (the default). Use it when the handler's
// effect is per service (writing to the service's database), not per
// instance (updating an in-memory cache). Events targeted at the service
// reach one instance either way; durable handlers' events always do.
func OncePerService() OnOption { return onlyOn(func(o *handlerOptions) { o.oncePerService = true }) }
