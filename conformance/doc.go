// Package conformance holds the test vectors of the mesh wire protocol
// (docs/wire-protocol.md) and loads them. The vectors are JSON files in this
// directory, read the same way by every implementation, in any language: the
// Go codec and subjects packages are tested against them
// (codec/conformance_test.go, conformance_test.go here), and so is the
// JavaScript peer in examples/jspeer. README.md in this directory describes
// the format.
//
// # Envelope vectors
//
// An [Envelope] is one NATS message as it arrives (subject, headers, body)
// and either the CloudEvent it means ([Event]) or the class of error a
// receiver must refuse it with ([ErrorClass]). The files are
// structured-valid.json, structured-malformed.json, structured-invalid.json
// and binary.json; [Envelopes] loads them all.
//
// # Subject vectors
//
// A [SubjectVector] maps names to subjects and back: an event's subject, a
// request's subject, what a listener subscribes to, and the names that must
// be refused. The file is subjects.json; [Subjects] loads it.
//
// # Duplicate-key vectors
//
// A [DuplicateKeyVector] is an event's source and id and its duplicate key:
// the Nats-Msg-Id header a sender sets when it publishes the event to the
// namespace's event stream, derived from both because CloudEvents makes
// only the pair unique (in Go, subjects.DuplicateKey). The file is
// duplicate-keys.json; [DuplicateKeys] loads it.
//
// The files are embedded ([Files]), so a Go implementation outside this
// module can run the vectors without locating the directory.
package conformance
