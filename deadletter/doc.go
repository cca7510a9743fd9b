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
package deadletter
