package mesh

import (
	"context"
	"errors"
	"fmt"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/internal/errtext"
	"github.com/exprsn/ipcmesh/internal/headers"
	"github.com/exprsn/ipcmesh/mesh/internal/live"
	"github.com/exprsn/ipcmesh/mesh/internal/outbound"
	"github.com/exprsn/ipcmesh/mesh/internal/rpc"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
)

// Responder answers requests. Respond may be called concurrently; what it
// returns is the reply's data, marshalled as Emit marshals data. An error
// travels back to the requester as a *RemoteError (code 500 unless the error
// is a *RemoteError with its own code). A panic is answered with code 500.
type Responder interface {
	Respond(ctx context.Context, ev *Event) (any, error)
}

// ResponderFunc adapts a function to a Responder.
type ResponderFunc func(ctx context.Context, ev *Event) (any, error)

// Respond calls f(ctx, ev).
func (f ResponderFunc) Respond(ctx context.Context, ev *Event) (any, error) { return f(ctx, ev) }

// TypedResponder adapts a function taking the request's JSON data decoded
// into Req. A request whose data does not decode is answered with code 400.
func TypedResponder[Req, Resp any](fn func(ctx context.Context, ev *Event, req Req) (Resp, error)) Responder {
	return ResponderFunc(func(ctx context.Context, ev *Event) (any, error) {
		var req Req
		if err := ev.Decode(&req); err != nil {
			return nil, &RemoteError{Code: 400, Message: err.Error()}
		}
		return fn(ctx, ev, req)
	})
}

// Call sends a request as Request does, with req marshalled as its data,
// and decodes the reply's JSON data into a Resp: the typed counterpart of
// TypedResponder. A reply whose data does not decode into Resp is an
// error wrapping the decode error.
func Call[Resp any](ctx context.Context, w *Worker, service, event string, req any, opts ...RequestOption) (Resp, error) {
	var resp Resp
	reply, err := w.Request(ctx, service, event, req, opts...)
	if err != nil {
		return resp, err
	}
	if err := reply.Decode(&resp); err != nil {
		return resp, fmt.Errorf("mesh: request %q from %q: %w", event, service, err)
	}
	return resp, nil
}

// OnRequest registers r to answer the requests for events matching pattern
// sent to this service; each request reaches one instance. Register one
// responder per event: with several, the requester takes the first answer.
// Requests travel on their own subjects (see subjects.RequestSubject), so
// handlers registered with On never see them, and r never sees emitted
// events. OnRequest waits for the server as On does.
//
// A responder error with a code below 500 (NewRemoteError(404, ...)) is
// an answer: it counts as handled and is not reported as a failure.
func (w *Worker) OnRequest(ctx context.Context, pattern string, r Responder, opts ...ResponderOption) (*Subscription, error) {
	var o handlerOptions
	for _, opt := range opts {
		opt.applyResponder(&o)
	}
	if r == nil {
		return nil, fmt.Errorf("mesh: on request %q: nil responder", pattern)
	}
	h := HandlerFunc(func(ctx context.Context, ev *Event) error {
		data, err := r.Respond(ctx, ev)
		if err == nil && ev.reply != "" {
			w.reply(ctx, ev, data)
		}
		return err
	})
	keys, err := live.RequestKeys(w.cfg.Namespace, w.cfg.Service, pattern)
	return w.register(ctx, pattern, h, o, true, keys, err)
}

// reply sends a responder's successful answer, encoded in a pooled
// scratch, like an emit.
func (w *Worker) reply(ctx context.Context, req *Event, data any) {
	s := w.out.Get()
	defer w.out.Put(s)
	if err := w.out.PrepareReply(s, req.Type, req.reply, data); err != nil {
		w.replyError(req.reply, &RemoteError{Code: 500, Message: "reply " + err.Error()})
		return
	}
	done := w.onSend(ctx, SendReply, &s.Event, req.reply, req.Source)
	err := w.out.Marshal(s)
	if err != nil {
		w.replyError(req.reply, &RemoteError{Code: 500, Message: "reply: " + err.Error()})
	} else if err = w.publish(&s.Msg); err != nil {
		w.report(fmt.Errorf("mesh: reply to %q (id %s): %w", headers.Truncate(req.Type, maxLoggedField), headers.Truncate(req.ID, maxLoggedField), err))
	}
	if done != nil {
		done(err)
	}
}

