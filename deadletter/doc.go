// Package deadletter reads, re-drives and purges a namespace's dead
// letters: the events durable handlers could not handle, kept in the
// dead-letter stream (subjects.DeadLetterStream) with why. It needs only
// JetStream and the mesh's names, not a worker, so an operator's tool can
// use it (meshctl dlq does):
//
//	q := deadletter.New(js, "ipc")
//	letters, err := q.List(ctx, "exprsn-herald", 1, 20) // oldest first
//	err = q.Redrive(ctx, letters[0].Sequence)           // to exprsn-herald only
//
// The workers of durable handlers write the dead letters: the original
// message, and in Mesh-Dlq-* headers why, where and when it failed
// (docs/wire-protocol.md). A dead letter that could not hold all of the
// original says what it left out in DeadLetter.Omitted; Redrive then
// sends the original from the event stream.
//
// # Whose dead letter
//
// Every service with durable handlers may publish dead letters of its own
// service, "_dlq.<ns>.<service>.>", with any headers. So a dead letter
// belongs to the service of its subject (DeadLetter.Service), whatever its
// Mesh-Dlq-Service header says, and Redrive sends it to that service only.
// A dead letter whose headers disagree with its subject, whose
// Mesh-Dlq-Subject is not an event that service receives (its own targeted
// events and broadcasts), or which omits the event and points at another
// event in the event stream (another subject, another service's, another
// id or source) reads with DeadLetter.Invalid saying why, shows no event
// from the event stream, and Redrive refuses it with ErrInconsistent.
// Errors and Invalid quote a dead letter's values cut to 256 bytes.
package deadletter
