package mesh

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
)

// Header names of an error reply, the NATS micro convention.
const (
	HeaderServiceError     = "Nats-Service-Error"
	HeaderServiceErrorCode = "Nats-Service-Error-Code"
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

// A responder error with a code below 500 (NewRemoteError(404, ...)) is
// an answer: it counts as handled and is not reported as a failure.
//
// OnRequest registers r to answer the requests for events matching pattern
// sent to this service; each request reaches one instance. Register one
// responder per event: with several, the requester takes the first answer.
// Requests travel on their own subjects (see subjects.RequestSubject), so
// handlers registered with On never see them, and r never sees emitted
// events.
func (w *Worker) OnRequest(pattern string, r Responder, opts ...HandlerOption) (*Subscription, error) {
	if r == nil {
		return nil, fmt.Errorf("mesh: OnRequest(%q): nil responder", pattern)
	}
	o := newHandlerOptions(opts)
	if err := w.checkLiveOptions(&o); err != nil {
		return nil, fmt.Errorf("mesh: OnRequest(%q): %w", pattern, err)
	}
	o.respond = true
	h := HandlerFunc(func(ctx context.Context, ev *Event) error {
		data, err := r.Respond(ctx, ev)
		if err != nil {
			return err
		}
		if ev.reply != "" {
			w.reply(ctx, ev, data)
		}
		return nil
	})
	filter, err := subjects.RequestFilter(w.cfg.Namespace, w.cfg.Service, pattern)
	if err != nil {
		return nil, fmt.Errorf("mesh: OnRequest: %w", err)
	}
	return w.register(pattern, h, o, []routeKey{{filter: filter, queue: subjects.QueueGroup(w.cfg.Service, pattern)}})
}

// reply sends a responder's successful answer.
func (w *Worker) reply(ctx context.Context, req *Event, data any) {
	// The reply is encoded in a pooled scratch, like an emit.
	s := w.scratch()
	defer w.release(outgoing{s: s})
	ev := &s.ev
	*ev = codec.Event{ID: nuid.Next(), Source: w.cfg.Service, Type: req.Type, Time: time.Now().UTC(), Extensions: s.opts.extensions}
	if err := setData(ev, data); err != nil {
		w.replyError(req.reply, &RemoteError{Code: 500, Message: "reply " + err.Error()})
		return
	}
	var done func(error)
	if w.cfg.OnSend != nil {
		done = w.cfg.OnSend(ctx, Send{Kind: SendReply, Event: ev, Subject: req.reply, Target: req.Source})
	}
	msg := &s.msg
	msg.Subject = req.reply
	err := w.marshal(msg, ev, &s.buf)
	if err != nil {
		w.replyError(req.reply, &RemoteError{Code: 500, Message: "reply: " + err.Error()})
	} else {
		err = w.publish(msg)
		if err != nil {
			w.report(fmt.Errorf("mesh: reply to %q (id %s): %w", req.Type, req.ID, err))
		}
	}
	if done != nil {
		done(err)
	}
}

// replyError answers a request with an error, its message and code made
// fit for the wire (see sanitizeRemote).
func (w *Worker) replyError(reply string, rerr *RemoteError) {
	code, message := sanitizeRemote(rerr.Code, rerr.Message)
	msg := &nats.Msg{Subject: reply, Header: nats.Header{}}
	msg.Header.Set(HeaderServiceError, message)
	msg.Header.Set(HeaderServiceErrorCode, strconv.Itoa(code))
	if err := w.publish(msg); err != nil {
		w.report(fmt.Errorf("mesh: send error reply: %w", err))
	}
}

// MaxRemoteErrorLen bounds the message of a RemoteError on the wire, in
// bytes; a longer one is cut, at a UTF-8 boundary.
const MaxRemoteErrorLen = 1024

// sanitizeRemote makes a remote error's code and message fit for a header,
// on both sides of a request: a code outside 100..999 becomes 500, invalid
// UTF-8 becomes U+FFFD, line breaks and other control characters become
// spaces, and the message is cut to MaxRemoteErrorLen bytes.
func sanitizeRemote(code int, message string) (int, string) {
	if code < 100 || code > 999 {
		code = 500
	}
	if len(message) > 4*MaxRemoteErrorLen {
		message = message[:4*MaxRemoteErrorLen] // enough to fill the limit after cleaning
	}
	message = strings.ToValidUTF8(message, "\uFFFD")
	message = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, message)
	return code, truncate(message, MaxRemoteErrorLen)
}

