package permissions

import (
	"fmt"
	"slices"

	"github.com/exprsn/ipcmesh/signing"
	"github.com/exprsn/ipcmesh/subjects"
)

// Permissions is what one NATS user may do, as a nats-server authorization
// block says it: everything not allowed is denied.
type Permissions struct {
	// Publish lists the subjects, with wildcards, the user may publish to.
	Publish []string
	// Subscribe lists the subject filters the user may subscribe to. An
	// entry "<filter> <queue>" allows the queue group <queue> on filter;
	// once a filter has such an entry, only the queue groups listed for it
	// are allowed there.
	Subscribe []string
	// DenyPublish lists subjects the user may not publish to even where
	// Publish allows them: nats-server applies a deny over the allow
	// list. Default: none.
	DenyPublish []string
	// AllowResponses lets the user publish one reply to the reply subject
	// of each message it receives, within two minutes, whatever Publish
	// and DenyPublish say (nats-server's allow_responses: true). The
	// sender of a message chooses its reply subject, and nats-server does
	// not check it against the sender's permissions: a user with
	// AllowResponses that receives its own message can publish on any
	// subject but JetStream's ($JS.API, $JS.ACK, ...). Only the operator
	// has it; services answer on the inboxes their Publish lists.
	// Default: false.
	AllowResponses bool
}

// Service says what one service does on the mesh. The zero value of every
// field but Name grants the least: live handlers, emits and requests.
type Service struct {
	// Name is the service name, e.g. "exprsn-herald" (required).
	Name string
	// Durable lists the event patterns of the service's durable handlers
	// (OnDurable, OnDurableBatch) whose consumers have the name the mesh
	// derives, subjects.ConsumerName(Name, pattern); DurableNames lists
	// the consumers named with mesh.DurableName. For each consumer the
	// service may look it up, pull its events, acknowledge them and hear
	// the server's advisories of events past its delivery limit; with any,
	// it may dead-letter on _dlq.<ns>.<Name>.>. It may not create, update
	// or delete a consumer: the operator does (meshctl setup), and the
	// workers set mesh.StreamConfig.Provisioned. Default: none.
	Durable      []string
	DurableNames []string
	// IdempotencyGuard grants what the idempotency guard (idempotency.Guard)
	// of a provisioned worker needs: looking up the service's own bucket
	// (subjects.IdempotencyBucket(ns, Name)) and reading and writing its
	// keys. The operator creates the bucket. Default: false.
	IdempotencyGuard bool
	// OncePerService lists the event patterns for which the service
	// handles broadcasts once per service (mesh.OncePerService), in its
	// queue group "<Name>:<pattern>". Only these queue groups are allowed
	// on broadcasts, so that no service can join another's group and take
	// its share of the broadcasts. Default: none.
	OncePerService []string
	// Schedules lets the service emit scheduled events (mesh.At, After,
	// Every, Cron): it may publish schedule messages, _sched.<ns>.at.>.
	// The schedule stream allows roll-ups (nats-server requires it for
	// schedules), and permissions cannot refuse a header: a service so
	// granted can empty the namespace's pending schedules with a
	// "Nats-Rollup: all" message. Grant it only to services that schedule.
	// Default: false.
	Schedules bool
	// SharedInbox lets the service use the shared reply inboxes _INBOX.>,
	// which every service so granted can read, instead of its own,
	// subjects.InboxPrefix(Name).>, which workers use by default. Set it
	// only for a client that cannot set its inbox prefix (its workers then
	// need mesh.Config.SharedInbox). Default: false, private inboxes.
	SharedInbox bool
	// Edge lists the feeds that the service's server-sent-event edges
	// (package edge) serve from the namespace's event stream. For each
	// feed the service may create consumers of the event stream filtered
	// to its events; it may pull from, look up and delete consumers,
	// except the durable handlers' consumers of the services ForServices
	// is given (ForService knows only the service's own). nats-server
	// checks a consumer's filter only when the consumer has one: each
	// edge.Handler must serve one feed (one target, one pattern). An edge
	// without the event stream subscribes instead, and reads only what
	// every service may (broadcasts, its own events). docs/security.md
	// says what the grant still allows. Default: none.
	Edge []Feed
	// SigningKeys lets the service read the public keys the operator
	// publishes (signing.BucketKeys, for signing.Verify):
	// signing.ReaderSubjects, which read the keys bucket with the
	// stream's message get and change nothing. Default: false.
	SigningKeys bool
	// PublishesSigningKeys lets the service publish keys
	// (signing.PublishKeys): signing.PublisherSubjects. Whoever holds it
	// can make any service's signature verify, so grant it only to the
	// service that is the key authority; the operator has it whenever a
	// service has SigningKeys or PublishesSigningKeys. Default: false.
	PublishesSigningKeys bool
}

