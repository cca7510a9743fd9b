// Package outboxprom exports a transactional outbox's relay (package
// outbox) to Prometheus (client_golang): its Stats, read at each scrape.
//
// It lives apart from package outbox so that services that do not export
// metrics do not import client_golang.
//
//	o, err := outbox.New(ctx, db, w, outbox.Config{})
//	...
//	reg.MustRegister(outboxprom.NewCollector(o))
//
// # Metrics
//
// Every metric has the labels service and namespace (the outbox's worker's)
// and table (Config.Table), besides those of [WithConstLabels]. Counts
// start at outbox.New; pending rows and lag are as of the relay's last look
// at the table, and stay 0 where the relay does not run.
//
//	ipcmesh_outbox_pending_rows                       gauge: rows of the service not yet published (or not yet deleted)
//	ipcmesh_outbox_lag_seconds                        gauge: age of the oldest pending row
//	ipcmesh_outbox_published_total                    events the relay stored in the stream, duplicates included
//	ipcmesh_outbox_duplicates_total                   publishes the stream dropped as already stored
//	ipcmesh_outbox_cancels_total                      schedule cancellations carried out (Outbox.CancelSchedule)
//	ipcmesh_outbox_failures_total                     failed relay rounds, each followed by a backoff
//	ipcmesh_outbox_last_failure_timestamp_seconds     gauge: Unix time of the last failure, 0 before any
//	ipcmesh_outbox_publish_duration_seconds           summary (sum and count): time the stream took to acknowledge
//	ipcmesh_outbox_relay_running                      gauge: 1 while Run runs
//	ipcmesh_outbox_relay_leader                       gauge: 1 while this relay holds the service's lease
//	ipcmesh_outbox_relay_stalled                      gauge: 1 while this standby relay sees the lease's holder not publishing
//
// Alert on the lag, not on failures alone: a relay that cannot publish
// keeps its rows and retries, so the lag grows; past the event stream's
// duplicate window (2 minutes by default) a relay restart may store an
// event twice (see package outbox). Across the instances of a service, the
// one relay with ipcmesh_outbox_relay_leader 1 publishes; every instance
// reports the same pending rows. A lag with ipcmesh_outbox_relay_stalled 1
// on a standby has its cause in the leader: its failures and last error.
package outboxprom
