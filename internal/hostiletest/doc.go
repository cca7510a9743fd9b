// Package hostiletest holds the hostile-publisher tests of issue 11: a
// table of inputs that a foreign or malicious NATS client can put on mesh
// subjects (attributes and extension values of 1 B to 1 MB, header keys
// and values nats.go refuses, header blocks at JetStream's 64 KiB limit,
// inline status lines, bodies at, under and over max_payload, nesting and
// encoding garbage, subjects at the control-line limit), each sent by hand
// over a raw TCP connection to a worker on the live, request and durable
// paths, with and without the idempotency guard, against an embedded
// server; and FuzzDurablePath, which drives the durable path (decode,
// handler, settle, dead letter) with arbitrary header blocks and bodies.
//
// Each checks what the issue asks: the other events keep flowing and the
// worker keeps its connection; a message that is not a valid CloudEvent
// never reaches a handler, is reported, answered with code 400 or
// dead-lettered; a valid one with huge attributes is delivered normally;
// and no event holds a durable consumer's acknowledgement slot forever.
//
// The package uses the mesh's public API only and has no code of its own.
package hostiletest