// sharedInbox is nats.go's default inbox prefix.
const sharedInbox = "_INBOX"

// ForService returns the permissions of service s in namespace ns: see the
// package documentation. It fails on an invalid namespace, service name,
// pattern or feed. It knows no other service: s may answer requests on
// the shared inbox and its own only, and with Edge feeds it keeps the edge
// off s's consumers only. Prefer ForServices, which lets each service
// answer on every service's inbox and keeps edges off every durable
// consumer.
func ForService(ns string, s Service) (Permissions, error) {
	consumers, err := s.consumers()
	if err != nil {
		return Permissions{}, fmt.Errorf("permissions: %s: %w", s.Name, err)
	}
	return forService(ns, s, namespace{durables: consumers, services: []string{s.Name}})
}

// namespace is what forService knows of the other services of s's
// namespace.
type namespace struct {
	// durables are the names of the durable consumers that s's edge must
	// not reach.
	durables []string
	// services are the names of the services whose requests s may
	// answer on their private inboxes.
	services []string
}

// forService is ForService with what it knows of the namespace, n.
func forService(ns string, s Service, n namespace) (Permissions, error) {
	if err := subjects.ValidateService(s.Name); err != nil {
		return Permissions{}, fmt.Errorf("permissions: %w", err)
	}
	all, err := subjects.Filter(ns, "*", ">")
	if err != nil {
		return Permissions{}, fmt.Errorf("permissions: %w", err)
	}
	own, _ := subjects.Filter(ns, s.Name, ">")
	broadcast, _ := subjects.Filter(ns, subjects.Broadcast, ">")
	ownRequests, _ := subjects.RequestFilter(ns, s.Name, ">")
	inbox := subjects.InboxPrefix(s.Name)
	if s.SharedInbox {
		inbox = sharedInbox
	}
	p := Permissions{
		Publish: append([]string{
			all,
			subjects.RequestPrefix + "." + all,
			jsAPI("STREAM.INFO", subjects.EventStream(ns)),
			// The lookup of the schedule stream at Connect.
			jsAPI("STREAM.INFO", subjects.ScheduleStream(ns)),
		}, replyInboxes(n.services)...),
		// The queue group named after the service alone, which the mesh
		// never uses, restricts queue groups on broadcasts to the listed
		// ones even when OncePerService is empty.
		Subscribe: []string{own, broadcast, broadcast + " " + s.Name, ownRequests, subjects.StatsSubject(ns), inbox + ".>"},
	}
	for _, pattern := range s.OncePerService {
		f, err := subjects.Filter(ns, subjects.Broadcast, pattern)
		if err != nil {
			return Permissions{}, fmt.Errorf("permissions: %s: OncePerService: %w", s.Name, err)
		}
		p.Subscribe = append(p.Subscribe, f+" "+subjects.QueueGroup(s.Name, pattern))
	}
	consumers, err := s.consumers()
	if err != nil {
		return Permissions{}, fmt.Errorf("permissions: %s: %w", s.Name, err)
	}
	if len(consumers) > 0 {
		p.Publish = append(p.Publish, subjects.DeadLetterFilter(ns, s.Name))
	}
	events := subjects.EventStream(ns)
	for _, c := range consumers {
		p.Publish = append(p.Publish,
			jsAPI("CONSUMER.INFO", events, c),
			jsAPI("CONSUMER.MSG.NEXT", events, c))
		p.Publish = append(p.Publish, ackSubjects(events, c)...)
		// The server's advisories of events the consumer's handler never
		// saw (see the durable engine's delivery limit).
		p.Subscribe = append(p.Subscribe, maxDeliveriesAdvisory+events+"."+c)
	}
	if err := s.options(ns, &p, consumers, n.durables); err != nil {
		return Permissions{}, fmt.Errorf("permissions: %s: %w", s.Name, err)
	}
	return p, nil
}

