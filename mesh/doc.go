// Package mesh lets a service talk to other services by events over NATS,
// with CloudEvents 1.0 on the wire. It is the one package most services
// import.
//
// # Connecting
//
// A [Worker] is one instance of a service on the mesh:
//
//	w, err := mesh.Connect(ctx, mesh.Config{Service: "exprsn-timeline"})
//	defer w.Close(ctx)
//
// [Connect] returns when the worker is ready, or with an error that says what
// to check. The worker reconnects by itself after losing its server;
// Config.OnDisconnect and Config.OnReconnect report it, and Config.OnError
// receives every error the worker cannot return to a caller.
//
// # Handling events
//
// [Worker.On] registers a [Handler] for an event name ("post:created") or a
// pattern ("user:*", "content:>"); the returned [Subscription]'s Off removes
// exactly that handler. [Typed] adapts a function that takes the payload
// struct directly:
//
//	w.On("post:created", mesh.Typed(func(ctx context.Context, ev *mesh.Event, p Post) error {
//		log.Printf("%s created post %s", ev.Source, p.ID)
//		return nil
//	}))
//
// Delivery: an event sent to a service reaches one instance of it (NATS queue
// group); a broadcast reaches every instance of every service that listens,
// or one instance per service for handlers registered with [OncePerService].
// Several handlers for one event each receive it. Handlers run concurrently,
// each at most Config.MaxConcurrent (or its Concurrency) at once. A handler
// that returns an error or panics is reported ([HandlerError],
// Config.OnError, the logs, [Stats]) and never takes the worker down. Live delivery is at most once: an event
// emitted while no instance listens is gone.
//
// # Emitting
//
// [Worker.Emit] broadcasts by default; [To] sends to one service and
// [ToSelf] to the worker's own service. Data is marshalled as JSON, or sent
// as is for []byte. An emit that must not fail its caller (an HTTP handler
// whose user should not see a mesh outage) uses [Worker.TryEmit], which logs
// and reports the failure and returns false.
//
// # Request and reply
//
// [Worker.OnRequest] registers a [Responder]; [Worker.Request] sends a
// request to one instance of a service and returns its reply, a
// [*RemoteError] with the responder's error, [ErrNoResponders] at once when
// no instance answers, or the context's error.
//
// # Bad input
//
// Invalid names are errors at the call and nothing is sent. An event over the
// server's max_payload fails with [ErrTooLarge]. A message on a mesh subject
// that is not a valid CloudEvent never reaches a handler: it is reported
// ([ErrInvalidMessage]) and counted in Stats.Invalid, and a request gets an
// error reply with code 400. Calls after [Worker.Close] fail with
// [ErrClosed].
//
// # Closing
//
// [Worker.Close] stops taking new events, lets running handlers finish
// within its context, flushes emitted events and disconnects.
//
// # HTTP
//
// [Worker.HTTPMiddleware] puts the worker in each request's context;
// [FromContext] gets it back, as the JavaScript req.ipc did.
package mesh
