package mesh

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Bounds on what a dead letter carries, so that it can always be stored.
const (
	// maxReasonLen bounds the reason a dead letter carries.
	maxReasonLen = 1024
	// maxStreamHeader is the largest header block JetStream stores.
	maxStreamHeader = 1<<16 - 1
	// maxDeadLetterTail bounds the event tokens of a dead letter's subject;
	// longer ones are replaced by a hash.
	maxDeadLetterTail = 512
	// deadLetterRetries is how many more deliveries an event past its
	// tries gets when no dead letter could be stored (the dead-letter
	// stream unavailable); after them it is terminated and reported.
	deadLetterRetries = 3
)

// deadLetterTimeout bounds the publish of a dead letter.
const deadLetterTimeout = 10 * time.Second

// deadLetter stores the event in the dead-letter stream with why it
// failed, and then terminates it in the event stream.
//
// The dead letter copies the original body and the headers that can be
// published again, within max_payload; what does not fit or cannot be
// stored is left out and named in Mesh-Dlq-Omitted, and the original stays
// readable in the event stream at Mesh-Dlq-Stream-Seq. If even a dead
// letter without the original's body and headers cannot be stored, the
// event is retried deadLetterRetries more times, then terminated with a
// report that names its stream sequence: no event is retried forever.
func (d *durable) deadLetter(msg jetstream.Msg, ev *Event, cause error) {
	w := d.w
	reason := cause.Error()
	ctx, cancel := context.WithTimeout(context.Background(), deadLetterTimeout)
	defer cancel()
	dl := d.deadLetterMsg(msg, ev, reason, true)
	_, err := w.js.PublishMsg(ctx, dl)
	if err != nil && dl.Header.Get(HeaderDeadLetterOmitted) != "data,headers" {
		dl = d.deadLetterMsg(msg, ev, reason, false)
		_, err = w.js.PublishMsg(ctx, dl)
	}
	if err != nil {
		d.deadLetterFailed(msg, ev, err)
		return
	}
	if err := msg.TermWithReason(truncate(reason, 200)); err != nil {
		w.report(fmt.Errorf("mesh: durable handler %s: terminate dead-lettered event at stream sequence %d: %w", d.name, ev.StreamSequence, err))
	}
	d.stats.deadLettered.Add(1)
	w.log.Warn("mesh: event dead-lettered", "handler", d.name, "event", truncate(ev.Type, 256), "id", truncate(ev.ID, 256),
		"stream_seq", ev.StreamSequence, "reason", truncate(reason, maxReasonLen))
	if w.cfg.OnDeadLetter != nil {
		w.cfg.OnDeadLetter(ev, reason)
	}
}

// deadLetterFailed retries an event whose dead letter could not be stored,
// for deadLetterRetries deliveries past its tries, then terminates it.
func (d *durable) deadLetterFailed(msg jetstream.Msg, ev *Event, err error) {
	w := d.w
	if ev.Deliveries < uint64(d.opts.durable.maxDeliver+deadLetterRetries) {
		w.report(fmt.Errorf("mesh: durable handler %s: store dead letter for the event at stream sequence %d: %w%s (it will be retried)",
			d.name, ev.StreamSequence, err, jetStreamHint(err)))
		_ = msg.NakWithDelay(backoffFor(d.opts.durable.backoff, ev.Deliveries))
		return
	}
	_ = msg.TermWithReason("dead letter not stored")
	d.stats.terminated.Add(1)
	w.report(fmt.Errorf("mesh: durable handler %s: gave up on the event at stream sequence %d after %d deliveries: no dead letter could be stored (%w%s); it is terminated, and stays readable in stream %s at that sequence until the stream's limits remove it",
		d.name, ev.StreamSequence, ev.Deliveries, err, jetStreamHint(err), EventStreamName(w.cfg.Namespace)))
}

