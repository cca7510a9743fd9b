// Package mesh lets services talk by events over NATS, with CloudEvents 1.0
// on the wire and JetStream keeping events for workers that were away.
//
//	w, err := mesh.Connect(ctx, mesh.Config{Service: "exprsn-timeline"})
//	defer w.Close(ctx)
//	w.On(ctx, "user:*", handler)                       // live, at most once
//	w.OnDurable(ctx, "notification:send", handler)     // stored, retried, dead-lettered
//	w.OnRequest(ctx, "session:validate", responder)    // request and reply
//	w.Emit(ctx, "post:created", post)                  // to all; To(service) for one
//	w.Request(ctx, "exprsn-auth", "session:validate", token)
//
// A Worker is one instance of a service. An event sent to a service reaches
// one instance of it; a broadcast reaches every instance, or one per
// service with OncePerService; a durable handler's events are shared by
// the service's instances. Each call takes options of its own type, so an
// option that does not apply to a call does not compile with it. No event,
// however large or malformed, stops other events: invalid input is
// refused at the call, reported through Config.OnError, answered with 400
// or dead-lettered (docs/delivery.md says what happens in each case).
//
// Around it: package subjects names everything on the wire, streams
// provisions a namespace's streams, deadletter reads and re-drives dead
// letters, idempotency makes durable handlers effectively once, and
// testutil runs an embedded server for tests.
package mesh
