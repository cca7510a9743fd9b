package replay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/exprsn/ipcmesh/codec"
	"github.com/exprsn/ipcmesh/internal/headers"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	"golang.org/x/time/rate"
)

// Progress is how far a replay or an export has come.
type Progress struct {
	// Total is the reader's Total: an upper bound of Matched.
	Total uint64
	// Matched counts the events read that matched the query.
	Matched uint64
	// Delivered counts the events re-delivered or written.
	Delivered uint64
	// Failed counts the events that could not be re-delivered or written.
	Failed uint64
	// Invalid counts stored messages skipped as not valid CloudEvents.
	Invalid uint64
}

// Options says where and how a Replay re-delivers.
type Options struct {
	// To is the service that receives the events. Required.
	To string
	// Rate bounds re-deliveries per second. Default: 0, no limit.
	Rate float64
	// DryRun reads and counts the matching events without sending them.
	DryRun bool
	// OnProgress, if set, is called after each event with the progress so
	// far, on the replaying goroutine.
	OnProgress func(Progress)
}

// Replay re-delivers the events of q to the service opts.To (see the
// package doc) and returns what it did. An event that cannot be re-delivered
// as it is (its subject cannot be built, or it is too big for the server
// with the replay headers added) is counted in Failed and skipped. Other
// publish errors are about the server: Replay stops after 10 of them in a
// row, or when ctx ends, returning the progress so far with the error.
func Replay(ctx context.Context, js jetstream.JetStream, q Query, opts Options) (Progress, error) {
	if err := subjects.ValidateService(opts.To); err != nil {
		return Progress{}, fmt.Errorf("replay: to: %w", err)
	}
	if opts.Rate < 0 {
		return Progress{}, fmt.Errorf("replay: rate %g: want a positive number of events per second (0: no limit)", opts.Rate)
	}
	limiter := rate.NewLimiter(rate.Inf, 1)
	if opts.Rate > 0 {
		limiter = rate.NewLimiter(rate.Limit(opts.Rate), 1)
	}
	if opts.DryRun {
		return each(ctx, js, q, opts.OnProgress, nil)
	}
	run := nuid.Next()
	return each(ctx, js, q, opts.OnProgress, func(rec *Record) error {
		if err := limiter.Wait(ctx); err != nil {
			return err
		}
		msg, err := redelivery(q.withDefaults().Namespace, opts.To, run, rec)
		if err != nil {
			return &eventError{err}
		}
		if _, err = js.PublishMsg(ctx, msg); errors.Is(err, nats.ErrMaxPayload) {
			return &eventError{err}
		}
		return err
	})
}

// redelivery builds the message that re-delivers rec to service.
func redelivery(ns, service, run string, rec *Record) (*nats.Msg, error) {
	// The subject's event tokens say where it went, even if a foreign
	// sender's type differs.
	event := rec.Event.Type
	if a, err := subjects.Parse(rec.Subject); err == nil {
		event = a.Event
	}
	subject, err := subjects.Subject(ns, service, event)
	if err != nil {
		return nil, err
	}
	msg := &nats.Msg{Subject: subject, Header: nats.Header{}, Data: rec.Data}
	for k, vs := range rec.Header {
		if k != jetstream.MsgIDHeader {
			msg.Header[k] = vs
		}
	}
	seq := strconv.FormatUint(rec.Sequence, 10)
	msg.Header.Set(subjects.HeaderReplay, seq)
	msg.Header.Set(jetstream.MsgIDHeader, "replay:"+run+":"+seq)
	return msg, nil
}

// Export writes the events of q to out, one structured-mode CloudEvent JSON
// object per line, and returns what it did. An event that cannot be encoded
// is counted in Failed and skipped, however many there are (the codec
// encodes every event it decodes, so none should be); Export stops at the
// first error writing to out, or when ctx ends.
func Export(ctx context.Context, js jetstream.JetStream, q Query, out io.Writer, onProgress func(Progress)) (Progress, error) {
	bw := bufio.NewWriter(out)
	var line []byte
	p, err := each(ctx, js, q, onProgress, func(rec *Record) error {
		var err error
		line, err = codec.AppendStructured(line[:0], &rec.Event)
		if err != nil {
			return &eventError{err}
		}
		line = append(line, '\n')
		if _, err = bw.Write(line); err != nil {
			return &fatalError{fmt.Errorf("write: %w", err)}
		}
		return nil
	})
	if ferr := bw.Flush(); ferr != nil && err == nil {
		err = fmt.Errorf("replay: export: %w", ferr)
	}
	return p, err
}