// isAnswer reports whether a responder's error is a deliberate answer: a
// *RemoteError with a code below 500.
func isAnswer(err error) bool {
	var re *RemoteError
	return errors.As(err, &re) && re.Code < 500
}

// asRemoteError turns a responder's error into what travels back.
func asRemoteError(err error) *RemoteError {
	var re *RemoteError
	if errors.As(err, &re) {
		return &RemoteError{Code: re.Code, Message: re.Message}
	}
	var pe *PanicError
	if errors.As(err, &pe) {
		return &RemoteError{Code: 500, Message: "responder panicked"}
	}
	return &RemoteError{Code: 500, Message: err.Error()}
}

// Request sends event with data to one instance of service and waits for its
// reply. It returns the reply event; or a *RemoteError (matching ErrRemote)
// with the responder's error; or ErrNoResponders at once when no instance
// answers the event; or ctx's error when ctx ends first. A ctx without a
// deadline is bounded by Config.RequestTimeout. Data and options are as for
// Emit (To, ToSelf and Broadcast are ignored: the target is service).
func (w *Worker) Request(ctx context.Context, service, event string, data any, opts ...EmitOption) (*Event, error) {
	if w.state.Load() == stateClosed {
		return nil, fmt.Errorf("mesh: request %q from %q: %w", event, service, ErrClosed)
	}
	if err := w.lostErr(); err != nil {
		return nil, fmt.Errorf("mesh: request %q from %q: %w", event, service, err)
	}
	if service == subjects.Broadcast {
		return nil, fmt.Errorf("mesh: request %q: a request goes to one service, not %q", event, service)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.cfg.RequestTimeout)
		defer cancel()
	}
	// A copy: appending to the caller's slice would race with other
	// requests sharing it.
	opts = append(opts[:len(opts):len(opts)], To(service))
	out, err := w.encode(ctx, SendRequest, event, data, opts)
	if err != nil {
		return nil, err
	}
	rev, err := w.roundTrip(ctx, out, service, event)
	out.sent(err)
	w.release(out)
	return rev, err
}

// roundTrip sends an encoded request and reads its reply.
func (w *Worker) roundTrip(ctx context.Context, out outgoing, service, event string) (*Event, error) {
	resp, err := w.nc.RequestMsgWithContext(ctx, out.msg)
	w.stats.requests.Add(1)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, fmt.Errorf("%w: no instance of %q answers %q (is it running, with OnRequest(%q)?)", ErrNoResponders, service, event, event)
	case err != nil:
		return nil, fmt.Errorf("mesh: request %q from %q: %w", event, service, err)
	}
	if msg := resp.Header.Get(HeaderServiceError); msg != "" || resp.Header.Get(HeaderServiceErrorCode) != "" {
		code, _ := strconv.Atoi(resp.Header.Get(HeaderServiceErrorCode))
		code, msg = sanitizeRemote(code, msg)
		return nil, &RemoteError{Service: service, Event: event, Code: code, Message: msg}
	}
	rev := &Event{NATSSubject: resp.Subject, Target: w.cfg.Service}
	if err := codec.DecodeOwned(resp.Header, resp.Data, &rev.Event); err != nil {
		return nil, fmt.Errorf("mesh: request %q from %q: %w: %w", event, service, ErrInvalidMessage, err)
	}
	return rev, nil
}
