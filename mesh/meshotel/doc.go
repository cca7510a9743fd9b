// Package meshotel traces a mesh worker with OpenTelemetry: a span for every
// event it sends and handles, with the trace context carried in the events
// themselves (the CloudEvents traceparent and tracestate extensions, W3C
// Trace Context), so that one trace follows an event chain across services,
// such as timeline -> moderator -> herald -> timeline.
//
// It lives apart from package mesh so that services that do not trace do
// not import OpenTelemetry.
//
// # Setup
//
// [Instrument] adds the tracing to a worker's Config before it connects:
//
//	cfg := mesh.Config{Service: "exprsn-moderator"}
//	meshotel.Instrument(&cfg, meshotel.WithTracerProvider(tp))
//	w, err := mesh.Connect(ctx, cfg)
//
// Handlers then receive a ctx that holds the span of the event they handle;
// emitting with that ctx continues the trace. Code outside handlers (an
// HTTP handler, say) emits with a ctx holding its own span to make the event
// its child, or with a ctx without a span to start a new trace.
//
// # Spans
//
//	span name          kind      when
//	send <event>       producer  Emit, EmitAsync, TryEmit
//	request <event>    client    Request, until the reply or the error
//	respond <event>    server    a responder (OnRequest) handling a request
//	reply <event>      producer  the responder's reply, child of respond
//	process <event>    consumer  a handler (On, OnDurable) handling an event
//
// A send span covers encoding and sending: for Emit to a stream, until the
// stream stored the event; for EmitAsync, until the event is handed to the
// NATS client (the stream's acknowledgement comes later, outside the span).
// A process or respond span is the child of the send or request span whose
// context the event carries; an event without one starts a new trace. Each
// delivery to a durable handler has its own process span, all children of
// the one send span, and so does a replayed or re-driven event.
//
// # Attributes
//
// Every span has messaging.system "nats", messaging.operation.type ("send"
// or "process"), messaging.operation.name (the first word of the span's
// name), messaging.message.id and cloudevents.event_id (the CloudEvents
// id), cloudevents.event_source (the emitting service) and
// cloudevents.event_type (the event name), and messaging.destination.name,
// the NATS subject the event goes to or came on. Those of
// durable handlers add messaging.consumer.group.name (the durable handler's
// name), [AttrDeliveries] and [AttrStreamSequence]; those of replayed events
// add [AttrReplayed].
//
// # Errors
//
// A send that fails, a request answered with an error and a handler that
// returns an error or panics set the span's status to Error, record the
// error as an exception event and set error.type. A *mesh.RemoteError also
// sets [AttrErrorCode]; a responder's error with a code below 500 is an
// answer, not a failure, and leaves the respond span's status unset, as the
// mesh counts it as handled. A panic is recorded with its stack and passed
// on to the worker, which reports it as usual.
//
// # Batch handlers
//
// Middleware does not apply to batch handlers (OnDurableBatch). To trace
// their events, wrap the per-event work in [Middleware], given the same
// options as Instrument.
package meshotel
