// Package signing makes the CloudEvents source of mesh events verifiable:
// each service signs what it sends with its NKey, and receivers check the
// signature against the public keys the operator publishes.
//
//	kp, _ := nkeys.FromSeed(seed)                 // the service's own NKey
//	sign, err := signing.Signer(kp)
//	keys, err := signing.BucketKeys(ctx, js, "ipc") // or signing.StaticKeys(...)
//	w, err := mesh.Connect(ctx, mesh.Config{
//		Service:    "exprsn-herald",
//		OnSend:     sign,                                   // signs every event, request and reply
//		Middleware: []mesh.Middleware{signing.Verify(keys)}, // refuses unverified ones
//	})
//
// It is opt-in and lives outside package mesh: a worker without OnSend and
// middleware runs exactly as before.
//
// # Threat model
//
// NATS tells a subscriber nothing about who published a message, so the
// source of an event is a claim: a service whose credentials let it emit
// may write any source (docs/security.md). With signing, a receiver
// accepts an event only if it is signed by a key published for its source.
// A service with valid credentials that claims another's source is refused
// (ErrForged), and so is an event changed in transit in any covered
// attribute, one signed by a key published for nobody (ErrUnknownSigner)
// and one not signed (ErrUnsigned).
//
// It does not help against a service that holds another's seed: the seed
// is the identity. Keep seeds readable by their service only; the key may
// be the one the service authenticates to nats-server with (an nkey user),
// or a separate one. Nor does it hide events (use TLS and permissions), or
// decide what a verified source may do: a handler still checks that
// ev.Source is a service it takes this event from.
//
// # What a signature covers
//
// The signature is Ed25519 over this message, in which every variable field
// is a 4-byte big-endian length followed by its bytes:
//
//	"ipcmesh-sig-v2"
//	kind             "event", "request" or "reply"
//	key              the signer's public NKey (the ExtKey value)
//	id, source, type
//	time             UTC, "2006-01-02T15:04:05.000000000Z"; empty if absent
//	datacontenttype, dataschema, subject   empty if absent
//	target           the service the event was sent to, "all" for a
//	                 broadcast; for a reply, the requesting service
//	JSON data        1 byte: 1 if the data is JSON text
//	                 (codec.Event.DataIsJSON), 0 if binary
//	SHA-256 of data  32 bytes, not length-prefixed
//
// The data hashed is the data as both encodings carry it: JSON data
// without surrounding whitespace, and JSON null as no data; binary data
// (another content type, or data_base64) as it is; no data hashes as empty
// bytes. Version 2 added the JSON byte, so that data signed as JSON cannot
// be passed off as binary (data_base64) or the reverse. Verifiers still
// accept version 1's message ("ipcmesh-sig-v1", no JSON byte) for events
// without data_base64, which both versions read alike: events signed
// before the upgrade, stored or re-driven, and those of workers not yet
// upgraded, verify. The sender's target is mesh.Send's
// Target; the receiver's is mesh.Event.Target, which the worker derives
// from the NATS subject (for a reply, the requester's own service). With
// the event's type, the target pins the subject it may travel on, but not
// the namespace: use distinct keys per namespace if that matters.
//
// Not covered: specversion, and every other extension (traceparent,
// partitionkey, ...), which anyone on the path may change, add or remove;
// NATS headers (Nats-Msg-Id, Mesh-Replay); the namespace.
//
// The signature travels in two extension attributes: ExtSignature
// ("meshsig"), unpadded base64url, and ExtKey ("meshsigkey"). Both have an
// exact length, checked before anything is decoded or looked up, and the
// source must be a valid service name (at most subjects.MaxNameLen bytes)
// before its keys are read, so that nothing an event carries costs more
// than a bounded look-up.
//
// # Replay
//
// A signature says who made an event, not that it is new: anyone who can
// read a signed event (a durable service can read every stored event) can
// publish it again, unchanged, to the same target, and it verifies. Within
// the event stream's duplicate window (streams.Config.DuplicateWindow,
// 2 minutes by default) a copy sent with the mesh's Nats-Msg-Id is dropped,
// but a raw publisher chooses that header. What bounds a replay is the
// event's id, which it cannot change: the idempotency guard
// (idempotency.Guard) keys on source and id and skips a copy in a durable
// handler, and a live handler that must act once should keep the ids it
// handled or refuse old times (ev.Time is signed).
//
// A broadcast re-delivered to one service by replay or a dead-letter
// re-drive travels to that service, not "all": an event marked as
// re-delivered (mesh.Event.Replayed) verifies with either target, so these
// copies are accepted. The mark is a header anyone may set, so a broadcast
// may be sent to one of its recipients again: a replay as above.
//
// # Keys
//
// A KeySet maps a service to its public keys. StaticKeys takes them from
// the service's configuration; BucketKeys reads those the operator
// publishes with PublishKeys in the namespace's key-value bucket
// (BucketName), one message get of the bucket's stream per service,
// cached for CacheTTL. Several keys may be published for a service while
// it rotates: publish the new key beside the old, switch the service's
// seed, then withdraw the old one.
//
// The bucket lives in the account every service uses, and NATS lets any
// client make the server write its answers (a publish acknowledgement,
// an API answer, a status message) onto any subject that is not
// JetStream's own, a key of the bucket included, by naming it as the
// reply subject of a request. So a Bucket takes only entries the operator
// wrote (no headers, valid keys, under the service's own key), reports any
// other (Logger), falls back to the operator's latest entry in the key's
// history, and fails with ErrRejectedEntry when none is left: such an
// entry can deny a service's events, never make a forged one verify. The
// bucket allows no direct gets, which would copy an entry, headers and
// all, under another name, and no roll-ups. See docs/security.md.
//
// # Permissions
//
// A verifying service reading the bucket needs to publish to
// ReaderSubjects(ns) (the bucket's STREAM.INFO and STREAM.MSG.GET), the
// operator to PublisherSubjects(ns), besides what package permissions
// grants them. Signing needs nothing.
//
// # Where verification applies
//
// Verify is mesh.Middleware: it wraps live and durable handlers and
// responders (a refused request is answered with a 500 RemoteError). Batch
// handlers run no middleware (call Check per event), and a reply is not a
// handler's event (call CheckReply on what Request returned).
//
// Config.Middleware is fixed before Connect, while BucketKeys reads through
// a JetStream handle: give it one of its own connection, or verify per
// handler with mesh.Use(signing.Verify(keys)) once the worker is connected.
//
// Events encoded with Worker.Encode and stored later with EmitEncoded (the
// transactional outbox) do not pass through OnSend, so they are not signed
// today; nor is what a client without a Signer sends (meshctl emit, other
// languages' peers) unless it signs as described above. AllowUnsigned lets
// such events through while they are.
package signing
