// Package streams provisions a namespace's JetStream streams: the event
// stream, which keeps every event sent in the namespace for durable
// handlers and replay, the dead-letter stream, and the schedule stream of
// scheduled events (Config.Schedules; nats-server 2.12 or later). Operators create them
// before the services start (meshctl serve calls Ensure; a deploy job can
// too):
//
//	js, err := jetstream.New(nc)
//	err = streams.Ensure(ctx, js, "ipc", streams.Config{MaxAge: 7 * 24 * time.Hour, Replicas: 3})
//
// Ensure is idempotent, and updates existing streams to the Config given.
// A worker with mesh.Config.Stream.Manage does the same at Connect, with
// the Config embedded in mesh.StreamConfig; by default a worker uses the
// streams if they exist and never creates them. The streams' names are
// subjects.EventStream and subjects.DeadLetterStream.
package streams
