package deadletter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/internal/errtext"
	"github.com/exprsn/ipcmesh/internal/headers"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrInconsistent is returned by Redrive for a dead letter that is not
// one the mesh wrote as it stands: its headers disagree with the subject
// it is stored on, or it points at an event in the event stream that is
// not its own. DeadLetter.Invalid says why. Any service with durable
// handlers may publish dead letters of its own service, with whatever
// headers it likes; only the service token of the dead letter's subject
// is the server's word.
var ErrInconsistent = errors.New("inconsistent dead letter: not re-driven")

// Bounds on what the package's errors and DeadLetter.Invalid quote of a
// dead letter: its writer chose every header, some up to 64 KiB long.
const (
	// maxQuoted bounds one value quoted from a dead letter.
	maxQuoted = 256
	// maxErrText bounds the text of an error from another package that
	// may quote a dead letter's value (subjects.NameError, the server's).
	maxErrText = 512
)

// quote returns s quoted for a message, cut to maxQuoted bytes.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	return strconv.Quote(headers.Truncate(s, maxQuoted)) + "... (" + strconv.Itoa(len(s)) + " bytes)"
}

// cut bounds the message of err, which may quote a dead letter's values;
// errors.Is and errors.As still see err.
func cut(err error) error { return errtext.Cut(err, maxErrText) }

// owner returns the service whose dead letter a message stored on subject
// with headers h is: the service token of its subject,
// "_dlq.<ns>.<service>.<event tokens>", the only part of a dead letter its
// writer cannot choose. It returns "" and why when the subject is not a
// dead letter's of the namespace or the Mesh-Dlq-Service header disagrees.
func (q *Queue) owner(subject string, h nats.Header) (service, invalid string) {
	rest, ok := strings.CutPrefix(subject, subjects.DeadLetterPrefix+"."+q.ns+".")
	token, _, dotted := strings.Cut(rest, ".")
	if !ok || !dotted {
		return "", "stored on " + quote(subject) + ", not a dead letter's subject of namespace " + quote(q.ns)
	}
	if err := subjects.ValidateService(token); err != nil {
		return "", "stored on " + quote(subject) + ", whose service token is not a service name"
	}
	claimed := h.Values(subjects.HeaderDeadLetterService)
	if len(claimed) != 1 || claimed[0] != token {
		return "", fmt.Sprintf("stored as a dead letter of %s, but its %s header says %s", token, subjects.HeaderDeadLetterService, quoteAll(claimed))
	}
	return token, ""
}

// quoteAll quotes the values of a header, each cut, at most 3 of them.
func quoteAll(vs []string) string {
	switch len(vs) {
	case 0:
		return "nothing (it has none)"
	case 1:
		return quote(vs[0])
	}
	q := make([]string, 0, 3)
	for _, v := range vs[:min(len(vs), 3)] {
		q = append(q, quote(v))
	}
	return strconv.Itoa(len(vs)) + " values: " + strings.Join(q, ", ")
}

// checkHeaders says why the headers of dl, a dead letter of dl.Service,
// are not ones the mesh writes, or "".
func (q *Queue) checkHeaders(dl *DeadLetter, h nats.Header) string {
	if dl.Omitted != "" {
		for _, part := range strings.Split(dl.Omitted, ",") {
			if part != "data" && part != "headers" {
				return fmt.Sprintf("its %s header, %s, names what a dead letter never leaves out (\"data\", \"headers\")", subjects.HeaderDeadLetterOmitted, quote(dl.Omitted))
			}
		}
		if _, err := strconv.ParseUint(h.Get(subjects.HeaderDeadLetterSequence), 10, 64); err != nil {
			return fmt.Sprintf("it omits %s of the event, and its %s header, %s, is not a stream sequence", dl.Omitted, subjects.HeaderDeadLetterSequence, quote(h.Get(subjects.HeaderDeadLetterSequence)))
		}
	}
	switch {
	case dl.Subject != "":
		if why := q.checkTarget(dl.Subject, dl.Service); why != "" {
			return fmt.Sprintf("its %s header, %s, %s", subjects.HeaderDeadLetterSubject, quote(dl.Subject), why)
		}
	case dl.Omitted == "":
		// Only a dead letter of an event the handler never saw, which
		// omits all of it, goes without the original subject.
		return fmt.Sprintf("it has no %s header: where the event travelled is unknown", subjects.HeaderDeadLetterSubject)
	}
	return ""
}

// checkTarget says why subject is not one on which service receives
// events, or "": an event subject of the namespace sent to service, or a
// broadcast (which every service may read).
func (q *Queue) checkTarget(subject, service string) string {
	a, err := subjects.Parse(subject)
	switch {
	case err != nil:
		return "is not an event subject"
	case a.Namespace != q.ns:
		return "is not a subject of namespace " + quote(q.ns)
	case a.Target != service && !a.IsBroadcast():
		return "is a subject of events for another service than " + service
	}
	return ""
}

// checkOriginal says why orig, read from the event stream at the sequence
// dl names and decoded as ev (zero when it does not decode), is not the
// event dl is the dead letter of, or "": it must be on dl's
// Mesh-Dlq-Subject (when dl has one), an event dl.Service receives, with
// the id and source of dl's copy of the original's headers (when it has
// them: an event sent in binary mode whose headers dl kept).
func (q *Queue) checkOriginal(dl *DeadLetter, orig *jetstream.RawStreamMsg, ev *codec.Event) string {
	at := fmt.Sprintf("the event at sequence %d of %s", dl.StreamSequence, subjects.EventStream(q.ns))
	if dl.Subject != "" && orig.Subject != dl.Subject {
		return fmt.Sprintf("it omits %s of the event, and %s is on %s, not on its %s %s",
			dl.Omitted, at, quote(orig.Subject), subjects.HeaderDeadLetterSubject, quote(dl.Subject))
	}
	if why := q.checkTarget(orig.Subject, dl.Service); why != "" {
		return fmt.Sprintf("it omits %s of the event, and %s is on %s, which %s", dl.Omitted, at, quote(orig.Subject), why)
	}
	for _, a := range [...]struct{ attr, got string }{{"id", ev.ID}, {"source", ev.Source}} {
		if want, ok := ceHeader(dl.Header, a.attr); ok && a.got != want {
			return fmt.Sprintf("it omits %s of the event, and %s has %s %s, not %s", dl.Omitted, at, a.attr, quote(a.got), quote(want))
		}
	}
	return ""
}

// ceHeader returns the binary-mode CloudEvents attribute attr of h
// ("ce-<attr>", matched case-insensitively, as the codec reads it).
func ceHeader(h nats.Header, attr string) (string, bool) {
	for k, vs := range h {
		if len(vs) > 0 && strings.EqualFold(k, codec.HeaderPrefix+attr) {
			return vs[0], true
		}
	}
	return "", false
}
