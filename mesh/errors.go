package mesh

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"

	"github.com/exprsn/ipcmesh/internal/errtext"
	"github.com/exprsn/ipcmesh/internal/headers"
)

// Sentinel errors, matched with errors.Is. The mesh's errors wrap them in
// "mesh: <call> <object>: ..." messages.
var (
	// ErrClosed is returned by calls made after Close.
	ErrClosed = errors.New("worker is closed")
	// ErrNoResponders is returned by Request at once when no instance of the
	// target service answers the event.
	ErrNoResponders = errors.New("no responders")
	// ErrTooLarge is returned by Emit and Request when the encoded event is
	// larger than the server's max_payload. Nothing is sent.
	ErrTooLarge = errors.New("event larger than the server's max_payload")
	// ErrInvalidMessage is reported (error hook, logs, Stats.Invalid) for a
	// message on a mesh subject that is not a valid CloudEvent; it never
	// reaches a handler. The wrapped error is a *codec.Error saying why.
	ErrInvalidMessage = errors.New("invalid message")
	// ErrRemote matches every *RemoteError.
	ErrRemote = errors.New("remote error")
	// ErrUnconfirmed is returned by Emit when the event stream did not
	// confirm the event before the emit's context ended (the server gone,
	// or slow): the event may or may not be stored. Emitting it again with
	// WithID(receipt.ID) stores it at most once, within the stream's
	// duplicate window; the receipt Emit returns with it holds the id.
	ErrUnconfirmed = errors.New("event not confirmed stored")
	// ErrAlreadyHandled, returned by a durable handler (the idempotency
	// guard does), says the event was handled before: it is acknowledged,
	// and counted as handled and in DurableStats.Skipped.
	ErrAlreadyHandled = errors.New("event already handled")
)

// RemoteError is the error a responder returned, as the requester sees it.
// A responder may return a *RemoteError itself to choose the code; any other
// error travels with code 500 and its Error text as the message.
//
// On the wire it is the NATS micro convention: a reply with the headers
// Nats-Service-Error (the message) and Nats-Service-Error-Code (the code).
type RemoteError struct {
	// Service is the responding service, filled in on the requester's side.
	Service string
	// Event is the request's event name, filled in on the requester's side.
	Event string
	// Code is an HTTP-like status code: 400 for bad requests, 404 for
	// missing things, 500 for failures (the default).
	Code int
	// Message is the responder's description of the error.
	Message string
}

// NewRemoteError returns an error for a responder to return, with a code the
// requester can inspect.
func NewRemoteError(code int, message string) *RemoteError {
	return &RemoteError{Code: code, Message: message}
}

// Error says which service answered which event with which code.
func (e *RemoteError) Error() string {
	s := "mesh: "
	if e.Service != "" {
		s += strconv.Quote(e.Service) + " answered "
		if e.Event != "" {
			s += strconv.Quote(e.Event) + " "
		}
		s += "with "
	}
	return s + "error " + strconv.Itoa(e.Code) + ": " + e.Message
}

// Is makes every RemoteError match ErrRemote.
func (e *RemoteError) Is(target error) bool { return target == ErrRemote }

// HandlerError reports a handler that returned an error or panicked. It goes
// to the error hook and the logs; the worker keeps running.
type HandlerError struct {
	// Service is the handling service.
	Service string
	// Pattern is the pattern the handler was registered with.
	Pattern string
	// Event is the type of the event being handled.
	Event string
	// ID is the CloudEvents id of the event being handled.
	ID string
	// Err is what the handler returned, or a *PanicError.
	Err error
}

// Error names the service, pattern, event and id (each cut to 256 bytes:
// they come from the sender), then the cause, cut to 1 KiB (Err keeps it
// whole).
func (e *HandlerError) Error() string {
	return fmt.Sprintf("mesh: %s handler for %q failed on event %q (id %s): %s",
		e.Service, e.Pattern, headers.Truncate(e.Event, maxLoggedField), headers.Truncate(e.ID, maxLoggedField), errtext.Of(e.Err, maxErrorText))
}

// maxLoggedField bounds the event fields, set by senders, that errors and
// logs quote; maxErrorText bounds a handler's error in them.
const (
	maxLoggedField = 256
	maxErrorText   = 1024
)

// Unwrap returns the handler's error.
func (e *HandlerError) Unwrap() error { return e.Err }

// PanicError is the error of a handler that panicked.
type PanicError struct {
	// Value is what the handler panicked with.
	Value any
	// Stack is the stack trace of the panic.
	Stack []byte
}

func newPanicError(v any) *PanicError { return &PanicError{Value: v, Stack: debug.Stack()} }

// Error returns "panic: " and the panic value.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }
