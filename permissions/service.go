package permissions

import (
	"fmt"

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
	// AllowResponses lets the user publish one reply to the reply subject
	// of each message it receives, within two minutes, whatever Publish
	// says (nats-server's allow_responses: true). Responders need it.
	AllowResponses bool
}

// Service says what one service does on the mesh. The zero value of every
// field but Name grants the least: live handlers, emits and requests.
type Service struct {
	// Name is the service name, e.g. "exprsn-herald" (required).
	Name string
	// Durable grants what durable handlers (OnDurable, OnDurableBatch)
	// need: creating and updating consumers on the event stream, pulling
	// from them, acknowledging events, and dead-lettering on
	// _dlq.<ns>.<Name>.>. Default: false.
	Durable bool
	// IdempotencyGuard grants what the idempotency guard (idempotency.Guard)
	// needs: creating or updating the namespace's key-value bucket and
	// reading and writing the keys of this service only (it also looks up
	// the event stream, which every service may). Default: false.
	IdempotencyGuard bool
	// OncePerService lists the event patterns for which the service
	// handles broadcasts once per service (mesh.OncePerService), in its
	// queue group "<Name>:<pattern>". Only these queue groups are allowed
	// on broadcasts, so that no service can join another's group and take
	// its share of the broadcasts. Default: none.
	OncePerService []string
	// SharedInbox lets the service use the shared reply inboxes _INBOX.>,
	// which every service so granted can read, instead of its own,
	// subjects.InboxPrefix(Name).>, which workers use by default. Set it
	// only for a client that cannot set its inbox prefix (its workers then
	// need mesh.Config.SharedInbox). Default: false, private inboxes.
	SharedInbox bool
}

// sharedInbox is nats.go's default inbox prefix.
const sharedInbox = "_INBOX"

// ForService returns the permissions of service s in namespace ns: see the
// package documentation. It fails on an invalid namespace or service name.
func ForService(ns string, s Service) (Permissions, error) {
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
		Publish: []string{
			all,
			subjects.RequestPrefix + "." + all,
			jsAPI("STREAM.INFO", subjects.EventStream(ns)),
		},
		// The queue group named after the service alone, which the mesh
		// never uses, restricts queue groups on broadcasts to the listed
		// ones even when OncePerService is empty.
		Subscribe: []string{own, broadcast, broadcast + " " + s.Name, ownRequests, subjects.StatsSubject(ns), inbox + ".>"},
		// Replies to requests and stats requests.
		AllowResponses: true,
	}
	for _, pattern := range s.OncePerService {
		f, err := subjects.Filter(ns, subjects.Broadcast, pattern)
		if err != nil {
			return Permissions{}, fmt.Errorf("permissions: %s: OncePerService: %w", s.Name, err)
		}
		p.Subscribe = append(p.Subscribe, f+" "+subjects.QueueGroup(s.Name, pattern))
	}
	if s.Durable {
		p.Publish = append(p.Publish, durable(ns, s.Name)...)
		// The server's advisories of events a consumer's handler never
		// saw (see the durable engine's delivery limit).
		p.Subscribe = append(p.Subscribe, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."+subjects.EventStream(ns)+".*")
	}
	if s.IdempotencyGuard {
		p.Publish = append(p.Publish, guard(ns, s.Name)...)
	}
	return p, nil
}

// durable is what a service's durable handlers publish to: the consumer
// API of the event stream (info, to resume an existing consumer where it
// stopped), acknowledgements and its dead letters.
func durable(ns, service string) []string {
	events := subjects.EventStream(ns)
	return append([]string{
		jsAPI("CONSUMER.INFO", events, "*"),
		jsAPI("CONSUMER.CREATE", events, "*"),
		jsAPI("CONSUMER.MSG.NEXT", events, "*"),
		subjects.DeadLetterFilter(ns, service),
	}, ackSubjects(events)...)
}

// guard is what a service's idempotency guard publishes to: the creation or
// update of the bucket, and reads and writes of the service's own keys.
func guard(ns, service string) []string {
	bucket := subjects.IdempotencyBucket(ns)
	keys := kvPrefix + bucket + "." + service + ".>"
	return []string{
		jsAPI("INFO"),
		jsAPI("STREAM.CREATE", kvStream(bucket)),
		jsAPI("STREAM.UPDATE", kvStream(bucket)),
		jsAPI("DIRECT.GET", kvStream(bucket), keys),
		keys,
	}
}

// Operator returns the permissions of the administrator of namespace ns:
// the bridge (meshctl serve) and the other meshctl commands. It may create,
// update, read and delete the namespace's streams, consumers and key-value
// bucket, read every event (tail, replay), send events and requests to any
// service, re-drive dead letters and gather statistics.
func Operator(ns string) (Permissions, error) {
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
	for _, stream := range []string{subjects.EventStream(ns), subjects.DeadLetterStream(ns), kvStream(subjects.IdempotencyBucket(ns))} {
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
	// Name is the user name: the service name, or OperatorName.
	Name string
	// Nkey is the user's public NKey ("U..."); empty for a user that
	// authenticates with a password. Default: empty.
	Nkey        string
	Permissions Permissions
}

// OperatorName is the user name ForServices gives the operator.
const OperatorName = "mesh-operator"

// ForServices returns the users of namespace ns: one per service, named
// after it, with ForService's permissions, in the order given, then the
// operator (OperatorName, with Operator's permissions). It fails on an
// invalid or repeated name.
func ForServices(ns string, services ...Service) ([]User, error) {
	users := make([]User, 0, len(services)+1)
	seen := make(map[string]bool, len(services))
	for _, s := range services {
		if seen[s.Name] || s.Name == OperatorName {
			return nil, fmt.Errorf("permissions: service %q given twice or named as the operator", s.Name)
		}
		seen[s.Name] = true
		p, err := ForService(ns, s)
		if err != nil {
			return nil, err
		}
		users = append(users, User{Name: s.Name, Permissions: p})
	}
	p, err := Operator(ns)
	if err != nil {
		return nil, err
	}
	return append(users, User{Name: OperatorName, Permissions: p}), nil
}
