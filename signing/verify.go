package signing

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/exprsn/ipcmesh/subjects"
	"github.com/nats-io/nkeys"
)

// Why an event is refused, matched with errors.Is; the error is an *Error.
var (
	// ErrUnsigned: the event has no ExtSignature extension.
	ErrUnsigned = errors.New("signing: unsigned event")
	// ErrForged: the event's signature is not valid for its source: made
	// with a key not published for the source, not matching the event,
	// or malformed.
	ErrForged = errors.New("signing: forged event")
	// ErrUnknownSigner: no key is published for the event's source (or
	// it is not a service name). The *Error that says so also matches
	// ErrForged.
	ErrUnknownSigner = errors.New("signing: unknown signer")
)

// Error says why an event was refused. It matches its Err, one of the
// sentinel errors, and ErrForged when Err is ErrUnknownSigner.
type Error struct {
	// Source is the event's source, cut to subjects.MaxNameLen bytes.
	Source string
	// Key is the public key the event says signed it, if well-formed.
	Key string
	// Reason says what is wrong.
	Reason string
	// Err is ErrUnsigned, ErrForged or ErrUnknownSigner.
	Err error
}

// Error names the sentinel, the source, the key if known, and the reason.
func (e *Error) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("%v: source %q, key %s: %s", e.Err, e.Source, e.Key, e.Reason)
	}
	return fmt.Sprintf("%v: source %q: %s", e.Err, e.Source, e.Reason)
}

// Unwrap returns Err, and ErrForged for ErrUnknownSigner.
func (e *Error) Unwrap() []error {
	if e.Err == ErrUnknownSigner {
		return []error{e.Err, ErrForged}
	}
	return []error{e.Err}
}

// VerifyOption changes what Verify accepts.
type VerifyOption func(*verifier)

// AllowUnsigned lets unsigned events through, while the services that
// emit them adopt Signer; events that are signed are still verified.
// It gives no protection against a sender that leaves the signature out:
// remove it once every emitter signs. Default: unsigned events are
// refused with ErrUnsigned.
func AllowUnsigned() VerifyOption { return func(v *verifier) { v.allowUnsigned = true } }

type verifier struct {
	keys          KeySet
	allowUnsigned bool
}

// Verify returns middleware that calls the handler only for events signed
// by a key that keys publishes for their source (see Check). Any refused
// event is not handled; the middleware returns mesh.Permanent of an *Error:
// a live handler reports it (Config.OnError, logs, Stats.Failed), a durable
// handler dead-letters the event at once with the error as its reason, and
// a responder (OnRequest) answers the request with a *mesh.RemoteError of
// code 500 carrying the error's text. When keys cannot tell now, the
// middleware returns that error as is: a durable handler retries the event.
//
// Use it in mesh.Config.Middleware for every single-event handler, or with
// mesh.Use for some. Batch handlers (OnDurableBatch) run no middleware:
// call Check for each event. Replies to requests are not handlers' events:
// verify them with CheckReply. Verify panics if keys is nil.
func Verify(keys KeySet, opts ...VerifyOption) mesh.Middleware {
	if keys == nil {
		panic("signing: Verify needs a KeySet")
	}
	v := &verifier{keys: keys}
	for _, o := range opts {
		o(v)
	}
	return func(next mesh.Handler) mesh.Handler {
		return mesh.HandlerFunc(func(ctx context.Context, ev *mesh.Event) error {
			if err := v.check(ctx, ev, kindOf(ev), ev.Target); err != nil {
				return permanent(err)
			}
			return next.HandleEvent(ctx, ev)
		})
	}
}

// Check verifies ev, an event or request a handler received: it returns nil
// when ev carries a signature by a key that keys publishes for ev.Source,
// over its signed attributes with ev.Target as the target (see the package
// doc); an *Error matching ErrUnsigned, ErrForged or ErrUnknownSigner when
// it does not; or the error of keys when it cannot tell now. A re-delivered
// copy of a broadcast (ev.Replayed, sent to one service by replay or a
// dead-letter re-drive) is also accepted with the target "all".
func Check(ctx context.Context, keys KeySet, ev *mesh.Event) error {
	return (&verifier{keys: keys}).check(ctx, ev, kindOf(ev), ev.Target)
}

