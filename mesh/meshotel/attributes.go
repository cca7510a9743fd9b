package meshotel

import (
	"errors"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/mesh"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Attributes of the mesh's own, besides the OpenTelemetry semantic
// conventions for messaging and CloudEvents.
const (
	// AttrDeliveries is the delivery count of an event handled by a durable
	// handler: 1 on the first try (mesh.Event.Deliveries).
	AttrDeliveries = attribute.Key("ipcmesh.deliveries")
	// AttrStreamSequence is the event's sequence in the event stream, on
	// spans of durable handlers (mesh.Event.StreamSequence).
	AttrStreamSequence = attribute.Key("ipcmesh.stream.sequence")
	// AttrReplayed is true on the spans of events re-delivered by replay or
	// a dead-letter re-drive (mesh.Event.Replayed).
	AttrReplayed = attribute.Key("ipcmesh.replayed")
	// AttrErrorCode is the code of an error reply: on a request span
	// answered with an error, and on the respond span of a responder that
	// returned an error (500 unless it returned a *mesh.RemoteError with
	// another code).
	AttrErrorCode = attribute.Key("ipcmesh.error.code")
)

// systemNATS is messaging.system: the mesh travels over NATS.
var systemNATS = semconv.MessagingSystemKey.String("nats")

// eventAttributes are the attributes every span has: the messaging system
// and operation, and the event's identity. room is how many more the caller
// appends.
func eventAttributes(ev *codec.Event, opType attribute.KeyValue, op string, room int) []attribute.KeyValue {
	return append(make([]attribute.KeyValue, 0, 7+room),
		systemNATS,
		opType,
		semconv.MessagingOperationName(op),
		semconv.MessagingMessageID(ev.ID),
		semconv.CloudEventsEventID(ev.ID),
		semconv.CloudEventsEventSource(ev.Source),
		semconv.CloudEventsEventType(ev.Type),
	)
}

// finish ends span after an operation that returned err. An error fails the
// span (status Error, the error recorded as an exception event with opts,
// error.type set) unless it is a responder's answer: a *mesh.RemoteError
// with a code below 500, which the mesh counts as handled. AttrErrorCode is
// set for a *mesh.RemoteError, and on a responder's span for any error, to
// the code the requester receives.
func finish(span trace.Span, err error, responder bool, opts ...trace.EventOption) {
	if err != nil {
		code := 500
		re, remote := errors.AsType[*mesh.RemoteError](err)
		if remote {
			code = re.Code
		}
		if remote || responder {
			span.SetAttributes(AttrErrorCode.Int(code))
		}
		if !responder || code >= 500 {
			span.RecordError(err, opts...)
			span.SetStatus(codes.Error, err.Error())
			span.SetAttributes(semconv.ErrorType(err))
		}
	}
	span.End()
}
