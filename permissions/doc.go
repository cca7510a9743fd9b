// Package permissions builds the server-side NATS permissions that give each
// service of a mesh least privilege: what it may publish, what it may
// subscribe to, and whether it may answer requests. It does no I/O; the
// results go into a nats-server configuration ([Config]), an embedded
// server's options ([Permissions.Server]) or user JWTs
// ([Permissions.JWT]).
//
// # What a service may do
//
// [ForService] grants a service of namespace ns:
//
//   - publish events to any service and broadcasts (<ns>.*.>) and requests to
//     any service (_rpc.<ns>.*.>);
//   - receive only the events and requests addressed to it and the
//     broadcasts (<ns>.<service>.>, <ns>.all.>, _rpc.<ns>.<service>.>) and
//     the stats requests (_mesh.<ns>.stats), with a queue group on broadcasts
//     only for its [Service].OncePerService patterns;
//   - answer what it receives (allow_responses: one reply per request);
//   - its own reply inboxes, subjects.InboxPrefix(service).>, which
//     workers use by default, or with [Service].SharedInbox the shared
//     _INBOX.>, which every user so granted can read;
//   - look up the namespace's event stream, which every worker does at
//     Connect.
//
// [Service].Durable adds what durable handlers need (their consumers, acks
// and dead letters) and [Service].IdempotencyGuard what the idempotency
// guard needs (its own keys in the namespace's key-value bucket).
// [Operator] is the namespace's administrator: the bridge and meshctl.
//
// # Limits
//
// Any service allowed to publish <ns>.*.> can send an event with any
// source; any service allowed durable handlers can create a consumer with
// any filter on the event stream and so read every stored event, and can
// pull from and acknowledge other services' consumers. docs/security.md
// says what that means and what the mesh would need to close it.
package permissions
