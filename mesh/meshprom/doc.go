// Package meshprom exports a mesh worker's metrics to Prometheus
// (client_golang): its counts, read from mesh.Worker.Stats at each scrape,
// and the latency of its handlers.
//
// It lives apart from package mesh so that services that do not export
// metrics do not import client_golang.
//
// # Setup
//
// [NewLatency] gives the middleware that times handlers, to put in the
// Config before connecting; [NewCollector] reads the connected worker's
// counts. Register both on the service's own registry:
//
//	latency := meshprom.NewLatency()
//	cfg.Middleware = append(cfg.Middleware, latency.Middleware())
//	w, err := mesh.Connect(ctx, cfg)
//	...
//	reg.MustRegister(latency, meshprom.NewCollector(w))
//
// # Metrics
//
// Every metric has the labels service and namespace (the worker's), and
// those of [WithConstLabels]. Counters start when the worker connects.
//
//	by event name (label event)
//	ipcmesh_events_emitted_total          events emitted
//	ipcmesh_events_received_total         valid events delivered to the worker
//	ipcmesh_events_handled_total          handler calls that succeeded
//	ipcmesh_events_failed_total           handler calls that failed or panicked
//
//	for the worker
//	ipcmesh_handler_panics_total          handler calls that panicked
//	ipcmesh_invalid_messages_total        messages that were not valid CloudEvents
//	ipcmesh_events_dropped_total          events dropped by a slow consumer
//	ipcmesh_requests_total                requests sent
//	ipcmesh_emit_failures_total           failed emits (Stats.EmitFailed)
//	ipcmesh_handlers_in_flight            gauge: handler calls running now
//
//	by durable handler (label handler, the durable consumer's name)
//	ipcmesh_durable_acked_total           events handled and acknowledged
//	ipcmesh_durable_retried_total         failed tries scheduled for redelivery
//	ipcmesh_durable_redelivered_total     deliveries after an event's first
//	ipcmesh_durable_dead_lettered_total   events sent to the dead-letter stream
//	ipcmesh_durable_skipped_total         events the idempotency guard skipped
//	ipcmesh_durable_terminated_total      events given up without a dead letter
//	ipcmesh_durable_pending_events        gauge: events not yet delivered
//
//	latency (labels event and kind)
//	ipcmesh_handler_duration_seconds      histogram of handler call durations
//
// The label event takes the names of the events the worker sent or
// received, so its values are as many as the services' event names. A
// worker's requests and replies are not counted as emitted; a request
// handled counts as received and handled (or failed). A batch handler
// (OnDurableBatch) takes no middleware, so its events are counted but not
// timed.
package meshprom
