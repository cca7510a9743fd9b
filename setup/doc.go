// Package setup applies a namespace's setup to a NATS server or cluster,
// as its operator: the event and dead-letter streams, each service's
// idempotency bucket and every durable handler's consumer, from one Spec
// that also yields the services' least-privilege users. With it, services
// hold no management rights at all: their workers set
// mesh.StreamConfig.Provisioned and use what the operator created.
//
// A Spec is usually a JSON file (Load), the one that meshctl setup, meshctl
// auth and meshctl serve --spec read:
//
//	{
//	  "namespace": "ipc",
//	  "streams": {"max_age": "72h"},
//	  "services": [
//	    {"name": "exprsn-timeline"},
//	    {"name": "exprsn-herald",
//	     "durable": [{"event": "notification:queued", "max_deliver": 8}],
//	     "idempotency_guard": true,
//	     "once_per_service": ["user:login"]}
//	  ]
//	}
//
// Apply is idempotent: it creates what is missing, updates what differs
// and says, per resource, which it did. A durable handler's consumer is
// made from the handler's options (Handler.Options) exactly as the worker
// would make it, so a worker registering with the same options finds it as
// it expects; a worker whose options differ is told so and keeps the
// operator's settings (see mesh.StreamConfig.Provisioned).
package setup
