// Package subjects holds every name the mesh puts on the wire: it maps mesh
// addresses to NATS subjects and back, validates the names that make them
// up, and names the rest (streams, bucket, headers, queue groups, the
// duplicate key). It does no I/O, so a client, a tool or another package
// can use the mesh's names without a worker.
//
// # Subjects
//
// An event travels on the subject
//
//	<namespace>.<target>.<event tokens>
//
// where namespace defaults to "ipc", target is a service name or "all" for a
// broadcast, and the ':'-separated segments of the event name become subject
// tokens: "post:created" broadcast in namespace "ipc" travels on
// "ipc.all.post.created"; "notification:trigger" sent to "exprsn-herald"
// travels on "ipc.exprsn-herald.notification.trigger".
//
// A request travels on the same subject under [RequestPrefix]:
// "_rpc.ipc.exprsn-auth.profile.get". Keeping requests out of the
// namespace's subjects keeps them out of the JetStream stream that stores
// its events.
//
// # Patterns
//
// A listener names events with a pattern: a segment "*" matches exactly one
// segment and a last segment ">" matches one or more, as NATS wildcards do.
// "user:*" becomes "user.*" and "content:>" becomes "content.>".
//
// # Names
//
// Namespaces, service names and event segments use a safe alphabet: ASCII
// letters, digits, '-' and '_'. Nothing else (no '.', '*', '>', ':',
// whitespace or empty segments) can reach the wire. Service names "all" and
// "any", and every service name or namespace starting with '_', are
// reserved for the mesh itself.
// Every refusal is a [*NameError] that names the bad part and matches
// [ErrInvalidName] (and [ErrReserved] for reserved names) with errors.Is.
//
// # Other names on the wire
//
//   - Queue groups: [QueueGroup], "<service>:<pattern>", through which a
//     service's instances share its events and requests.
//   - Streams and bucket: [EventStream] ("MESH_<ns>", keeping "<ns>.>"),
//     [DeadLetterStream] ("MESH_<ns>_DLQ") and [IdempotencyBucket]
//     ("MESH_<ns>_handled").
//   - Dead letters: [DeadLetterPrefix], [DeadLetterSubject],
//     [DeadLetterFilter], and the Mesh-Dlq-* headers ([HeaderDeadLetterReason]
//     to [HeaderDeadLetterOmitted]).
//   - Re-deliveries: [HeaderReplay] and [HeaderRedrive].
//   - Statistics: [StatsSubject], "_mesh.<ns>.stats".
//   - Events: [PartitionKeyExtension], and [DuplicateKey], the Nats-Msg-Id
//     by which the event stream drops a retried publish.
//
// Error replies use nats.go micro's headers (micro.ErrorHeader,
// micro.ErrorCodeHeader). docs/wire-protocol.md describes all of them for
// clients in other languages.
package subjects
