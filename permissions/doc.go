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
//   - answer requests and stats requests: publish on the shared inbox
//     _INBOX.> and on every service's private inbox
//     (subjects.InboxPrefix(service).>; [ForServices] knows them all,
//     [ForService] only the service's own). Services have no
//     allow_responses, which would let one answer its own messages, whose
//     reply subjects it chooses, and so publish on any subject;
//   - read its own reply inboxes, subjects.InboxPrefix(service).>, which
//     workers use by default, or with [Service].SharedInbox the shared
//     _INBOX.>, which every user so granted can read;
//   - look up the namespace's event stream, which every worker does at
//     Connect.
//
// [Service].Durable adds what durable handlers need (their consumers, acks
// and dead letters), [Service].IdempotencyGuard what the idempotency
// guard needs (its own bucket), [Service].SigningKeys and
// [Service].PublishesSigningKeys what reading and publishing package
// signing's keys need, and [Service].Edge what an SSE edge (package edge)
// reading the event stream needs: consumers pinned to its feeds.
// [Operator] is the namespace's administrator: the bridge and meshctl.
//
// # Browsers
//
// [ForBrowser] gives a web page's user, straight on NATS over WebSocket,
// the subjects of its feeds ([Feed]), read-only, over WebSocket connections
// only.
// A user's own events are expressible as a feed when their names start
// with a segment of the user's: "user:u42:>".
//
// # Limits
//
// Any service allowed to publish <ns>.*.> can send an event with any
// source (package signing makes it verifiable), and an edge's grant to
// create consumers cannot say what their configuration holds beyond
// their filter. docs/security.md lists what the permissions still allow,
// each with the reason.
package permissions
