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
package idempotency
