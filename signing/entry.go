package signing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exprsn/ipcmesh/internal/headers"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrRejectedEntry: the keys bucket holds for a service no entry that the
// operator wrote, only messages the server was made to write there (see
// Bucket). Keys returns it, wrapped with what the latest entry held; a
// verifier refuses the event without marking it permanent. Publish the
// service's keys again (PublishKeys) and look for the client that wrote
// them (docs/security.md).
var ErrRejectedEntry = errors.New("signing: the keys bucket holds no entry of the operator")

// messages is how a Bucket reads its stream: jetstream.Stream, with
// direct gets off, reads with the stream's message get.
type messages interface {
	GetLastMsgForSubject(ctx context.Context, subject string) (*jetstream.RawStreamMsg, error)
	GetMsg(ctx context.Context, seq uint64, opts ...jetstream.GetMsgOpt) (*jetstream.RawStreamMsg, error)
}

// maxHistory bounds the entries of one key a Bucket reads back through
// (jetstream.KeyValueMaxHistory).
const maxHistory = 64

// entry is what a message on a service's key is.
type entry struct {
	keys      []string // the operator's keys, if published
	withdrawn bool     // the operator's delete marker
	rejected  string   // why it is not the operator's; "" if it is
}

// read reads service's keys from the bucket: the latest entry, or, if it
// is not the operator's, the latest of the operator's before it.
func (b *Bucket) read(ctx context.Context, service string) (cached, error) {
	c := cached{expires: time.Now().Add(b.ttl)}
	subject := "$KV." + b.name + "." + service
	msg, err := b.msgs.GetLastMsgForSubject(ctx, subject)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		c.err = unknownSigner(service)
		return c, nil
	case err != nil:
		return c, fmt.Errorf("read %s: %w", b.name, err)
	}
	e := classify(msg, subject)
	if e.rejected != "" {
		older, seq, err := b.history(ctx, subject, msg.Sequence)
		if err != nil {
			return c, fmt.Errorf("read %s: %w", b.name, err)
		}
		if seq == 0 {
			c.err = fmt.Errorf("%w: for %q in %s: the latest entry, at sequence %d, %s, and no earlier one is the operator's: publish the keys again (signing.PublishKeys)",
				ErrRejectedEntry, service, b.name, msg.Sequence, e.rejected)
			b.log.Warn("signing: no key of the operator for the service in the keys bucket (docs/security.md, reply-subject reflection)",
				"service", service, "error", c.err)
			return c, nil
		}
		b.log.Warn("signing: rejected an entry of the keys bucket that the operator did not write (docs/security.md, reply-subject reflection); using the operator's latest",
			"service", service, "bucket", b.name, "sequence", msg.Sequence, "entry", e.rejected, "operator_sequence", seq)
		e = older
	}
	switch {
	case e.withdrawn:
		c.err = unknownSigner(service)
	default:
		c.keys = e.keys
	}
	return c, nil
}

// history returns the latest entry of the operator on subject before
// sequence latest, and its sequence (0 if there is none).
func (b *Bucket) history(ctx context.Context, subject string, latest uint64) (entry, uint64, error) {
	var found entry
	var at uint64
	seq := uint64(1)
	for range maxHistory {
		msg, err := b.msgs.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return entry{}, 0, err
		}
		if msg.Sequence >= latest {
			break
		}
		if e := classify(msg, subject); e.rejected == "" {
			found, at = e, msg.Sequence
		}
		seq = msg.Sequence + 1
	}
	return found, at, nil
}

// classify says what msg, read as the entry on subject, is: the
// operator's keys or withdrawal, or why it is not the operator's.
func classify(msg *jetstream.RawStreamMsg, subject string) entry {
	switch {
	case msg.Subject != subject:
		return entry{rejected: fmt.Sprintf("stored under %q", msg.Subject)}
	case len(msg.Header) > 0:
		if withdrawal(msg) {
			return entry{withdrawn: true}
		}
		return entry{rejected: "has headers " + fmt.Sprintf("%q", headers.Names(msg.Header)) + " (a status message or another stream's direct-get answer)"}
	}
	keys, err := parseKeys(string(msg.Data))
	if err != nil {
		return entry{rejected: fmt.Sprintf("is not the operator's: %v", err)}
	}
	return entry{keys: keys}
}

// withdrawal reports whether msg is the operator's delete marker, as
// jetstream.KeyValue.Delete (or Purge, in a bucket that allowed it) writes
// it: no body, and no header but these.
func withdrawal(msg *jetstream.RawStreamMsg) bool {
	want := map[string]string{"KV-Operation": "DEL"}
	if msg.Header.Get("KV-Operation") == "PURGE" {
		want = map[string]string{"KV-Operation": "PURGE", "Nats-Rollup": "sub"}
	}
	if len(msg.Data) != 0 || len(msg.Header) != len(want) {
		return false
	}
	for k, v := range want {
		if got := msg.Header.Values(k); len(got) != 1 || got[0] != v {
			return false
		}
	}
	return true
}
