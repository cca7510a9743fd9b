// Package subjects maps mesh addresses to NATS subjects and back, and
// validates the names that make them up. It does no I/O.
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
package subjects