// CheckReply verifies reply, what Worker.Request returned for a request to
// service: it must come from service, signed by a key keys publishes for
// it, for the requesting service (reply.Target). Errors are as Check's.
func CheckReply(ctx context.Context, keys KeySet, service string, reply *mesh.Event) error {
	if reply.Source != service {
		return &Error{Source: cut(reply.Source), Reason: fmt.Sprintf("a reply to a request sent to %q", service), Err: ErrForged}
	}
	return (&verifier{keys: keys}).check(ctx, reply, kindReply, reply.Target)
}

// permanent marks the refusals as permanent, leaving other errors as is.
func permanent(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return mesh.Permanent(err)
	}
	return err
}

func kindOf(ev *mesh.Event) string {
	if ev.IsRequest() {
		return kindRequest
	}
	return kindEvent
}

// check verifies ev as signed for kind and target.
func (v *verifier) check(ctx context.Context, ev *mesh.Event, kind, target string) error {
	sig, signed := ev.Extension(ExtSignature)
	if !signed {
		if v.allowUnsigned {
			return nil
		}
		return &Error{Source: cut(ev.Source), Reason: "no " + ExtSignature + " extension", Err: ErrUnsigned}
	}
	key, _ := ev.Extension(ExtKey)
	raw, err := parseSignature(ev.Source, key, sig)
	if err != nil {
		return err
	}
	keys, err := v.keys.Keys(ctx, ev.Source)
	switch {
	case errors.Is(err, ErrUnknownSigner):
		return &Error{Source: ev.Source, Key: key, Reason: "no key is published for the source", Err: ErrUnknownSigner}
	case err != nil:
		return fmt.Errorf("signing: look up the keys of %q: %w", ev.Source, err)
	case !slices.Contains(keys, key):
		return &Error{Source: ev.Source, Key: key, Reason: "not a key published for the source", Err: ErrForged}
	}
	pub := publicKey(key)
	if verifies(ev, kind, target, key, pub, raw) ||
		ev.Replayed && target != subjects.Broadcast && verifies(ev, kind, subjects.Broadcast, key, pub, raw) {
		return nil
	}
	return &Error{Source: ev.Source, Key: key, Reason: "the signature does not match the event", Err: ErrForged}
}

// parseSignature checks the sizes and forms of what the event says about
// its signature before anything is looked up, and decodes the signature.
func parseSignature(source, key, sig string) ([]byte, error) {
	bad := func(reason string) error { return &Error{Source: cut(source), Reason: reason, Err: ErrForged} }
	switch {
	case len(sig) != SignatureLen:
		return nil, bad(fmt.Sprintf("a %s of %d bytes, want %d", ExtSignature, len(sig), SignatureLen))
	case !validKey(key):
		return nil, bad(fmt.Sprintf("a %s of %d bytes that is not a public user or account NKey", ExtKey, len(key)))
	case subjects.ValidateService(source) != nil:
		return nil, &Error{Source: cut(source), Key: key, Reason: "the source is not a service name", Err: ErrUnknownSigner}
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil {
		return nil, bad(ExtSignature + " is not unpadded base64url")
	}
	return raw, nil
}

// publicKey decodes key, which validKey accepted.
func publicKey(key string) ed25519.PublicKey {
	prefix := nkeys.PrefixByteUser
	if key[0] == 'A' {
		prefix = nkeys.PrefixByteAccount
	}
	raw, _ := nkeys.Decode(prefix, []byte(key)) // validKey decoded it
	return raw
}

// verifies reports whether sig is key's signature of ev for kind and
// target: of version 2's message, or of version 1's for data that is not
// data_base64 (see messageTag).
func verifies(ev *mesh.Event, kind, target, key string, pub ed25519.PublicKey, sig []byte) bool {
	ok := false
	withMessage(kind, target, key, &ev.Event, false, func(msg []byte) { ok = ed25519.Verify(pub, msg, sig) })
	if !ok && !ev.DataBase64 {
		withMessage(kind, target, key, &ev.Event, true, func(msg []byte) { ok = ed25519.Verify(pub, msg, sig) })
	}
	return ok
}

// cut bounds a string taken from an event for an error message.
func cut(s string) string {
	if len(s) > subjects.MaxNameLen {
		return s[:subjects.MaxNameLen]
	}
	return s
}