// options adds to p the grants of s's options beyond durable handlers;
// consumers are s's durable consumers, durables all the namespace's.
func (s Service) options(ns string, p *Permissions, consumers, durables []string) error {
	if s.IdempotencyGuard {
		p.Publish = append(p.Publish, guard(ns, s.Name)...)
	}
	if s.Schedules {
		p.Publish = append(p.Publish, subjects.ScheduleFilter(ns))
	}
	if s.SigningKeys {
		p.Publish = append(p.Publish, signing.ReaderSubjects(ns)...)
	}
	if s.PublishesSigningKeys {
		p.Publish = append(p.Publish, signing.PublisherSubjects(ns)...)
	}
	if len(s.Edge) == 0 {
		return nil
	}
	filters, err := feedFilters(ns, s.Edge)
	if err != nil {
		return fmt.Errorf("edge feeds: %w", err)
	}
	own := make(map[string]bool, len(consumers))
	for _, c := range consumers {
		own[c] = true
	}
	publish, deny := edge(subjects.EventStream(ns), filters, durables, own)
	p.Publish = append(p.Publish, publish...)
	p.DenyPublish = deny
	return nil
}

// feedFilters returns the subject filters of feeds in namespace ns.
func feedFilters(ns string, feeds []Feed) ([]string, error) {
	filters := make([]string, 0, len(feeds))
	for _, f := range feeds {
		s, err := f.filter(ns)
		if err != nil {
			return nil, err
		}
		filters = append(filters, s)
	}
	return filters, nil
}

// replyInboxes are the subjects on which a service answers requests and
// the operator's stats requests: the shared inbox (the operator's, and
// that of clients with SharedInbox) and the private inbox of each of
// services. They replace allow_responses, which would let a service
// answer its own messages, whose reply subjects it chooses, and so
// publish anywhere (docs/security.md, reply-subject reflection). Only
// subjects of three tokens, "<prefix>.<mux>.<token>": nats.go's request
// replies (and the operator's stats inbox) have that form, while the
// inboxes of pull consumers ("<prefix>.<id>", two tokens) and of batch
// publishes (deeper) are out of reach, so that a service that guesses
// another's inbox names (nats.go makes them with a counter) cannot forge
// deliveries, status messages or batch answers on them.
func replyInboxes(services []string) []string {
	out := []string{sharedInbox + ".*.*"}
	for _, name := range services {
		out = append(out, subjects.InboxPrefix(name)+".*.*")
	}
	return out
}

// maxDeliveriesAdvisory starts the subjects of the server's advisories of
// messages that reached a consumer's delivery limit:
// "<prefix><stream>.<consumer>".
const maxDeliveriesAdvisory = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."

// consumers returns the names of s's durable consumers, derived and given.
func (s Service) consumers() ([]string, error) {
	names := make([]string, 0, len(s.Durable)+len(s.DurableNames))
	for _, pattern := range s.Durable {
		if _, err := subjects.Filter(subjects.DefaultNamespace, s.Name, pattern); err != nil {
			return nil, fmt.Errorf("durable pattern: %w", err)
		}
		names = append(names, subjects.ConsumerName(s.Name, pattern))
	}
	for _, name := range s.DurableNames {
		if err := subjects.ValidateConsumerName(name); err != nil {
			return nil, fmt.Errorf("DurableNames: %w", err)
		}
		names = append(names, name)
	}
	return names, nil
}

// guard is what a service's idempotency guard publishes to: the lookup of
// its own bucket, reads of its messages with the stream's message get
// (the bucket allows no direct get, whose answer is the stored message
// itself, headers and all, sent to any reply subject: see
// idempotency.BucketConfig), and writes of its keys. It may neither
// create nor update the bucket, and the bucket allows no roll-up.
func guard(ns, service string) []string {
	bucket := subjects.IdempotencyBucket(ns, service)
	keys := kvPrefix + bucket + ".>"
	return []string{
		jsAPI("STREAM.INFO", kvStream(bucket)),
		jsAPI("STREAM.MSG.GET", kvStream(bucket)),
		keys,
	}
}