// deadLetterMsg builds the dead letter of an event; with original unset,
// it leaves out the original's body and headers.
func (d *durable) deadLetterMsg(msg jetstream.Msg, ev *Event, reason string, original bool) *nats.Msg {
	w := d.w
	dl := &nats.Msg{
		Subject: deadLetterSubject(w.cfg.Namespace, w.cfg.Service, ev.NATSSubject),
		Header:  nats.Header{},
	}
	dl.Header.Set(HeaderDeadLetterReason, truncate(reason, maxReasonLen))
	dl.Header.Set(HeaderDeadLetterService, w.cfg.Service)
	dl.Header.Set(HeaderDeadLetterHandler, d.name)
	dl.Header.Set(HeaderDeadLetterDeliveries, strconv.FormatUint(ev.Deliveries, 10))
	dl.Header.Set(HeaderDeadLetterSubject, ev.NATSSubject)
	dl.Header.Set(HeaderDeadLetterSequence, strconv.FormatUint(ev.StreamSequence, 10))
	dl.Header.Set(HeaderDeadLetterTime, time.Now().UTC().Format(time.RFC3339Nano))
	dl.Header.Set(jetstream.MsgIDHeader, d.name+":"+strconv.FormatUint(ev.StreamSequence, 10))
	// The original's headers go in what room is left under the stream's
	// header limit and max_payload, after the omission header.
	own := wireHeaderSize(dl.Header) + len(HeaderDeadLetterOmitted) + len(": data,headers\r\n")
	budget := int(min(int64(maxStreamHeader), w.nc.MaxPayload())) - own
	var omitted []string
	if !original || !copyHeaders(dl.Header, msg.Headers(), budget) {
		omitted = append(omitted, "headers")
	}
	room := w.nc.MaxPayload() - int64(wireHeaderSize(dl.Header)) - int64(len(HeaderDeadLetterOmitted)+len(": data,headers\r\n"))
	if original && int64(len(msg.Data())) <= room {
		dl.Data = msg.Data()
	} else {
		omitted = append([]string{"data"}, omitted...)
	}
	if len(omitted) > 0 {
		dl.Header.Set(HeaderDeadLetterOmitted, strings.Join(omitted, ","))
	}
	return dl
}

// copyHeaders copies to dst the headers of src that can be stored again,
// in key order, as long as they fit in budget bytes on the wire, and
// reports whether all of the event's were copied. Never copied are
// JetStream's own headers (Nats-*, which would steer the store: expected
// sequences, rollups, message ids) and dead-letter headers, which the dead
// letter sets itself; keys nats.go refuses to publish are left out.
func copyHeaders(dst, src nats.Header, budget int) bool {
	all := true
	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		lower := strings.ToLower(k)
		if strings.HasPrefix(lower, "nats-") || strings.HasPrefix(lower, "mesh-dlq-") {
			continue // not the event's; never copied
		}
		if !validHeaderKey(k) {
			all = false
			continue
		}
		for _, v := range src[k] {
			size := len(k) + len(textproto.TrimString(v)) + len(": \r\n")
			if size > budget {
				all = false
				continue
			}
			budget -= size
			dst[k] = append(dst[k], v)
		}
	}
	return all
}

// validHeaderKey reports whether nats.go publishes a header with key k:
// printable ASCII without separators (RFC 7230 tokens).
func validHeaderKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c > '~' || strings.IndexByte("\"()/,:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

// deadLetterSubject is "_dlq.<ns>.<service>.<event tokens>" for an event
// that travelled on subject; event tokens longer than maxDeadLetterTail
// are replaced by "_long.<hash>", so that the subject stays short.
func deadLetterSubject(ns, service, subject string) string {
	rest := subject[min(len(ns)+1, len(subject)):]
	if i := strings.IndexByte(rest, '.'); i >= 0 {
		rest = rest[i+1:]
	}
	if len(rest) > maxDeadLetterTail || rest == "" {
		sum := sha256.Sum256([]byte(rest))
		rest = "_long." + hex.EncodeToString(sum[:16])
	}
	return DeadLetterPrefix + "." + ns + "." + service + "." + rest
}

// truncate cuts s to at most n bytes, at a UTF-8 boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