// ReadJSONLines decodes what Export wrote.
func ReadJSONLines(in io.Reader) ([]codec.Event, error) {
	var out []codec.Event
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var ev codec.Event
		if err := codec.Decode(nil, append([]byte(nil), sc.Bytes()...), &ev); err != nil {
			return out, fmt.Errorf("replay: line %d: %w", n, err)
		}
		out = append(out, ev)
	}
	return out, sc.Err()
}

// maxConsecutiveFailures stops a run whose every event fails for a reason
// not tied to the event, such as when the server is gone.
const maxConsecutiveFailures = 10

// maxIDLen bounds how much of an event's id an error quotes: ids come from
// senders and may be of any size.
const maxIDLen = 64

// eventError marks a failure about one event, not the destination: it
// cannot be encoded, addressed or published as it is. The run counts it and
// goes on, however many there are.
type eventError struct{ err error }

func (e *eventError) Error() string { return e.err.Error() }
func (e *eventError) Unwrap() error { return e.err }

// fatalError marks a failure of the destination that every later event
// would meet too, such as a writer that failed: the run stops at once.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// each opens a reader on q and calls do (if not nil) for each record,
// counting. A failing event is counted and skipped; the run stops when ctx
// ends, at a *fatalError, or after maxConsecutiveFailures failures in a row
// that are not *eventError.
func each(ctx context.Context, js jetstream.JetStream, q Query, onProgress func(Progress), do func(*Record) error) (p Progress, err error) {
	r, err := Open(ctx, js, q)
	if err != nil {
		return p, err
	}
	defer func() { err = errors.Join(err, r.Close()) }()
	p.Total = r.Total()
	var f failures
	for {
		rec, err := r.Next(ctx)
		p.Invalid = r.Invalid()
		if errors.Is(err, io.EOF) {
			if p.Failed > 0 {
				return p, fmt.Errorf("replay: %d events failed; the last: %w", p.Failed, f.last)
			}
			return p, nil
		}
		if err != nil {
			return p, err
		}
		p.Matched++
		if do != nil {
			if err := do(rec); err != nil {
				if ctx.Err() != nil {
					return p, fmt.Errorf("replay: stopped after %d events: %w", p.Delivered, ctx.Err())
				}
				p.Failed++
				if err := f.add(rec, err); err != nil {
					return p, err
				}
			} else {
				f.consecutive = 0
				p.Delivered++
			}
		}
		if onProgress != nil {
			onProgress(p)
		}
	}
}

// failures is what a run knows of its failed events.
type failures struct {
	last        error // the last failure, naming its event
	consecutive int   // failures in a row that are not about one event
}

// add records that rec failed with err, and returns the error that stops
// the run, if it must stop.
func (f *failures) add(rec *Record, err error) error {
	f.last = fmt.Errorf("event %s (sequence %d): %w", quoteID(rec.Event.ID), rec.Sequence, err)
	var ee *eventError
	var fe *fatalError
	switch {
	case errors.As(err, &ee):
		return nil
	case errors.As(err, &fe):
		return fmt.Errorf("replay: stopped: %w", f.last)
	}
	f.consecutive++
	if f.consecutive == maxConsecutiveFailures {
		return fmt.Errorf("replay: stopped after %d failures in a row; the last: %w", f.consecutive, f.last)
	}
	return nil
}

// quoteID quotes an event id for an error message, cut to maxIDLen bytes
// (and marked "...") if longer.
func quoteID(id string) string {
	q := strconv.Quote(headers.Truncate(id, maxIDLen))
	if len(id) > maxIDLen {
		q += "..."
	}
	return q
}