// Operator returns the permissions of the administrator of namespace ns:
// the bridge (meshctl serve), meshctl setup and the other meshctl
// commands. It may create, update, read and delete the namespace's
// streams, consumers and the key-value buckets of the services given, read
// every event (tail, replay), send events and requests to any service,
// re-drive dead letters and gather statistics; when a service reads or
// publishes signing keys (Service.SigningKeys, PublishesSigningKeys), it
// may publish them too (signing.PublisherSubjects).
func Operator(ns string, services ...Service) (Permissions, error) {
	all, err := subjects.Filter(ns, "*", ">")
	if err != nil {
		return Permissions{}, fmt.Errorf("permissions: %w", err)
	}
	stats := subjects.StatsSubject(ns)
	p := Permissions{
		Publish: []string{
			all,
			subjects.RequestPrefix + "." + all,
			stats,
			jsAPI("INFO"),
		},
		Subscribe:      []string{all, stats, sharedInbox + ".>"},
		AllowResponses: true,
	}
	managed := []string{subjects.EventStream(ns), subjects.DeadLetterStream(ns), subjects.ScheduleStream(ns)}
	keys := false
	for _, s := range services {
		if s.IdempotencyGuard {
			managed = append(managed, kvStream(subjects.IdempotencyBucket(ns, s.Name)))
		}
		keys = keys || s.SigningKeys || s.PublishesSigningKeys
	}
	if keys {
		for _, subject := range signing.PublisherSubjects(ns) {
			if !slices.Contains(p.Publish, subject) {
				p.Publish = append(p.Publish, subject)
			}
		}
	}
	for _, stream := range managed {
		p.Publish = append(p.Publish,
			jsAPI("STREAM.*", stream),
			jsAPI("STREAM.MSG.*", stream),
			jsAPI("DIRECT.GET", stream),
			jsAPI("DIRECT.GET", stream, ">"),
			jsAPI("CONSUMER.*", stream),
			jsAPI("CONSUMER.*", stream, ">"),
			jsAPI("CONSUMER.MSG.NEXT", stream, "*"))
	}
	return p, nil
}

// User is one NATS user of a mesh: its name and permissions, and, if it
// authenticates with an NKey, its public key.
type User struct {
	// Name is the user name: the service name, the browser's name, or
	// OperatorName.
	Name string
	// Nkey is the user's public NKey ("U..."); empty for a user that
	// authenticates with a password. Default: empty.
	Nkey        string
	Permissions Permissions
	// ConnectionTypes lists the kinds of connection the user may make,
	// as nats-server names them (ConnectionWebSocket, "STANDARD", ...):
	// its allowed_connection_types. Default: any kind.
	ConnectionTypes []string
}

// OperatorName is the user name ForServices gives the operator.
const OperatorName = "mesh-operator"

// ForServices returns the users of namespace ns: one per service, named
// after it, with ForService's permissions, in the order given, then the
// operator (OperatorName, with Operator's permissions). Each service may
// answer requests on the private inbox of every service given and on the
// shared one; an edge (Service.Edge) is kept off every durable consumer of
// the services given. It fails on an invalid or repeated name.
func ForServices(ns string, services ...Service) ([]User, error) {
	users := make([]User, 0, len(services)+1)
	seen := make(map[string]bool, len(services))
	var n namespace
	for _, s := range services {
		if seen[s.Name] || s.Name == OperatorName {
			return nil, fmt.Errorf("permissions: service %q given twice or named as the operator", s.Name)
		}
		seen[s.Name] = true
		consumers, err := s.consumers()
		if err != nil {
			return nil, fmt.Errorf("permissions: %s: %w", s.Name, err)
		}
		n.durables = append(n.durables, consumers...)
		n.services = append(n.services, s.Name)
	}
	for _, s := range services {
		p, err := forService(ns, s, n)
		if err != nil {
			return nil, err
		}
		users = append(users, User{Name: s.Name, Permissions: p})
	}
	p, err := Operator(ns, services...)
	if err != nil {
		return nil, err
	}
	return append(users, User{Name: OperatorName, Permissions: p}), nil
}