// replyError answers a request with an error, its message and code made
// fit for the wire (see rpc.Sanitize).
func (w *Worker) replyError(reply string, rerr *RemoteError) {
	if err := w.publish(rpc.ErrorReply(reply, rerr.Code, rerr.Message, MaxRemoteErrorLen)); err != nil {
		w.report(fmt.Errorf("mesh: send error reply: %w", err))
	}
}

// MaxRemoteErrorLen bounds the message of a RemoteError on the wire, in
// bytes; a longer one is cut, at a UTF-8 boundary.
const MaxRemoteErrorLen = 1024

// isAnswer reports whether a responder's error is a deliberate answer: a
// *RemoteError with a code below 500.
func isAnswer(err error) bool {
	var re *RemoteError
	return errors.As(err, &re) && re != nil && re.Code < 500
}

// asRemoteError turns a responder's error into what travels back.
func asRemoteError(err error) *RemoteError {
	var re *RemoteError
	if errors.As(err, &re) && re != nil {
		return &RemoteError{Code: re.Code, Message: re.Message}
	}
	var pe *PanicError
	if errors.As(err, &pe) {
		return &RemoteError{Code: 500, Message: "responder panicked"}
	}
	return &RemoteError{Code: 500, Message: errtext.Of(err, MaxRemoteErrorLen)}
}

// Request sends event with data to one instance of service and waits for
// its reply. It returns the reply event; or a *RemoteError (matching
// ErrRemote) with the responder's error; or an error matching
// ErrNoResponders at once when no instance answers the event; or ctx's
// error when ctx ends first. A ctx without a deadline is bounded by
// Config.RequestTimeout. Data is as for Emit.
func (w *Worker) Request(ctx context.Context, service, event string, data any, opts ...RequestOption) (*Event, error) {
	if err := w.conn.Usable(); err != nil {
		return nil, fmt.Errorf("mesh: request %q from %q: %w", event, service, err)
	}
	if service == subjects.Broadcast {
		return nil, fmt.Errorf("mesh: request %q from %q: a request goes to one service", event, service)
	}
	ctx, cancel := w.bounded(ctx)
	defer cancel()
	out, err := w.encode(ctx, SendRequest, event, data, func(o *sendOptions) {
		for _, opt := range opts {
			opt.applyRequest(o)
		}
		o.Target, o.Self = service, false
	}, false)
	if err != nil {
		return nil, fmt.Errorf("mesh: request %q from %q: %w", event, service, err)
	}
	rev, err := w.roundTrip(ctx, out, service, event)
	out.Sent(err)
	w.out.Put(out)
	return rev, err
}

// roundTrip sends an encoded request and reads its reply.
func (w *Worker) roundTrip(ctx context.Context, out *outbound.Scratch, service, event string) (*Event, error) {
	resp, err := w.nc.RequestMsgWithContext(ctx, &out.Msg)
	w.stats.Requests.Add(1)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, fmt.Errorf("mesh: request %q from %q: %w: no instance answers it (is one running, with OnRequest for %q?)", event, service, ErrNoResponders, event)
	case err != nil:
		return nil, fmt.Errorf("mesh: request %q from %q: %w", event, service, err)
	}
	if code, msg, failed := rpc.Failure(resp.Header, MaxRemoteErrorLen); failed {
		return nil, &RemoteError{Service: service, Event: event, Code: code, Message: msg}
	}
	rev := &Event{NATSSubject: resp.Subject, Target: w.cfg.Service}
	if err := codec.DecodeOwned(resp.Header, resp.Data, &rev.Event); err != nil {
		return nil, fmt.Errorf("mesh: request %q from %q: the reply is an %w: %w", event, service, ErrInvalidMessage, err)
	}
	return rev, nil
}
