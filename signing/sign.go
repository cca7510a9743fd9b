package signing

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/exprsn/ipcmesh/mesh"
	"github.com/nats-io/nkeys"
)

// SendHook is the type of mesh.Config.OnSend.
type SendHook = func(ctx context.Context, s mesh.Send) (done func(err error))

// Signer returns an OnSend hook that signs every event a worker sends
// (emits, requests and replies) with kp, a user or account key pair with
// its seed (nkeys.FromSeed, nkeys.ParseDecoratedUserNKey on a creds or
// seed file): it sets the extensions ExtKey, kp's public key, which
// verifiers look up, and ExtSignature, replacing any the event had. Put it
// in mesh.Config.OnSend, after any other hook that changes the event (see
// Chain).
//
// Signer copies kp's private key: wiping kp afterwards does not stop it.
// It fails when kp is not a user or account key or has no seed. The hook
// is safe for concurrent use and costs one Ed25519 signature per event
// (see the package's benchmarks).
func Signer(kp nkeys.KeyPair) (SendHook, error) {
	if kp == nil {
		return nil, errors.New("signing: signer: nil key pair")
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("signing: signer: %w", err)
	}
	if !validKey(pub) {
		return nil, fmt.Errorf("signing: signer: key %s is not a user (U...) or account (A...) key", pub)
	}
	priv, err := kp.PrivateKey()
	if err != nil {
		return nil, fmt.Errorf("signing: signer: key %s has no seed (a signer needs the service's seed, not its public key): %w", pub, err)
	}
	raw, err := nkeys.Decode(nkeys.PrefixBytePrivate, priv)
	if err != nil {
		return nil, fmt.Errorf("signing: signer: key %s: %w", pub, err)
	}
	s := &signer{key: pub, priv: ed25519.PrivateKey(raw)}
	return s.hook, nil
}

// validKey reports whether key is a public user or account NKey.
func validKey(key string) bool {
	return len(key) == KeyLen && (nkeys.IsValidPublicUserKey(key) || nkeys.IsValidPublicAccountKey(key))
}

type signer struct {
	key  string
	priv ed25519.PrivateKey
}

// hook signs s.Event for s.Target.
func (sg *signer) hook(_ context.Context, s mesh.Send) func(error) {
	var sig [ed25519.SignatureSize]byte
	withMessage(s.Kind.String(), s.Target, sg.key, s.Event, false, func(msg []byte) {
		copy(sig[:], ed25519.Sign(sg.priv, msg))
	})
	s.Event.SetExtension(ExtKey, sg.key)
	s.Event.SetExtension(ExtSignature, base64.RawURLEncoding.EncodeToString(sig[:]))
	return nil
}

// Chain returns one OnSend hook that calls hooks in order (nil ones are
// skipped) with the same context, and calls the done funcs they return in
// the reverse order. Put Signer last, so that it signs the event as the
// other hooks left it:
//
//	sign, err := signing.Signer(kp)
//	cfg.OnSend = signing.Chain(myHook, sign)
//
// A hook that installs itself around an existing OnSend
// (meshotel.Instrument) keeps the chain; the extensions it adds are not
// signed, so its place does not matter.
func Chain(hooks ...SendHook) SendHook {
	return func(ctx context.Context, s mesh.Send) func(error) {
		var dones []func(error)
		for _, h := range hooks {
			if h == nil {
				continue
			}
			if d := h(ctx, s); d != nil {
				dones = append(dones, d)
			}
		}
		if len(dones) == 0 {
			return nil
		}
		return func(err error) {
			for i := len(dones) - 1; i >= 0; i-- {
				dones[i](err)
			}
		}
	}
}
