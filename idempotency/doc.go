// Package idempotency makes durable handlers effectively once: a guard
// records each event a durable handler handled in a JetStream key-value
// bucket, and skips an event already recorded, so that redeliveries,
// re-drives and replays do not repeat side effects.
//
//	guard, err := idempotency.Guard(ctx, w, 0) // remembers for DefaultTTL, 24 hours
//	_, err = w.OnDurable(ctx, "notification:trigger", h, mesh.Use(guard))
//
// The guard is middleware: it returns mesh.ErrAlreadyHandled for an event
// already recorded, which the worker acknowledges and counts in
// mesh.DurableStats.Skipped. Each service has its own bucket,
// subjects.IdempotencyBucket(ns, service), so that nothing one service does
// to its bucket (a shorter TTL, a roll-up that purges it) touches another's;
// a service running with least-privilege permissions needs
// permissions.Service.IdempotencyGuard to use it, and the operator creates
// the bucket (BucketConfig; meshctl setup).
//
// The bucket allows no direct gets and no roll-ups, and the guard counts
// only its own records (Record, no headers): the bucket lives in the
// account every service uses, where any client can make the server write
// an answer onto one of its keys, and such a record must not make the
// guard skip an event (see Guard and docs/security.md).
package idempotency
